import Foundation
import Testing
import WireBeanstalk
import WireHTTP
import WireLines
import WireMemcached
import WireRedis
import WireSMTP
@testable import Wirestream

/// The properties the grammars' fuzz targets check (`WireFuzzTarget`), run here without libFuzzer:
/// on every seed of Fuzz/Seeds at every split pattern, and on parsers and encoders broken on
/// purpose — a check that never reports could not find anything.
struct FuzzTargetTests {
    /// Every message of the bundled grammars, as their generated entry points list them.
    static let messages: [String: WireFuzzMessage] = [
        "Reply": .message(WireRedis.Reply.self), "Pair": .message(WireRedis.Pair.self),
        "Command": .request(WireRedis.Command.self), "BulkString": .request(WireRedis.BulkString.self),
        "ResponseHead": .message(WireHTTP.ResponseHead.self), "HeaderLine": .message(WireHTTP.HeaderLine.self),
        "ChunkSize": .message(WireHTTP.ChunkSize.self), "ChunkEnd": .message(WireHTTP.ChunkEnd.self), "Trailers": .message(WireHTTP.Trailers.self),
        "RequestHead": .request(WireHTTP.RequestHead.self), "RequestHeaderLine": .request(WireHTTP.RequestHeaderLine.self),
        "Line": .request(WireLines.Line.self),
        "MemcachedCommand": .request(WireMemcached.MemcachedCommand.self), "MemcachedStorage": .request(WireMemcached.MemcachedStorage.self),
        "MemcachedQuietCommand": .request(WireMemcached.MemcachedQuietCommand.self),
        "MemcachedQuietStorage": .request(WireMemcached.MemcachedQuietStorage.self),
        "MemcachedReply": .message(WireMemcached.MemcachedReply.self), "MemcachedItem": .message(WireMemcached.MemcachedItem.self),
        "MemcachedStat": .message(WireMemcached.MemcachedStat.self),
        "SMTPReply": .message(WireSMTP.SMTPReply.self), "SMTPReplyLine": .message(WireSMTP.SMTPReplyLine.self),
        "SMTPCommand": .request(WireSMTP.SMTPCommand.self), "SMTPAuthLine": .request(WireSMTP.SMTPAuthLine.self),
        "BeanstalkCommand": .request(WireBeanstalk.BeanstalkCommand.self), "BeanstalkReply": .message(WireBeanstalk.BeanstalkReply.self),
        "BeanstalkJob": .message(WireBeanstalk.BeanstalkJob.self), "BeanstalkYAML": .message(WireBeanstalk.BeanstalkYAML.self),
        "BeanstalkYAMLLine": .message(WireBeanstalk.BeanstalkYAMLLine.self),
    ]

    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// The messages each generated entry point lists (its `.message(X.self)` / `.request(X.self)` lines).
    static func entryPoints() throws -> [String: [String]] {
        let sources = fuzz.appendingPathComponent("Sources")
        var found: [String: [String]] = [:]
        for target in try FileManager.default.contentsOfDirectory(atPath: sources.path) where target.hasPrefix("Fuzz") {
            for file in try FileManager.default.contentsOfDirectory(atPath: sources.appendingPathComponent(target).path) {
                let text = try String(contentsOf: sources.appendingPathComponent(target).appendingPathComponent(file), encoding: .utf8)
                found[target, default: []] += text.matches(of: /\.(?:message|request)\((\w+)\.self\)/).map { String($0.1) }
            }
        }
        return found
    }

