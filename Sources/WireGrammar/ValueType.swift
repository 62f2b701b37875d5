/// The Swift type a read produces.
indirect enum ValueType: Equatable {
    case bytes, string, int, uint, double
    case binary(BinaryType)
    case enumeration(String)
    case extern(String)
    case message(String)
    case array(ValueType)
    case optional(ValueType)

    var swiftName: String {
        switch self {
        case .bytes: "[UInt8]"
        case .string: "String"
        case .int: "Int"
        case .uint: "UInt"
        case .double: "Double"
        case .binary(let binary): binary.swiftName
        case .enumeration(let name), .extern(let name), .message(let name): name
        case .array(let element): "[\(element.swiftName)]"
        case .optional(let wrapped): "\(wrapped.swiftName)?"
        }
    }

    /// The type as an optional (unchanged if it already is one: "absent" nests no deeper).
    var asOptional: ValueType {
        if case .optional = self { return self }
        return .optional(self)
    }

    /// Usable in lengths, counts and conditions.
    var isInteger: Bool {
        switch self {
        case .int, .uint, .binary: true
        default: false
        }
    }

    var description: String {
        switch self {
        case .bytes: "raw bytes"
        case .string: "a string"
        case .double: "a double"
        case .int, .uint, .binary: "an integer"
        case .enumeration(let name): "the enumeration \(name)"
        case .extern(let name): "the extern type \(name)"
        case .message(let name): "the message \(name)"
        case .array: "a repetition"
        case .optional: "optional"
        }
    }
}
