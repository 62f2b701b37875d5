import Glibc

/// A request body read from a file in 64 KiB pieces: constant memory whatever the file's size.
enum FileReader {
    /// The file's size in bytes (its Content-Length).
    static func size(of path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure(path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw HTTPError(.requestBodyFile(path: path, reason: "not a regular file"))
        }
        return Int(info.st_size)
    }

    /// Calls `body` with each piece of the file, in order.
    static func forEachPiece(of path: String, _ body: ([UInt8]) async throws -> Void) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path) }
        defer { Glibc.close(fd) }
        while true {
            var piece = [UInt8](repeating: 0, count: 65_536)
            let count = piece.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path)
            }
            if count == 0 { return }
            piece.removeSubrange(count...)
            try await body(piece)
        }
    }

    private static func failure(_ path: String) -> HTTPError {
        HTTPError(.requestBodyFile(path: path, reason: String(cString: strerror(errno))))
    }
}
