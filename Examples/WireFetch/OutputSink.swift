import Foundation
import WireHTTP

/// Where a body goes: standard output, or a file opened when the response arrives (so `--fail`
/// leaves no empty file behind).
///
/// Opened with open(2), `O_CREAT | O_TRUNC`, never FileManager's `createFile`: that one replaces
/// the path with a new file, and `-o /dev/null` run as root would replace the device itself.
final class OutputSink {
    private let handle: FileHandle
    private let path: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            handle = .standardOutput
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: path, reason: String(cString: strerror(errno))) }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try handle.write(contentsOf: bytes)  // writes all of them (partial writes and EINTR retried)
        } catch {
            throw FileWriteError(path: path ?? "standard output", reason: "\(error)")
        }
    }

    func close() {
        if path != nil { try? handle.close() }
    }
}
