import Foundation
import Logging
@testable import PosternControl
import PosternProtocols
@testable import PosternServer
import Synchronization
import Testing

@Suite(.serialized) struct SaslauthdListenerTests {
    let plane: Planes
    let path = NSTemporaryDirectory() + "ps-\(UUID().uuidString.prefix(8)).sock"

    init() async throws { plane = try await makePlane() }

    func withListener(_ body: () async throws -> Void) async throws {
        let ready = Mutex(false)
        let door = SaslauthdListener.frontDoor(check: plane.check, address: ListenAddress(socketPath: path, socketMode: 0o600),
                                               logger: Logger(label: "test"), ready: { ready.withLock { $0 = true } })
        let task = Task { try await door.run() }
        defer { task.cancel() }
        try await eventually("the listener's socket") { ready.withLock { $0 } }
        try await body()
    }

    func ask(_ request: SaslauthdRequest, byteByByte: Bool = false) throws -> [UInt8] {
        let s = try RawSocket(path: path)
        if byteByByte { for b in request.encoded { s.send([b]) } } else { s.send(request.encoded) }
        return s.readAll()
    }

    @Test func answersOKAndNOThenCloses() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "Outlook", actor: .op)
        try await withListener {
            let r1 = try ask(.init(login: "alice", password: Array(device.password.utf8), service: "smtp", realm: "example.org"))
            #expect(r1 == SaslauthdReply.ok.encoded)
            let r2 = try ask(.init(login: "alice@example.org", password: Array(device.password.utf8), service: "imap", realm: ""), byteByByte: true)
            #expect(r2 == SaslauthdReply.ok.encoded)
            let r3 = try ask(.init(login: "alice", password: Array("wrong".utf8), service: "smtp", realm: "example.org"))
            #expect(r3 == SaslauthdReply.no.encoded)
            let r4 = try ask(.init(login: "nobody", password: Array("x".utf8), service: "smtp", realm: "example.org"))
            #expect(r4 == SaslauthdReply.no.encoded)
        }
    }

    @Test func theServiceFromTheRequestReachesTheScopeCheck() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "Old phone", scope: try .init(names: ["pop3"]), actor: .op)
        try await withListener {
            let r5 = try ask(.init(login: "alice", password: Array(device.password.utf8), service: "pop3", realm: "example.org"))
            #expect(r5 == SaslauthdReply.ok.encoded)
            let r6 = try ask(.init(login: "alice", password: Array(device.password.utf8), service: "smtp", realm: "example.org"))
            #expect(r6 == SaslauthdReply.no.encoded)
        }
        #expect(try await plane.devices.devices("alice@example.org", actor: .op).first?.lastUse?.service == "pop3")
    }

    @Test func garbageAndOversizedRequestsAreClosedWithoutAnAnswer() async throws {
        try await withListener {
            let s = try RawSocket(path: path)
            s.send([0xFF, 0xFF] + [UInt8](repeating: 0x41, count: 9000))
            #expect(s.readAll().isEmpty)
            let t = try RawSocket(path: path)
            t.send([0, 1, 0xFF, 0, 0, 0, 0, 0, 0])
            #expect(t.readAll().isEmpty)
        }
    }
}
