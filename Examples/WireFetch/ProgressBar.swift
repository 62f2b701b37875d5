import Foundation

/// A progress line on standard error — bytes, percent and a bar when the length is known, rate,
/// time left — redrawn at most ten times a second, on a terminal only.
final class ProgressBar {
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var drawn = false

    /// A bar when standard error is a terminal and the user did not ask for silence.
    static func make(silent: Bool) -> ProgressBar? {
        !silent && isatty(STDERR_FILENO) == 1 ? ProgressBar() : nil
    }

    func update(received: Int, expected: Int?, force: Bool = false) {
        let now = ContinuousClock.now
        guard force || now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let elapsed = Self.seconds(now - start)
        let rate = elapsed > 0 ? Double(received) / elapsed : 0
        var line = ""
        if let expected, expected > 0 {
            let fraction = min(1, Double(received) / Double(expected))
            let filled = Int(fraction * 30)
            line += String(format: "%3d%% [", Int(fraction * 100)) + String(repeating: "#", count: filled)
                + String(repeating: ".", count: 30 - filled) + "] "
            line += "\(Self.size(received)) / \(Self.size(expected))  \(Self.size(Int(rate)))/s"
            if rate > 0 { line += "  ETA " + Self.clock(Double(expected - received) / rate) }
        } else {
            line += "\(Self.size(received))  \(Self.size(Int(rate)))/s  " + Self.clock(elapsed)
        }
        FileHandle.standardError.write(Data(("\r" + line.padding(toLength: 78)).utf8))
        drawn = true
    }

    /// Leaves the finished line in place and moves to the next.
    func finish(received: Int, expected: Int?) {
        update(received: received, expected: expected, force: true)
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    private static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
