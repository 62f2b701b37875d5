import Foundation
import WireHTTP

/// Where a body goes: standard output, or a file created when the response arrives (so `--fail`
/// leaves no empty file behind).
final class OutputSink {
    private let handle: FileHandle
    private let path: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            handle = .standardOutput
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw FileWriteError(path: path, reason: "cannot create it")
        }
        handle = file
    }

    func write(_ bytes: [UInt8]) throws {
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw FileWriteError(path: path ?? "standard output", reason: "\(error)")
        }
    }

    func close() {
        if path != nil { try? handle.close() }
    }
}
