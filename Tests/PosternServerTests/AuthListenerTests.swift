import Foundation
import Logging
@testable import PosternControl
import NIOPosix
import PosternAuth
@testable import PosternServer
import Synchronization
import Testing

/// The auth listener on a real unix socket, driven by a raw client: framing, pipelining,
/// concurrency and bad input. (Postfix and doveadm against it are in scripts/e2e.)
@Suite(.serialized) struct AuthListenerTests {
    let plane: Planes
    let path: String

    init() async throws {
        plane = try await makePlane()
        path = NSTemporaryDirectory() + "pa-\(UUID().uuidString.prefix(8)).sock"
    }

    func withListener(tcpPort: Int? = nil, check: PasswordCheck? = nil, _ body: () async throws -> Void) async throws {
        let ready = Mutex(false)
        let listener = AuthListener.frontDoor(
            check: check ?? plane.check,
            address: ListenAddress(socketPath: path, socketMode: 0o600, tcp: tcpPort.map { ("127.0.0.1", $0) }),
            logger: Logger(label: "test"), ready: { ready.withLock { $0 = true } })
        let task = Task { try await listener.run() }
        defer { task.cancel() }
        try await eventually("the listener's socket") { ready.withLock { $0 } }
        try await body()
    }

    func hello(_ s: RawSocket) -> [String] {
        let greeting = s.greeting()
        s.send("VERSION\t1\t0\nCPID\t\(getpid())\n")
        return greeting
    }

    @Test func greetsAtOnceAndAnswersPostfixStylePlain() async throws {
        let secret = try await plane.directory.addMailbox("alice@example.org", actor: .op).address.description
        let device = try await plane.devices.addDevice(secret, name: "iPhone", actor: .op)
        try await withListener {
            let s = try RawSocket(path: path)
            let greeting = hello(s)
            #expect(greeting.first == "VERSION\t1\t2")
            #expect(greeting.contains("MECH\tPLAIN\tplaintext") && greeting.contains("MECH\tLOGIN\tplaintext"))
            #expect(greeting.contains { $0.hasPrefix("COOKIE\t") && $0.count == 39 })
            s.send("AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\t\(plainResponse("alice@example.org", device.password))\n")
            #expect(s.line() == "OK\t1\tuser=alice@example.org")
            s.send("AUTH\t2\tPLAIN\tservice=smtp\tnologin\t\(plainResponse("alice@example.org", "nope"))\n")
            #expect(s.line() == "FAIL\t2\tuser=alice@example.org")
        }
    }

    @Test func internalTroubleAnswersTempFail() async throws {
        _ = try await plane.imports.importPasswdFile("carol@example.org:{SHA512-CRYPT}$6$a$b\n", actor: .op)
        // A hash pool that is not running: the generic password cannot be verified.
        let stopped = PasswordCheck(key: plane.serverKey, index: plane.index, lastUse: plane.lastUse,
                                    threadPool: NIOThreadPool(numberOfThreads: 1))
        try await withListener(check: stopped) {
            let s = try RawSocket(path: path)
            _ = hello(s)
            #expect(s.plain(1, "carol@example.org", "anything") == "FAIL\t1\tuser=carol@example.org\tcode=temp_fail")
        }
    }

