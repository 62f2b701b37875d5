import Glibc

/// Writes `count` 64-byte lines into a pipe from its own thread (blocking writes), then closes it.
final class PipeFeeder: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the thread owns the fd.
    let fd: Int32
    let count: Int

    init(fd: Int32, count: Int) {
        self.fd = dup(fd)  // the stream keeps (and closes) its own descriptor
        self.count = count
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let feeder = Unmanaged<PipeFeeder>.fromOpaque(raw!).takeRetainedValue()
            feeder.feed()
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
    }

    private func feed() {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var block = [UInt8]()
        for i in 0..<1024 {
            block += [UInt8](repeating: UInt8(97 + i % 26), count: 63) + [10]
        }
        var sent = 0
        while sent < count {
            let lines = min(1024, count - sent)
            block.withUnsafeBytes { raw in
                var offset = 0
                while offset < lines * 64 {
                    let n = write(fd, raw.baseAddress! + offset, lines * 64 - offset)
                    if n <= 0 { return }
                    offset += n
                }
            }
            sent += lines
        }
        close(fd)
    }
}
