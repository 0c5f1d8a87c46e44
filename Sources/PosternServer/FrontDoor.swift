import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Where a front door listens: a unix socket with its mode and group, and optionally loopback TCP.
public struct ListenAddress: Sendable {
    public var socketPath: String
    public var socketMode: mode_t
    public var socketGroup: String?
    public var tcp: (host: String, port: Int)?
    /// Sockets already bound to these addresses, handed over by socket activation: used instead
    /// of binding, and left in place at shutdown (their holder keeps them listening).
    public var inheritedUnix: [CInt] = []
    public var inheritedTCP: [CInt] = []

    public init(socketPath: String, socketMode: mode_t, socketGroup: String? = nil, tcp: (host: String, port: Int)? = nil) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.tcp = tcp
    }
}

/// A listening socket whose connections get the pipeline `initializer` sets up; runs until
/// graceful shutdown, then stops accepting and removes its socket file.
public final class FrontDoor: Service, Sendable {
    public let name: String
    private let address: ListenAddress
    private let group: any EventLoopGroup
    private let initializer: @Sendable (any Channel) -> EventLoopFuture<Void>
    private let logger: Logger
    private let ready: @Sendable () -> Void
    private let connectionsOnAcceptingLoop: Bool

    /// `connectionsOnAcceptingLoop`: serve each connection on the event loop that accepted it,
    /// instead of handing it to the next loop of the group. For one-request connections
    /// (saslauthd) the hand-over, a wake-up of another thread per connection, costs more than
    /// the request.
    public init(name: String, address: ListenAddress, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                connectionsOnAcceptingLoop: Bool = false,
                ready: @escaping @Sendable () -> Void = {}, initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>) {
        self.name = name
        self.connectionsOnAcceptingLoop = connectionsOnAcceptingLoop
        self.address = address
        self.group = group
        self.initializer = initializer
        self.logger = logger
        self.ready = ready
    }

    /// What a connection's handler gets when the door shuts down: finish what is in flight, then
    /// close (a connection with nothing in flight closes at once).
    public struct Drain: Sendable {}

    /// How long shutdown waits for connections to finish what they have in flight.
    static let drainTimeout: Duration = .seconds(10)

    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    public func run() async throws {
        let path = address.socketPath
        var channels: [any Channel] = []
        if address.inheritedUnix.isEmpty {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            channels.append(try await bootstrap().bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get())
            try SocketFile.setPermissions(path: path, mode: address.socketMode, group: address.socketGroup)
            logger.info("\(name) socket listening", metadata: ["path": "\(path)", "mode": "\(String(address.socketMode, radix: 8))"])
        }
        for fd in address.inheritedUnix + address.inheritedTCP {
            channels.append(try await bootstrap().withBoundSocket(fd).get())
            logger.info("\(name) socket handed over", metadata: ["fd": "\(fd)", "address": "\(SocketActivation.bound(fd))"])
        }
        if let tcp = address.tcp, address.inheritedTCP.isEmpty {
            channels.append(try await bootstrap().bind(host: tcp.host, port: tcp.port).get())
            logger.info("\(name) TCP listening", metadata: ["address": "\(tcp.host):\(tcp.port)"])
        }
        ready()
        try? await gracefulShutdown()
        // Stop accepting. A handed-over socket stays open in its holder, and new connections wait
        // in its backlog for the next process.
        for channel in channels { try? await channel.close() }
        await drain()
        if address.inheritedUnix.isEmpty { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Lets every open connection answer what it has in flight, then closes what is left.
    private func drain() async {
        let open = connections.withLock { Array($0.values) }
        guard !open.isEmpty else { return }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(Drain()) }
        let closed = EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: open[0].eventLoop)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await closed.get() }
            group.addTask { try? await Task.sleep(for: Self.drainTimeout) }
            await group.next()
            group.cancelAll()
        }
        let left = connections.withLock { Array($0.values) }
        if !left.isEmpty { logger.warning("\(name): \(left.count) connection(s) still busy after \(Self.drainTimeout); closed") }
        for channel in left { try? await channel.close() }
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = connections.withLock { $0.removeValue(forKey: id) } }
    }

    private func bootstrap() -> ServerBootstrap {
        // (Several loops accepting from one listening socket would wake each other for every
        // connection, and NIO asserts that a readable socket has something to read.)
        let loop = group.next()
        return (connectionsOnAcceptingLoop ? ServerBootstrap(group: loop, childGroup: loop) : ServerBootstrap(group: group))
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                track(channel)
                return initializer(channel)
            }
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
