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
    /// Open connections at most: at the cap the door stops accepting (new connections wait in
    /// the backlog) and says so once a minute.
    public var maxConnections = 10_000

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
    let logger: Logger
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
    /// How long shutdown waits for the next request of an idle persistent connection, to close
    /// it right after answering (see AuthConnectionHandler). New connections wait in the
    /// backlog meanwhile, when the socket was handed over.
    static let idleGrace: Duration = .seconds(1)

    public func run() async throws {
        let path = address.socketPath
        var channels: [any Channel] = []
        if address.inheritedUnix.isEmpty {
            try SocketFile.ensureDirectory(of: path)
            channels.append(try await bootstrap().bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get())
            try SocketFile.setPermissions(path: path, mode: address.socketMode, group: address.socketGroup)
            logger.info("\(name) socket listening", metadata: ["path": "\(path)", "mode": "\(String(address.socketMode, radix: 8))"])
        }
        listeners.withLock { $0 = channels }
        for fd in address.inheritedUnix + address.inheritedTCP {
            channels.append(try await bootstrap().withBoundSocket(fd).get())
            logger.info("\(name) socket handed over", metadata: ["fd": "\(fd)", "address": "\(SocketActivation.bound(fd))"])
        }
        if let tcp = address.tcp, address.inheritedTCP.isEmpty {
            channels.append(try await bootstrap().bind(host: tcp.host, port: tcp.port).get())
            logger.info("\(name) TCP listening", metadata: ["address": "\(tcp.host):\(tcp.port)"])
        }
        listeners.withLock { $0 = channels }
        ready()
        try? await gracefulShutdown()
        // Stop accepting, but keep the listening channels open until the connections are drained:
        // NIO closes a connection it accepted but had not set up yet when its listener closes,
        // and a new smtpd whose first connection is reset that way dies ("no SASL authentication
        // mechanisms"), which makes Postfix refuse SMTP for 60 s. A handed-over socket stays
        // open in its holder, and new connections wait in its backlog for the next process.
        for channel in channels { try? await channel.setOption(ChannelOptions.autoRead, value: false).get() }
        await drain()
        for channel in channels { try? await channel.close() }
        if address.inheritedUnix.isEmpty { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Lets every open connection answer what it has in flight, then closes what is left. A
    /// connection accepted just before accepting stopped is set up after it: it gets the Drain
    /// when it is tracked, and the wait lasts until every accepted connection has been tracked.
    private func drain() async {
        let deadline = ContinuousClock.now + Self.drainTimeout
        let open = drainState.withLock { state in
            state.draining = true
            return Array(state.open.values)
        }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(Drain()) }
        while ContinuousClock.now < deadline {
            let done = drainState.withLock { $0.open.isEmpty && $0.tracked == accepted.load(ordering: .acquiring) }
            if done { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let left = drainState.withLock { Array($0.open.values) }
        logger.warning("\(name): \(left.count) connection(s) still busy after \(Self.drainTimeout); closed")
        for channel in left { try? await channel.close() }
    }

    private struct DrainState {
        var open: [ObjectIdentifier: any Channel] = [:]
        var tracked = 0
        var draining = false
        /// Accepting stopped at the connection cap.
        var paused = false
    }

    private let drainState = Mutex(DrainState())
    /// Connections accepted, counted on the listening channel before their setup.
    private let accepted = Atomic<Int>(0)

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let draining = drainState.withLock { state in
            state.open[id] = channel
            state.tracked += 1
            return state.draining
        }
        channel.closeFuture.whenComplete { [self] _ in
            let (resume, listening) = drainState.withLock { state -> (Bool, [any Channel]) in
                state.open.removeValue(forKey: id)
                let resume = state.paused && !state.draining && state.open.count < address.maxConnections
                if resume { state.paused = false }
                return (resume, resume ? listeners.withLock { $0 } : [])
            }
            for listener in listening { listener.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            if resume { LogLimiter.shared.log(logger, .notice, kind: "\(name) accepting", "\(name): below \(address.maxConnections) connections again; accepting") }
        }
        if draining { channel.pipeline.fireUserInboundEventTriggered(Drain()) }
    }

    /// Called on the listening channel for each accepted connection: at the cap, stop accepting.
    private func accepted(on listener: any Channel) {
        accepted.add(1, ordering: .releasing)
        let pause = drainState.withLock { state -> Bool in
            // Counted before the connection is set up: accepted but untracked ones count too.
            let open = state.open.count + (accepted.load(ordering: .acquiring) - state.tracked)
            guard open >= address.maxConnections, !state.paused else { return false }
            state.paused = true
            return true
        }
        guard pause else { return }
        for channel in listeners.withLock({ $0 }) { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        LogLimiter.shared.log(logger, .warning, kind: "\(name) at cap", "\(name): \(address.maxConnections) connections open, the configured maximum; new ones wait until some close")
    }

    private let listeners = Mutex<[any Channel]>([])

    /// Sees each accepted connection, and accept errors: at the file-descriptor limit NIO's
    /// AcceptBackoffHandler (before it) pauses accepting a second; this says why, once a minute.
    private final class AcceptCounter: ChannelInboundHandler, Sendable {
        typealias InboundIn = any Channel
        let door: FrontDoor
        init(_ door: FrontDoor) { self.door = door }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            door.accepted(on: context.channel)
            context.fireChannelRead(data)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if let error = error as? IOError, error.errnoCode == EMFILE || error.errnoCode == ENFILE {
                LogLimiter.shared.log(door.logger, .warning, kind: "\(door.name) out of descriptors", "\(door.name): out of file descriptors (\(error)); raise LimitNOFILE or lower maxConnections")
            }
            context.fireErrorCaught(error)
        }
    }

    private func bootstrap() -> ServerBootstrap {
        // (Several loops accepting from one listening socket would wake each other for every
        // connection, and NIO asserts that a readable socket has something to read.)
        let loop = group.next()
        return (connectionsOnAcceptingLoop ? ServerBootstrap(group: loop, childGroup: loop) : ServerBootstrap(group: group))
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                    try channel.pipeline.syncOperations.addHandler(AcceptCounter(self))
                }
            }
            .childChannelInitializer { [self] channel in
                // Tracked once its handlers are in place, so that a Drain sent then reaches them.
                initializer(channel).always { [self] _ in track(channel) }
            }
    }
}

/// Unix socket files: mode and group, so that the mail server's user can connect.
enum SocketFile {
    /// Creates the socket's directory when missing, searchable by all (0755): the mail server's
    /// user must reach the socket, and the socket's own mode says who may connect.
    static func ensureDirectory(of socketPath: String) throws {
        let directory = (socketPath as NSString).deletingLastPathComponent
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
    }

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

extension SocketAddress {
    /// `127.0.0.1:8080`, `[::1]:8080` or a socket's path: as an operator writes it in the config.
    var configText: String {
        switch self {
        case let .v4(address): "\(address.host):\(port ?? 0)"
        case let .v6(address): "[\(address.host)]:\(port ?? 0)"
        case let .unixDomainSocket(address): pathname ?? "\(address)"
        }
    }
}
