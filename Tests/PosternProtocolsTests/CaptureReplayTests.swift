import Foundation
import NIOCore
import PosternProtocols
import Testing

/// Replays what real Postfix and doveadm sent to a real Dovecot (captures from ../shared/captures)
/// through Postern's codec and compares every answer line with what Dovecot answered.
@Suite struct CaptureReplayTests {
    /// The one account the captured Dovecot knew.
    static func check(_ attempt: AuthAttempt) -> AuthServerReply {
        attempt.login == "alice@example.org" && attempt.password == Array("s3cret".utf8)
            ? .ok(id: attempt.id, user: attempt.login)
            : .fail(id: attempt.id, user: attempt.login, code: nil, reason: nil)
    }

    struct Connection {
        var client: [UInt8] = []
        var server: [UInt8] = []
    }

    /// Reads `[t] #N C->S b'…'` lines into per-connection byte streams.
    static func load(_ name: String) throws -> [Int: Connection] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Captures/\(name)")
        var out: [Int: Connection] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            guard let hash = line.firstIndex(of: "#"), let space = line[hash...].firstIndex(of: " "),
                  let number = Int(line[line.index(after: hash)..<space]) else { continue }
            let rest = line[line.index(after: space)...]
            guard let quote = rest.range(of: " b'") else { continue }
            let bytes = pythonBytes(rest[quote.upperBound..<rest.index(before: rest.endIndex)])
            if rest.hasPrefix("C->S") { out[number, default: .init()].client += bytes }
            if rest.hasPrefix("S->C") { out[number, default: .init()].server += bytes }
        }
        return out
    }

    static func pythonBytes(_ text: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(text.utf8)[...]
        while let c = chars.popFirst() {
            guard c == UInt8(ascii: "\\"), let e = chars.popFirst() else { out.append(c); continue }
            switch e {
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "x"):
                let hex = String(decoding: chars.prefix(2), as: UTF8.self)
                chars = chars.dropFirst(2)
                out.append(UInt8(hex, radix: 16)!)
            default: out.append(e)
            }
        }
        return out
    }

    /// Postern's answers to a client byte stream, fed in chunks of `chunk` bytes.
    static func replay(_ client: [UInt8], chunk: Int) throws -> [UInt8] {
        var decoder = LineFrameDecoder(maxLength: 16384)
        var connection = AuthServerConnection()
        var buffer = ByteBuffer()
        var out: [UInt8] = []
        for piece in stride(from: 0, to: client.count, by: chunk).map({ client[$0..<min($0 + chunk, client.count)] }) {
            buffer.writeBytes(piece)
            while let line = try decoder.next(&buffer) {
                switch connection.receive(line: Array(line.readableBytesView)[...]) {
                case .none: break
                case let .reply(reply): reply.encode(into: &out)
                case let .check(attempt):
                    let wanted = connection.finish(id: attempt.id)
                    #expect(wanted)
                    check(attempt).encode(into: &out)
                case let .close(error): Issue.record("closed: \(error)")
                }
            }
        }
        return out
    }

    /// Dovecot's answers without its greeting (which differs in SPID, CUID, COOKIE and extra mechanisms).
    static func answers(_ server: [UInt8]) -> [String] {
        String(decoding: server, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { !["VERSION", "MECH", "SPID", "CUID", "COOKIE", "DONE"].contains($0.split(separator: "\t").first.map(String.init) ?? "") }
    }

    @Test(arguments: ["postfix-dovecot.log", "doveadm-authtest.log", "pf-lowercase.log"], [1, 3, 1000])
    func answersLikeDovecot(capture: String, chunk: Int) throws {
        let connections = try Self.load(capture)
        #expect(!connections.isEmpty)
        for (number, connection) in connections.sorted(by: { $0.key < $1.key }) {
            let ours = try Self.replay(connection.client, chunk: chunk)
            #expect(Self.answers(ours) == Self.answers(connection.server), "connection #\(number) of \(capture)")
        }
    }

    @Test func theGreetingHasEverythingPostfixAndDoveadmNeedInOrder() {
        let greeting = AuthServerReply.handshake(mechanisms: AuthServerConnection.mechanisms, serverPID: 9111, connectionID: 2,
                                                 cookie: "d89b77909a97ee96f7152edfe3b08f84").encoded
        #expect(String(decoding: greeting, as: UTF8.self) == "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t9111\nCUID\t2\nCOOKIE\td89b77909a97ee96f7152edfe3b08f84\nDONE\n")
    }
}