    @Test func theOptionalLoopbackTCPListenerAnswersToo() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "iPhone", actor: .op)
        let port = freeTCPPort()
        try await withListener(tcpPort: port) {
            let s = try RawSocket(tcpPort: port)
            _ = hello(s)
            #expect(s.plain(1, "alice@example.org", device.password) == "OK\t1\tuser=alice@example.org")
        }
    }

    @Test func pipelinedRequestsSentByteByByteAreAllAnswered() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "iPhone", actor: .op)
        try await withListener {
            let s = try RawSocket(path: path)
            _ = s.greeting()
            var stream = "VERSION\t1\t2\nCPID\t7\n"
            for id in 1...20 {
                stream += "AUTH\t\(id)\tPLAIN\tservice=imap\t\(plainResponse("alice@example.org", id % 2 == 0 ? device.password : "wrong"))\n"
            }
            for byte in Array(stream.utf8) { s.send([byte]) }
            var answers: [String] = []
            for _ in 1...20 { answers.append(s.line() ?? "EOF") }
            #expect(answers.filter { $0.hasPrefix("OK\t") }.count == 10)
            #expect(answers.filter { $0.hasPrefix("FAIL\t") }.count == 10)
            #expect(Set(answers.map { $0.split(separator: "\t")[1] }).count == 20)
        }
    }

    @Test func manyConcurrentConnectionsEachGetTheirAnswers() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "iPhone", actor: .op)
        try await withListener {
            let oks = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: 64) { i in
                guard let s = try? RawSocket(path: path) else { return }
                _ = hello(s)
                for id in 1...10 {
                    if s.plain(id, "alice@example.org", device.password) == "OK\t\(id)\tuser=alice@example.org" { oks.add(1, ordering: .relaxed) }
                }
            }
            #expect(oks.load(ordering: .relaxed) == 640)
        }
    }

    @Test func theGenericPasswordIsCheckedOffTheEventLoop() async throws {
        let hash = "{SHA512-CRYPT}$6$vCkbG2Zx/tXVGp23$f04PVOhiZ6/HzxEelyVEG9yc6fNB4B6gji7iMBA3Qr0qHkwPC.oP.GTUpWBO5YMF4k6ZHqDEGPXC1zRqaMXUX0"
        let report = try await plane.imports.importPasswdFile("carol@example.org:\(hash)\n", actor: .op)
        #expect(report.imported == 1)
        try await withListener {
            let s = try RawSocket(path: path)
            _ = hello(s)
            s.send("AUTH\t1\tLOGIN\tservice=smtp\n")
            #expect(s.line() == "CONT\t1\tVXNlcm5hbWU6")
            s.send("CONT\t1\t\(Data("carol@example.org".utf8).base64EncodedString())\n")
            #expect(s.line() == "CONT\t1\tUGFzc3dvcmQ6")
            s.send("CONT\t1\t\(Data("correct horse".utf8).base64EncodedString())\n")
            #expect(s.line() == "OK\t1\tuser=carol@example.org")
        }
    }

    static let badInputs: [String: String] = [
        "auth before handshake": "AUTH\t1\tPLAIN\tservice=smtp\n",
        "another major version": "VERSION\t9\t0\n",
        "binary garbage": "\u{1}\u{2}garbage\u{0}\n",
        "oversized line without LF": String(repeating: "A", count: 20000),
        "LF past the 16384-byte limit": String(repeating: "B", count: 16384) + "\n",
    ]

    @Test(arguments: badInputs.keys.sorted())
    func badInputClosesTheConnectionAndTheServerKeepsServing(name: String) async throws {
        let input = Self.badInputs[name]!
        try await withListener {
            let bad = try RawSocket(path: path)
            _ = bad.greeting()
            bad.send(input)
            #expect(bad.closedByServer())
            let good = try RawSocket(path: path)
            _ = hello(good)
            #expect(good.plain(1, "x@example.org", "y") == "FAIL\t1\tuser=x@example.org")
        }
    }

    @Test func aRotatedSecretFailsOnTheVeryNextRequestOnTheSameConnection() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let old = try await plane.devices.addDevice("alice@example.org", name: "iPhone", actor: .op)
        try await withListener {
            let s = try RawSocket(path: path)
            _ = hello(s)
            #expect(s.plain(1, "alice@example.org", old.password)?.hasPrefix("OK\t1") == true)
            let new = try await plane.devices.rotateDevice("alice@example.org", device: "iPhone", actor: .op)
            #expect(s.plain(2, "alice@example.org", old.password) == "FAIL\t2\tuser=alice@example.org")
            #expect(s.plain(3, "alice@example.org", new.password)?.hasPrefix("OK\t3") == true)
            _ = try await plane.devices.disconnectDevice("alice@example.org", device: "iPhone", actor: .op)
            #expect(s.plain(4, "alice@example.org", new.password) == "FAIL\t4\tuser=alice@example.org")
        }
    }

    @Test func disconnectAllAndMailboxRemovalTakeEveryPasswordOutAtOnce() async throws {
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        _ = try await plane.directory.addMailbox("bob@example.org", actor: .op)
        let a1 = try await plane.devices.addDevice("alice@example.org", name: "iPhone", actor: .op)
        let a2 = try await plane.devices.addDevice("alice@example.org", name: "laptop", actor: .op)
        let b1 = try await plane.devices.addDevice("bob@example.org", name: "iPhone", actor: .op)
        try await withListener {
            let s = try RawSocket(path: path)
            _ = hello(s)
            var id = 0
            func answer(_ login: String, _ password: String) -> String? {
                id += 1
                return s.plain(id, login, password)
            }
            #expect(answer("alice@example.org", a2.password)?.hasPrefix("OK") == true)
            _ = try await plane.devices.disconnectAll("alice@example.org", confirmed: true, actor: .op)
            #expect(answer("alice@example.org", a1.password)?.hasPrefix("FAIL") == true)
            #expect(answer("alice@example.org", a2.password)?.hasPrefix("FAIL") == true)
            #expect(answer("bob@example.org", b1.password)?.hasPrefix("OK") == true, "another mailbox is untouched")
            _ = try await plane.directory.removeMailbox("bob@example.org", actor: .op)
            #expect(answer("bob@example.org", b1.password)?.hasPrefix("FAIL") == true)
        }
    }
}
