import Foundation
import Logging
import NIOCore
import NIOPosix
import PosternAuth
import PosternProtocols
import ServiceLifecycle
import Synchronization

/// The Dovecot-auth front door: a unix socket (and optionally loopback TCP) where Postfix,
/// doveadm and Dovecot's Lua passdb ask for password checks.
public final class AuthListener: Service, Sendable {
    public static let maxLine = 16384

    private let check: PasswordCheck
    private let group: any EventLoopGroup
    private let socketPath: String
    private let socketMode: mode_t
    private let socketGroup: String?
    private let tcp: (host: String, port: Int)?
    private let logger: Logger
    /// CUID of the handshake: a connection counter from 1, per process.
    private static let connections = Atomic<UInt32>(0)
    private let ready: @Sendable () -> Void

    public init(check: PasswordCheck, group: any EventLoopGroup, socketPath: String, socketMode: mode_t, socketGroup: String?,
                tcp: (host: String, port: Int)?, logger: Logger, ready: @escaping @Sendable () -> Void = {}) {
        self.check = check
        self.group = group
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.tcp = tcp
        self.logger = logger
        self.ready = ready
    }

    public func run() async throws {
        try FileManager.default.createDirectory(atPath: (socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var channels = [try await bootstrap().bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).get()]
        try SocketFile.setPermissions(path: socketPath, mode: socketMode, group: socketGroup)
        logger.info("auth socket listening", metadata: ["path": "\(socketPath)", "mode": "\(String(socketMode, radix: 8))"])
        if let tcp {
            channels.append(try await bootstrap().bind(host: tcp.host, port: tcp.port).get())
            logger.info("auth TCP listening", metadata: ["address": "\(tcp.host):\(tcp.port)"])
        }
        ready()
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    private func bootstrap() -> ServerBootstrap {
        let check = self.check
        let logger = self.logger
        let pid = UInt32(getpid())
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let cuid = Self.connections.add(1, ordering: .relaxed).newValue
                let handshake = AuthServerReply.handshake(mechanisms: AuthServerConnection.mechanisms, serverPID: pid,
                                                          connectionID: cuid, cookie: Self.cookie())
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: Self.maxLine)))
                    try channel.pipeline.syncOperations.addHandler(AuthConnectionHandler(check: check, handshake: handshake, logger: logger))
                }
            }
    }

    static func cookie() -> String {
        var rng = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<2 {
            let v = rng.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { out.append(hex[Int(v >> UInt64(shift) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Unix socket files: mode and group, so that the mail server's user can connect.
enum SocketFile {
    static func setPermissions(path: String, mode: mode_t, group: String?) throws {
        if let group, !group.isEmpty {
            guard let entry = getgrnam(group) else {
                throw ConfigError.invalid(key: "socket group", message: "no such group \"\(group)\" for \(path)")
            }
            guard chown(path, uid_t(bitPattern: -1), entry.pointee.gr_gid) == 0 else {
                throw ConfigError.invalid(key: "socket group", message: "cannot chgrp \(path) to \(group): \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, mode) == 0 else {
            throw ConfigError.invalid(key: "socket mode", message: "cannot chmod \(path): \(String(cString: strerror(errno)))")
        }
    }
}
