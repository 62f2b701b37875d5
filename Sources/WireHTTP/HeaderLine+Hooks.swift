import Wirestream

extension HeaderLine {
    /// The grammar's `call endsWithCarriageReturn(line)`: a header line read to its LF must have
    /// had a CR before it.
    public static func endsWithCarriageReturn(_ line: HeaderField) throws {
        guard line.endsWithCarriageReturn else { throw WireConversionFailure(.invalidValue(HeaderLine.loneLineFeed)) }
    }

    /// The reason a lone LF is refused with, which the client turns into `HTTPError.Kind.bareLineFeed`.
    static let loneLineFeed = "a line ends with LF alone"
}
