/// `stats-job <id>`: one job's state.
public struct BeanstalkJobStats: Sendable, Equatable {
    public enum State: String, Sendable {
        case ready, delayed, reserved, buried
    }

    public let id: UInt64
    public let tube: String
    public let state: State
    public let priority: UInt32
    /// Since the job was put, in seconds.
    public let age: Int
    public let delay: Int
    public let ttr: Int
    /// Seconds until a reserved job is released, or a delayed one becomes ready.
    public let timeLeft: Int
    public let reserves: Int
    public let timeouts: Int
    public let releases: Int
    public let buries: Int
    public let kicks: Int

    init(_ fields: BeanstalkFields) throws {
        id = try fields.number("id")
        tube = try fields.text("tube")
        guard let state = State(rawValue: try fields.text("state")) else {
            throw fields.invalid("state \(try fields.text("state")) is not one beanstalkd reports")
        }
        self.state = state
        priority = try fields.number("pri")
        age = try fields.number("age")
        delay = try fields.number("delay")
        ttr = try fields.number("ttr")
        timeLeft = try fields.number("time-left")
        reserves = try fields.number("reserves")
        timeouts = try fields.number("timeouts")
        releases = try fields.number("releases")
        buries = try fields.number("buries")
        kicks = try fields.number("kicks")
    }
}

/// `stats-tube <tube>`: one tube's counts.
public struct BeanstalkTubeStats: Sendable, Equatable {
    public let name: String
    public let urgentJobs: Int
    public let readyJobs: Int
    public let reservedJobs: Int
    public let delayedJobs: Int
    public let buriedJobs: Int
    public let totalJobs: Int
    /// Connections that `use` the tube, `watch` it, and wait in `reserve` on it.
    public let using: Int
    public let watching: Int
    public let waiting: Int
    /// Seconds the tube is paused for (`pause-tube`), and how many of them are left.
    public let pause: Int
    public let pauseTimeLeft: Int

    init(_ fields: BeanstalkFields) throws {
        name = try fields.text("name")
        urgentJobs = try fields.number("current-jobs-urgent")
        readyJobs = try fields.number("current-jobs-ready")
        reservedJobs = try fields.number("current-jobs-reserved")
        delayedJobs = try fields.number("current-jobs-delayed")
        buriedJobs = try fields.number("current-jobs-buried")
        totalJobs = try fields.number("total-jobs")
        using = try fields.number("current-using")
        watching = try fields.number("current-watching")
        waiting = try fields.number("current-waiting")
        pause = try fields.number("pause")
        pauseTimeLeft = try fields.number("pause-time-left")
    }
}

/// `stats`: the server's counters. The commonly used ones are typed; `fields` has all of them,
/// as beanstalkd names them (`cmd-put`, `rusage-utime`, …).
public struct BeanstalkServerStats: Sendable, Equatable {
    public let readyJobs: Int
    public let reservedJobs: Int
    public let delayedJobs: Int
    public let buriedJobs: Int
    public let totalJobs: Int
    public let maxJobSize: Int
    public let currentTubes: Int
    public let currentConnections: Int
    public let version: String
    public let fields: [String: String]

    init(_ fields: BeanstalkFields) throws {
        readyJobs = try fields.number("current-jobs-ready")
        reservedJobs = try fields.number("current-jobs-reserved")
        delayedJobs = try fields.number("current-jobs-delayed")
        buriedJobs = try fields.number("current-jobs-buried")
        totalJobs = try fields.number("total-jobs")
        maxJobSize = try fields.number("max-job-size")
        currentTubes = try fields.number("current-tubes")
        currentConnections = try fields.number("current-connections")
        version = try fields.text("version")
        self.fields = fields.values
    }
}

/// The `key: value` lines of a stats document (parsed by the grammar's `BeanstalkYAML`), with
/// beanstalkd's quoted strings (`version: "1.12"`) unquoted.
struct BeanstalkFields {
    let command: String
    let values: [String: String]

    init(_ document: BeanstalkYAML, command: String) {
        self.command = command
        var values: [String: String] = [:]
        for case .entry(let key, let value) in document.lines {
            values[key] = value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : value
        }
        self.values = values
    }

    func text(_ key: String) throws -> String {
        guard let value = values[key] else { throw invalid("no field '\(key)'") }
        return value
    }

    func number<T: FixedWidthInteger>(_ key: String) throws -> T {
        guard let value = T(try text(key)) else { throw invalid("'\(key)' is \(try text(key)), not a number") }
        return value
    }

    func invalid(_ reason: String) -> BeanstalkError {
        BeanstalkError(command: command, kind: .invalidStats(reason))
    }
}
