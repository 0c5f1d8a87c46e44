import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
import PosternStore
import Testing

/// A control plane on a fresh database under a temp dir, with one organization and mail service.
func makePlane(seeded: Bool = true, folderCommand: [String]? = nil, sieve: SieveWriter? = nil) async throws -> Planes {
    let dir = NSTemporaryDirectory() + "postern-server-\(UUID().uuidString)"
    let store = try Store(path: dir + "/postern.sqlite")
    let key = ServerKey(key: SymmetricKey(size: .bits256))
    let plane = Planes(store: store, key: key, index: CredentialIndex(), lastUse: LastUseRecorder(), sieve: sieve, folderCommand: folderCommand,
                             logger: Logger(label: "test"))
    if seeded {
        _ = try await plane.directory.addOrganization("Example Ltd", actor: .op)
        _ = try await plane.directory.addMailService(name: "example", organization: "Example Ltd", domains: ["example.org"], actor: .op)
    }
    return plane
}

extension Planes {
    var check: PasswordCheck {
        PasswordCheck(key: serverKey, index: index, lastUse: lastUse, threadPool: NIOThreadPool.singleton)
    }
}

/// A blocking unix-socket client for driving the auth listener byte by byte.
final class RawSocket {
    let fd: Int32

    init(path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        fd = try Self.connected(family: AF_UNIX, to: address)
    }

    init(tcpPort: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(tcpPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        fd = try Self.connected(family: AF_INET, to: address)
    }

    /// A blocking stream socket connected to `address`, with a 10 s read timeout.
    private static func connected<Address>(family: Int32, to address: Address) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    var pending: [UInt8] = []

    /// The next line without LF, or nil at EOF or timeout.
    func line() -> String? {
        while true {
            if let lf = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            pending += chunk[..<n]
        }
    }

    /// Reads the greeting up to DONE.
    func greeting() -> [String] {
        var lines: [String] = []
        while let l = line() {
            lines.append(l)
            if l == "DONE" { break }
        }
        return lines
    }

    /// Everything until the server closes (or the read times out).
    func readAll() -> [UInt8] {
        var out = pending
        pending = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return out }
            out += chunk[..<n]
        }
    }

    /// True when the server closed the connection.
    func closedByServer() -> Bool { line() == nil }
}

extension RawSocket {
    /// Sends one AUTH PLAIN for smtp with an initial response and returns the answer line.
    func plain(_ id: Int, _ login: String, _ password: String) -> String? {
        send("AUTH\t\(id)\tPLAIN\tservice=smtp\t\(plainResponse(login, password))\n")
        return line()
    }
}

func plainResponse(_ login: String, _ password: String) -> String {
    "resp=" + Data("\0\(login)\0\(password)".utf8).base64EncodedString()
}

/// A loopback TCP port nobody listens on right now.
func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            _ = bind(fd, p, length)
            return getsockname(fd, p, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

extension Actor {
    /// The operator, as tests act.
    static let op = Actor.operator(uid: 0)
}

/// An authenticator that says every request comes from one actor (tests only).
struct FixedActor: ControlAuthenticator {
    let actor: Actor
    static let op = FixedActor(actor: .op)
    func actor(for request: Request, channel: any Channel) async throws -> Actor { actor }
}

/// Waits for a condition, polled every 10 ms, with a deadline; past it the test fails saying what
/// it waited for. Generous: on a loaded two-core machine other suites can hold the pool for seconds.
func eventually(_ what: String, within seconds: Double = 30, _ condition: () -> Bool) async throws {
    let end = ContinuousClock.now + .seconds(seconds)
    while !condition() {
        guard ContinuousClock.now < end else {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
