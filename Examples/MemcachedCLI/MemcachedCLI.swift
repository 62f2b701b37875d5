import ArgumentParser
import WireClient
import WireMemcached
import Wirestream

/// `wire-mc [--server HOST:PORT[:WEIGHT]]… get|gets|set|add|replace|delete|incr|decr|touch|stats …`:
/// memcached from the command line, on one server or several (consistent hashing, as
/// `MemcachedCluster` places keys).
@main
struct MemcachedCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-mc", abstract: "Get, set, delete and inspect values on one or several memcached servers.",
        subcommands: [Get.self, Set.self, Delete.self, Increment.self, Touch.self, Stats.self])

    struct Servers: ParsableArguments {
        @Option(name: .customLong("server"), help: "HOST:PORT[:WEIGHT]; repeat for several (keys are spread by consistent hashing).")
        var servers: [String] = ["127.0.0.1:11211"]
        @Option(help: "Seconds to wait for each reply.") var timeout: Double = 5

        func cluster() throws -> MemcachedCluster {
            var configuration = ClientConfiguration(port: 11211)
            configuration.requestTimeout = .milliseconds(Int(timeout * 1000))
            configuration.connectTimeout = .milliseconds(Int(timeout * 1000))
            return MemcachedCluster(servers: try servers.map(Self.parse), configuration: configuration, retryDelay: .seconds(1))
        }

        static func parse(_ text: String) throws -> MemcachedCluster.Server {
            let parts = text.split(separator: ":").map(String.init)
            guard (2...3).contains(parts.count), let port = Int(parts[1]), let weight = Int(parts.count == 3 ? parts[2] : "1"), weight > 0 else {
                throw ValidationError("--server \(text): expected HOST:PORT or HOST:PORT:WEIGHT")
            }
            return MemcachedCluster.Server(host: parts[0], port: port, weight: weight)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the values of KEYs (one request per server); exit 1 if any is missing.")
        @OptionGroup var servers: Servers
        @Flag(help: "Also print each value's CAS unique.") var cas = false
        @Argument(help: "Keys.") var keys: [String]

        func run() async throws {
            let cluster = try servers.cluster()
            defer { cluster.close() }
            let values = try await cas ? cluster.gets(keys) : cluster.get(keys)
            for key in keys {
                guard let value = values[key] else { continue }
                print("VALUE \(key) \(value.flags) \(value.data.count)\(value.cas.map { " \($0)" } ?? "")")
                print(String(decoding: value.data, as: UTF8.self))
            }
            if values.count < Swift.Set(keys).count { throw ExitCode(1) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store VALUE under KEY (set, or add / replace / append / prepend).")
        @OptionGroup var servers: Servers
        @Option(help: "set, add, replace, append or prepend.") var mode = "set"
        @Option(help: "The client's 32-bit flags.") var flags: UInt32 = 0
        @Option(help: "Seconds to live (0: no expiry).") var exptime: Int64 = 0
        @Argument(help: "The key.") var key: String
        @Argument(help: "The value (text).") var value: String

        func run() async throws {
            let modes: [String: MemcachedStoreMode] = ["set": .set, "add": .add, "replace": .replace, "append": .append, "prepend": .prepend]
            guard let chosen = modes[mode] else { throw ValidationError("--mode must be one of \(modes.keys.sorted().joined(separator: ", "))") }
            let cluster = try servers.cluster()
            defer { cluster.close() }
            let result = try await cluster.store(chosen, key, Array(value.utf8), flags: flags, exptime: exptime)
            print(result == .stored ? "STORED" : "NOT_STORED")
            if result != .stored { throw ExitCode(1) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete KEY; exit 1 if it did not exist.")
        @OptionGroup var servers: Servers
        @Argument(help: "The key.") var key: String

        func run() async throws {
            let cluster = try servers.cluster()
            defer { cluster.close() }
            let deleted = try await cluster.delete(key)
            print(deleted ? "DELETED" : "NOT_FOUND")
            if !deleted { throw ExitCode(1) }
        }
    }

    struct Increment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "incr", abstract: "Add DELTA (negative: subtract) to the number at KEY.")
        @OptionGroup var servers: Servers
        @Argument(help: "The key.") var key: String
        @Argument(help: "The amount.") var delta: Int64 = 1

        func run() async throws {
            let cluster = try servers.cluster()
            defer { cluster.close() }
            let magnitude = delta.magnitude
            let result = try await delta < 0 ? cluster.decrement(key, by: magnitude) : cluster.increment(key, by: magnitude)
            guard let result else {
                print("NOT_FOUND")
                throw ExitCode(1)
            }
            print(result)
        }
    }

    struct Touch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set KEY's expiry to EXPTIME seconds.")
        @OptionGroup var servers: Servers
        @Argument(help: "The key.") var key: String
        @Argument(help: "Seconds to live (0: no expiry).") var exptime: Int64

        func run() async throws {
            let cluster = try servers.cluster()
            defer { cluster.close() }
            let touched = try await cluster.touch(key, exptime: exptime)
            print(touched ? "TOUCHED" : "NOT_FOUND")
            if !touched { throw ExitCode(1) }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each server's statistics (or a GROUP: items, slabs, settings, …).")
        @OptionGroup var servers: Servers
        @Argument(help: "A statistics group.") var group: String?

        func run() async throws {
            for server in try servers.servers.map(Servers.parse) {
                var configuration = ClientConfiguration(host: server.host, port: server.port)
                configuration.requestTimeout = .milliseconds(Int(servers.timeout * 1000))
                configuration.connectTimeout = .milliseconds(Int(servers.timeout * 1000))
                let client = try await MemcachedClient.connect(configuration)
                defer { client.close() }
                print("# \(server)")
                for entry in try await client.statsEntries(group) { print("\(entry.name) \(entry.value)") }
            }
        }
    }
}
