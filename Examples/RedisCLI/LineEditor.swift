import Glibc

/// A prompt with history for a terminal, as redis-cli's: ↑/↓ walk earlier commands, ←/→ move,
/// Backspace deletes, Ctrl-A/Ctrl-E jump to the start/end, Ctrl-U clears, Ctrl-C abandons the line,
/// Ctrl-D on an empty line ends. History persists in `~/.wire_redis_history` (at most 1000 lines).
/// Off a terminal there is no editor: lines are read as they come (`readLine`).
final class LineEditor {
    private var history: [String] = []
    private let historyFile: String?
    private let limit = 1000

    init() {
        historyFile = getenv("HOME").map { String(cString: $0) + "/.wire_redis_history" }
        if let historyFile, let file = fopen(historyFile, "r") {
            defer { fclose(file) }
            while let line = Self.readLine(file) { history.append(line) }
            history = Array(history.suffix(limit))
        }
    }

    /// The next line the user enters after `prompt`, or `nil` at the end (Ctrl-D).
    func line(prompt: String) -> String? {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return Swift.readLine() }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)  // TCSANOW: keep what was typed ahead
        defer { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }

        var buffer: [Character] = []
        var cursor = 0
        var recalled = history.count  // the history entry shown (count: the line being typed)
        var typed: [Character] = []
        func redraw() {
            write("\r" + prompt + String(buffer) + "\u{1B}[K")
            let back = buffer.count - cursor
            if back > 0 { write("\u{1B}[\(back)D") }
        }
        redraw()
        while let byte = Self.readByte() {
            switch byte {
            case 0x0D, 0x0A:  // Enter
                write("\r\n")
                let line = String(buffer)
                remember(line)
                return line
            case 0x04:  // Ctrl-D: end on an empty line
                if buffer.isEmpty {
                    write("\r\n")
                    return nil
                }
            case 0x03:  // Ctrl-C: abandon the line
                write("^C\r\n")
                buffer = []
                cursor = 0
                recalled = history.count
                redraw()
            case 0x7F, 0x08:  // Backspace
                if cursor > 0 {
                    buffer.remove(at: cursor - 1)
                    cursor -= 1
                    redraw()
                }
            case 0x01: cursor = 0; redraw()  // Ctrl-A
            case 0x05: cursor = buffer.count; redraw()  // Ctrl-E
            case 0x15: buffer.removeFirst(cursor); cursor = 0; redraw()  // Ctrl-U
            case 0x1B:  // ESC [ A/B/C/D: arrows
                guard Self.readByte() == UInt8(ascii: "["), let key = Self.readByte() else { continue }
                switch key {
                case UInt8(ascii: "A") where recalled > 0:
                    if recalled == history.count { typed = buffer }
                    recalled -= 1
                    buffer = Array(history[recalled])
                case UInt8(ascii: "B") where recalled < history.count:
                    recalled += 1
                    buffer = recalled == history.count ? typed : Array(history[recalled])
                case UInt8(ascii: "C") where cursor < buffer.count: cursor += 1
                case UInt8(ascii: "D") where cursor > 0: cursor -= 1
                default: continue
                }
                if key == UInt8(ascii: "A") || key == UInt8(ascii: "B") { cursor = buffer.count }
                redraw()
            default:
                guard byte >= 0x20 else { continue }
                // A UTF-8 sequence arrives byte by byte: gather its continuation bytes.
                var bytes = [byte]
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                while bytes.count < length, let next = Self.readByte() { bytes.append(next) }
                for character in String(decoding: bytes, as: UTF8.self) {
                    buffer.insert(character, at: cursor)
                    cursor += 1
                }
                redraw()
            }
        }
        return nil
    }

    private func remember(_ line: String) {
        guard !line.trimmingSpaces.isEmpty, history.last != line else { return }
        history.append(line)
        if history.count > limit { history.removeFirst(history.count - limit) }
        if let historyFile, let file = fopen(historyFile, "w") {
            defer { fclose(file) }
            for entry in history { fputs(entry + "\n", file) }
        }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = Glibc.write(STDOUT_FILENO, &bytes, bytes.count)
    }

    private static func readByte() -> UInt8? {
        var byte: UInt8 = 0
        return Glibc.read(STDIN_FILENO, &byte, 1) == 1 ? byte : nil
    }

    private static func readLine(_ file: UnsafeMutablePointer<FILE>) -> String? {
        var bytes: [UInt8] = []
        while true {
            let c = fgetc(file)
            if c == EOF { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if c == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(UInt8(c))
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring { drop { $0 == " " } }
}
