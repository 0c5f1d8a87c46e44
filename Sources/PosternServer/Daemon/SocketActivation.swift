import Foundation
import Logging

/// Listening sockets handed over by systemd socket activation (`LISTEN_PID`, `LISTEN_FDS`,
/// `LISTEN_FDNAMES`; the first at fd 3), or by any supervisor that keeps them across restarts.
/// Each is matched to a listener by the address it is bound to (the unix socket path, or the TCP
/// host and port), so `postern.socket` lists the same addresses as postern.yaml, in any order.
public struct SocketActivation: Sendable {
    /// A handed-over socket and where it is bound.
    public struct Inherited: Sendable, Equatable {
        public let fd: CInt
        public let name: String
        public let address: Bound
    }

    public enum Bound: Sendable, Equatable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: Int)
        case other

        public var description: String {
            switch self {
            case let .unix(path): path
            case let .tcp(host, port): "\(host):\(port)"
            case .other: "(not a unix or TCP socket)"
            }
        }
    }

    public static let firstFD: CInt = 3
    public private(set) var sockets: [Inherited]

    public init(sockets: [Inherited] = []) { self.sockets = sockets }

    /// Reads and clears the variables (so that revocation commands do not inherit them).
    /// Nothing is handed over when LISTEN_PID names another process.
    public static func fromEnvironment() -> SocketActivation {
        let env = ProcessInfo.processInfo.environment
        defer { for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) } }
        guard let pid = env["LISTEN_PID"].flatMap({ Int32($0) }), pid == getpid(),
              let count = env["LISTEN_FDS"].flatMap({ Int32($0) }), count > 0, count < 1024 else { return SocketActivation() }
        let names = env["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        let sockets = (0..<count).map { i in
            let fd = firstFD + i
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return Inherited(fd: fd, name: Int(i) < names.count ? names[Int(i)] : "unknown", address: bound(fd))
        }
        return SocketActivation(sockets: sockets)
    }

    /// Takes the sockets bound to a unix path (compared as absolute paths) or a TCP address.
    public mutating func take(unixPath: String? = nil, tcp: (host: String, port: Int)? = nil) -> [CInt] {
        let path = unixPath.map(Self.absolute)
        var taken: [CInt] = []
        sockets.removeAll { socket in
            let matches = switch socket.address {
            case let .unix(p): path != nil && Self.absolute(p) == path
            case let .tcp(host, port): tcp.map { $0.port == port && Self.sameHost($0.host, host) } ?? false
            case .other: false
            }
            if matches { taken.append(socket.fd) }
            return matches
        }
        return taken
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }

    static func sameHost(_ a: String, _ b: String) -> Bool {
        let loopback: Set<String> = ["localhost", "127.0.0.1"]
        return a == b || (loopback.contains(a) && loopback.contains(b))
    }

    /// Where fd is bound, read with getsockname.
    static func bound(_ fd: CInt) -> Bound {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        } == 0
        guard ok else { return .other }
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let bytes = raw.dropFirst(MemoryLayout<sa_family_t>.size).prefix(Int(length) - MemoryLayout<sa_family_t>.size)
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return .unix(path: path)
        case AF_INET, AF_INET6:
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            var port = [CChar](repeating: 0, count: 32)
            let rc = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
                }
            }
            guard rc == 0 else { return .other }
            let text = { (chars: [CChar]) in String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            return .tcp(host: text(host), port: Int(text(port)) ?? 0)
        default:
            return .other
        }
    }

    /// Logs, and closes, the handed-over sockets no listener took.
    public mutating func closeUnclaimed(logger: Logger) {
        for socket in sockets {
            logger.warning("a socket handed over by socket activation matches no configured listener; closed",
                           metadata: ["fd": "\(socket.fd)", "name": "\(socket.name)", "address": "\(socket.address)"])
            close(socket.fd)
        }
        sockets = []
    }
}
