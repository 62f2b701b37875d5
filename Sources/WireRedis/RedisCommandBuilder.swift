/// The words of a command being built by a generated method, sent as bulk strings.
public struct RedisCommandBuilder {
    /// The words so far: the command's name, then its arguments.
    public private(set) var words: [String]

    public init(_ words: String...) {
        // Room for a few arguments up front: most commands then build in one allocation.
        self.words = []
        self.words.reserveCapacity(words.count + 6)
        self.words.append(contentsOf: words)
    }

    public mutating func add(_ word: String) { words.append(word) }
    public mutating func add(_ number: Int) { add(String(number)) }
    public mutating func add(_ number: Double) { add(number.isInfinite ? (number < 0 ? "-inf" : "+inf") : String(number)) }

    /// The command as bulk strings of bytes.
    public var command: Command { Command(words) }
}