    static func unescape(_ line: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            let next = line.index(after: index)
            guard character == "\\", next < line.endIndex else {
                out += Array(String(character).utf8)
                index = next
                continue
            }
            switch line[next] {
            case "r": out.append(0x0D)
            case "n": out.append(0x0A)
            case "t": out.append(0x09)
            case "0": out.append(0)
            case "\\": out.append(0x5C)
            case "x":
                let end = line.index(next, offsetBy: 3)
                out.append(UInt8(line[line.index(after: next)..<end], radix: 16)!)
                index = end
                continue
            default: Issue.record("unknown escape in \(line)")
            }
            index = line.index(after: next)
        }
        return out
    }

    @Test func theEntryPointsListEveryBundledMessageAndEachHasSeeds() throws {
        let entries = try Self.entryPoints()
        #expect(Set(entries.keys) == ["FuzzWireBeanstalk", "FuzzWireHTTP", "FuzzWireLines", "FuzzWireMemcached", "FuzzWireRedis", "FuzzWireSMTP"])
        #expect(Set(entries.values.joined()) == Set(Self.messages.keys))
        for (target, messages) in entries {
            for message in messages {
                let seeds = Self.fuzz.appendingPathComponent("Seeds/\(target)/\(message).seeds")
                #expect(FileManager.default.fileExists(atPath: seeds.path), "no seeds for \(target)/\(message)")
            }
        }
    }

    /// Each seed is valid input (it reads as at least one value and ends cleanly), and every
    /// property holds for it at 64 split patterns (chunks of 1…32 bytes, each size pattern twice).
    @Test func everySeedHoldsEveryPropertyAtEverySplit() async throws {
        var checked = 0
        for (target, messages) in try Self.entryPoints() {
            for name in messages {
                let message = try #require(Self.messages[name])
                let fuzzTarget = WireFuzzTarget([message])
                let text = try String(contentsOf: Self.fuzz.appendingPathComponent("Seeds/\(target)/\(name).seeds"), encoding: .utf8)
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    let seed = Self.unescape(line)
                    let outcome = await message.readAll(MemoryByteSource(seed), max: 64)
                    #expect(!outcome.values.isEmpty && outcome.end == nil, "\(name): seed \(line) → \(outcome.end.map { "\($0)" } ?? "nothing")")
                    for pattern in UInt8(0)...63 {
                        let finding = ([0, pattern] + seed).withUnsafeBytes { fuzzTarget.check($0) }
                        #expect(finding == nil, "\(finding.map { "\($0)" } ?? "")")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 100 * 64)
    }

    /// A reader whose result depends on how the bytes arrive (a partial read takes what is
    /// buffered) is reported for a split input, and not for the same bytes in one chunk.
    @Test func aSplitDependentReaderIsAFinding() throws {
        let greedy = WireFuzzMessage(name: "Greedy", read: { source in
            try await source.readBytes(4, partial: true) { Array($0) } as AnyHashable
        })
        let target = WireFuzzTarget([greedy])
        let input = bytes("abcdefgh")
        #expect(([0, 0] + input).withUnsafeBytes { target.check($0) } == nil)
        let finding = try #require(([0, 1] + input).withUnsafeBytes { target.check($0) })
        #expect(finding.message == "Greedy" && finding.problem.contains("depends on how the input is split"))
    }

    /// An encoder that does not write what its parser reads is reported, with the value.
    @Test func anEncodingThatDoesNotReadBackIsAFinding() throws {
        let target = WireFuzzTarget([.request(Shouting.self)])
        let finding = try #require(([0, 0] + bytes("hi\n")).withUnsafeBytes { target.check($0) })
        #expect(finding.message == "Shouting" && finding.problem.contains("read back as a different value"))
        #expect(finding.problem.contains("hi"))
    }

    /// A selector past the list wraps; inputs too short to hold one are no finding.
    @Test func theSelectorWrapsAndShortInputsPass() throws {
        let target = WireFuzzTarget([.request(Line.self), .message(Reply.self)])
        #expect(([2, 5] + bytes("a line\n")).withUnsafeBytes { target.check($0) } == nil)
        #expect([UInt8]([1]).withUnsafeBytes { target.check($0) } == nil)
        #expect([UInt8]().withUnsafeBytes { target.check($0) } == nil)
    }
}

/// A line whose encoder upper-cases it: parse ∘ encode ∘ parse is not stable.
private struct Shouting: WireMessage, WireRequest, Hashable {
    var text: String

    static func read<Source: ByteSource>(_ reader: inout WireReader<Source>, depth: Int) async throws -> Shouting {
        Shouting(text: try await reader.source.readUntil(Array("\n".utf8), maxBytes: 1024) { String(decoding: $0.dropLast(), as: UTF8.self) })
    }

    func encode(into writer: inout WireWriter) throws {
        writer.literal(Array((text.uppercased() + "\n").utf8))
    }
}
