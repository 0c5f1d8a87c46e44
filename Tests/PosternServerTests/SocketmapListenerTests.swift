import Foundation
import Logging
import NIOCore
@testable import PosternControl
import PosternCore
import PosternProtocols
@testable import PosternServer
import Synchronization
import Testing

extension RawSocket {
    /// The next socketmap reply, or nil at EOF or timeout.
    func socketmapReply() -> SocketmapReply? {
        while true {
            var buffer = ByteBuffer(bytes: pending)
            if let reply = try? SocketmapReply.decode(&buffer) {
                pending = Array(buffer.readableBytesView)
                return reply
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            pending += chunk[..<n]
        }
    }

    func ask(_ map: String, _ key: String) -> SocketmapReply? {
        send(SocketmapRequest(map: map, key: key).encoded)
        return socketmapReply()
    }
}

/// The socketmap front door on a real unix socket: many requests per connection, in pieces or
/// pipelined; bad requests get PERM and never take the listener down; a change is seen at once.
@Suite(.serialized) struct SocketmapListenerTests {
    let plane: Planes
    let path = NSTemporaryDirectory() + "psm-\(UUID().uuidString.prefix(8)).sock"

    init() async throws {
        plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        _ = try await plane.directory.addMailbox("bob@example.org", actor: .op)
    }

    func withListener(_ body: () async throws -> Void) async throws {
        let ready = Mutex(false)
        let door = SocketmapListener.frontDoor(routing: plane.routingIndex, address: ListenAddress(socketPath: path, socketMode: 0o600),
                                               logger: Logger(label: "test"), ready: { ready.withLock { $0 = true } })
        let task = Task { try await door.run() }
        defer { task.cancel() }
        try await eventually("the listener's socket") { ready.withLock { $0 } }
        try await body()
    }

    @Test func theThreeMapsAnswerAndAChangeIsSeenOnTheNextLookup() async throws {
        try await withListener {
            let s = try RawSocket(path: path)
            #expect(s.ask("mailboxes", "alice@example.org") == .ok("example.org/alice/"))
            #expect(s.ask("mailboxes", "Alice@EXAMPLE.org") == .ok("example.org/alice/"))
            #expect(s.ask("virtual", "info@example.org") == .notFound)
            _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "info", actor: .op)
            #expect(s.ask("virtual", "info@example.org") == .ok("alice@example.org"), "the same connection sees the change")
            #expect(s.ask("senders", "info@example.org") == .ok("alice@example.org"))
            _ = try await plane.routing.setRedirection(mailbox: "bob@example.org", targets: ["ext@elsewhere.test"], keepCopy: true, actor: .op)
            #expect(s.ask("virtual", "bob@example.org") == .ok("bob@example.org,ext@elsewhere.test"))
            _ = try await plane.routing.removeAlias(mailbox: "alice@example.org", alias: "info@example.org", actor: .op)
            #expect(s.ask("virtual", "info@example.org") == .notFound)
            _ = try await plane.directory.removeMailbox("bob@example.org", actor: .op)
            #expect(s.ask("virtual", "bob@example.org") == .notFound && s.ask("mailboxes", "bob@example.org") == .notFound)
        }
    }

    @Test func pipelinedAndByteByByteRequestsAreAnsweredInOrder() async throws {
        try await withListener {
            let s = try RawSocket(path: path)
            let keys = ["alice@example.org", "nobody@example.org", "bob@example.org"]
            s.send(keys.flatMap { SocketmapRequest(map: "mailboxes", key: $0).encoded })
            #expect([s.socketmapReply(), s.socketmapReply(), s.socketmapReply()] == [.ok("example.org/alice/"), .notFound, .ok("example.org/bob/")])
            for byte in SocketmapRequest(map: "senders", key: "bob@example.org").encoded { s.send([byte]) }
            #expect(s.socketmapReply() == .ok("bob@example.org"))
        }
    }

    @Test func badRequestsGetPermAndTheListenerLivesOn() async throws {
        try await withListener {
            let s = try RawSocket(path: path)
            guard case let .perm(why)? = s.ask("aliases", "alice@example.org") else { Issue.record("an unknown map"); return }
            #expect(why.contains("mailboxes, virtual, senders"))
            s.send(Array("7:virtual,".utf8))
            guard case .perm? = s.socketmapReply() else { Issue.record("no key: PERM"); return }
            s.send([0x35, 0x3A, 0x76, 0x20, 0xFF, 0xFE, 0x41, 0x2C])  // "5:v \xff\xfeA,"
            guard case .perm? = s.socketmapReply() else { Issue.record("not UTF-8: PERM"); return }
            #expect(s.ask("mailboxes", "alice@example.org") == .ok("example.org/alice/"), "well-framed garbage does not end the connection")

            let broken = try RawSocket(path: path)
            broken.send(Array("hello world\r\n".utf8))
            guard case let .perm(framing)? = broken.socketmapReply() else { Issue.record("not a netstring: PERM"); return }
            #expect(framing.contains("netstring") && broken.closedByServer())

            let huge = try RawSocket(path: path)
            huge.send(Array("1000000000:".utf8) + [UInt8](repeating: 0x41, count: 70_000))
            guard case let .perm(size)? = huge.socketmapReply() else { Issue.record("oversized: PERM"); return }
            #expect(size.contains("longer than") && huge.closedByServer())

            let after = try RawSocket(path: path)
            #expect(after.ask("senders", "alice@example.org") == .ok("alice@example.org"), "the listener still answers")
        }
    }

    /// A client that never reads its replies: posternd stops reading from it instead of
    /// queueing replies without end (without that it reads on at about 3 MB/s here), and still
    /// answers others.
    @Test func aClientThatDoesNotReadItsRepliesIsNotBufferedWithoutEnd() async throws {
        try await withListener {
            let greedy = try RawSocket(path: path)
            let batch = Array((0..<2000).map { _ in SocketmapRequest(map: "mailboxes", key: "alice@example.org").encoded }.joined())
            _ = fcntl(greedy.fd, F_SETFL, fcntl(greedy.fd, F_GETFL) | O_NONBLOCK)
            var sent = 0
            let start = ContinuousClock.now
            var atHalf: Int?
            while ContinuousClock.now < start + .seconds(3) {
                if atHalf == nil, ContinuousClock.now > start + .milliseconds(1500) { atHalf = sent }
                let offset = sent % batch.count  // a partial send goes on where it stopped: whole requests on the wire
                let n = batch.withUnsafeBytes { Glibc.send(greedy.fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n; continue }
                guard errno == EAGAIN || errno == EWOULDBLOCK else { Issue.record("send failed: errno \(errno) after \(sent) bytes"); break }
                var ready = pollfd(fd: greedy.fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, 10)  // wait for room (an event), at most 10 ms
            }
            // Without the pause posternd reads on (and queues replies) for as long as the client sends.
            #expect(atHalf == sent, "posternd stopped reading once its replies piled up: \(atHalf ?? 0) bytes after 1.5 s, \(sent) after 3 s")
            let other = try RawSocket(path: path)
            #expect(other.ask("senders", "bob@example.org") == .ok("bob@example.org"), "others are still answered")
        }
    }
}
