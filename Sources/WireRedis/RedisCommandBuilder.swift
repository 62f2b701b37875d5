/// The words of a command being built by a generated method: each becomes a bulk string.
public struct RedisCommandBuilder {
    private var words: [BulkString]

    public init(_ words: String...) {
        self.words = words.map { BulkString(value: Array($0.utf8)) }
    }

    public mutating func add(_ word: String) { words.append(BulkString(value: Array(word.utf8))) }
    public mutating func add(_ number: Int) { add(String(number)) }
    public mutating func add(_ number: Double) { add(number.isInfinite ? (number < 0 ? "-inf" : "+inf") : String(number)) }

    public var command: Command { Command(arguments: words) }
}
