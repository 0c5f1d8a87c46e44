import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import PosternAuth
import PosternControl
import PosternCore
import PosternStore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// posternd: opens the store, loads the index, and runs the auth listener, the control API and the
/// last-use flusher until SIGTERM or SIGINT.
/// A reason posternd does not start, with what to do about it.
public enum StartupError: Error, CustomStringConvertible {
    case missingServerKey(path: String, devicePasswords: Int)

    public var exitCode: Int32 { 78 }  // EX_CONFIG

    public var description: String {
        switch self {
        case let .missingServerKey(path, count):
            "the server key \(path) is missing, but the database holds \(count) device password(s) taken under it: restore the key "
                + "(postern restore, or from your backup); a new key would make every one of them fail"
        }
    }
}

public enum Daemon {
    /// The Sieve writer when scripts are written; sievec must be there to check them.
    static func sieveWriter(_ settings: SieveSettings) throws -> SieveWriter? {
        guard settings.scriptPath != nil else { return nil }
        guard FileManager.default.isExecutableFile(atPath: settings.sievec) else {
            throw ConfigError.invalid(key: "sieve.sievec", message: "\(settings.sievec) is not there: install Pigeonhole (apt install dovecot-sieve), or set the path")
        }
        return SieveWriter(settings: settings)
    }

    public static func run(config: DaemonConfig) async throws {
        var logger = Logger(label: "posternd")
        logger.logLevel = config.logLevel
        let started = ContinuousClock.now

        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        // Files posternd creates (the database, its -wal and -shm, backups) are its own, 0600 or
        // 0640, whatever the umask it was started with; sockets get their configured modes.
        umask(0o027)
        raiseFileLimit(logger: logger)
        let store = try await Store.open(url: config.databaseURL ?? "sqlite:" + config.databasePath, timeout: config.databaseTimeout,
                              poolSize: config.databasePoolSize)
        defer { store.shutdown() }
        if !FileManager.default.fileExists(atPath: config.serverKeyPath) {
            let digests = try await store.read { try await $0.devicePasswordCount() }
            // A new key would make every stored device password fail while health says ok.
            guard digests == 0 else { throw StartupError.missingServerKey(path: config.serverKeyPath, devicePasswords: digests) }
        }
        let key = try ServerKey.loadOrCreate(at: config.serverKeyPath)
        let index = CredentialIndex()
        let lastUse = LastUseRecorder()
        let hooks = RevocationHooks(settings: config.revocation, store: store, logger: logger)
        let freshness = Freshness()
        let feed = ChangeFeed(node: config.nodeName, freshness: freshness, maxLag: config.maxLag)
        // Failed sign-ins and re-confirmations: in memory on SQLite, shared by every node on PostgreSQL.
        let lockouts = Lockouts.on(store, signInPolicy: config.throttle)
        let plane = Planes(store: store, key: key, index: index, lastUse: lastUse, hooks: hooks,
                                 maxDevicesPerMailbox: config.maxDevicesPerMailbox,
                                 mailFrom: config.notify.command.isEmpty && config.notify.smtp == nil ? nil : config.notify.from,
                                 routing: RoutingIndex(RoutingTable(mailboxPath: config.mailboxPath, delimiter: config.recipientDelimiter)),
                                 sieve: try sieveWriter(config.sieve), folderCommand: config.folderCommand,
                                 feed: feed, confirmations: lockouts.confirmations, logger: logger)
        if store.isNew, let seeds = config.seedsDirectory {
            try await Seeds.load(directory: seeds, into: plane, logger: logger)
        }
        let loaded = try await plane.node.loadIndex()
        // An earlier version kept imported {PLAIN} passwords in clear text: hashed once, here.
        do { try await plane.imports.hashStoredClearText() } catch {
            logger.warning("clear-text generic passwords could not be hashed at start; they still log in, and the next start tries again",
                           metadata: ["why": "\(error)"])
        }
        let routes = try await plane.node.loadRouting()
        // What other nodes changed while the indexes loaded, before any login is answered.
        if store.kind == .postgres { try await plane.node.catchUp() }
        logger.info("index loaded", metadata: [
            "devicePasswords": "\(loaded.devices)", "genericPasswords": "\(loaded.generic)",
            "mailboxes": "\(routes.mailboxes)", "aliases": "\(routes.aliases)", "redirections": "\(routes.redirects)",
            "took": "\(ContinuousClock.now - started)",
        ])

        let hashPool = NIOThreadPool(numberOfThreads: config.hashThreads)
        hashPool.start()
        let check = PasswordCheck(key: key, index: index, lastUse: lastUse, threadPool: hashPool,
                                  throttle: Throttle(policy: config.throttle), freshness: freshness)
        // Sockets handed over by systemd (postern.socket) are used as they are; the others are bound here.
        var activation = SocketActivation.fromEnvironment()
        var authAddress = ListenAddress(socketPath: config.authSocket, socketMode: config.authSocketMode,
                                        socketGroup: config.authSocketGroup, tcp: config.authTCP)
        authAddress.inheritedUnix = activation.take(unixPath: config.authSocket)
        authAddress.inheritedTCP = config.authTCP.map { activation.take(tcp: $0) } ?? []
        authAddress.maxConnections = config.authMaxConnections
        let auth = AuthListener.frontDoor(check: check, address: authAddress,
            group: config.authEventLoops == 0 ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: config.authEventLoops),
            logger: logger)

        var frontDoors: [any Service] = [auth]
        if let socket = config.saslauthdSocket {
            var address = ListenAddress(socketPath: socket, socketMode: config.saslauthdSocketMode, socketGroup: config.saslauthdSocketGroup)
            address.inheritedUnix = activation.take(unixPath: socket)
            address.maxConnections = config.saslauthdMaxConnections
            frontDoors.append(SaslauthdListener.frontDoor(check: check, address: address, logger: logger))
        }
        if let socket = config.socketmapSocket {
            var address = ListenAddress(socketPath: socket, socketMode: config.socketmapSocketMode, socketGroup: config.socketmapSocketGroup)
            address.inheritedUnix = activation.take(unixPath: socket)
            address.maxConnections = config.socketmapMaxConnections
            frontDoors.append(SocketmapListener.frontDoor(routing: plane.routingIndex, address: address, logger: logger))
        }
        activation.closeUnclaimed(logger: logger)
        if let address = config.authHTTPListen {
            let mainLogger = logger
            var httpLogger = Logger(label: "posternd.auth_http")
            httpLogger.logLevel = config.logLevel > .info ? config.logLevel : .notice
            frontDoors.append(Application(
                router: NginxAuthHTTP.router(check: check, backends: config.backends, logger: logger),
                server: config.authHTTPLimits.server(bodyLimit: NginxAuthHTTP.maxBodyBytes),
                configuration: config.authHTTPLimits.configuration(address: address, name: "auth_http", logger: logger),
                onServerRunning: { channel in mainLogger.info("auth_http listening", metadata: ["address": "\(channel.localAddress?.configText ?? "\(address)")"]) },
                logger: httpLogger))
        }

        try SocketFile.ensureDirectory(of: config.controlSocket)
        let controlSocket = config.controlSocket
        let controlMode = config.controlSocketMode
        let controlGroup = config.controlSocketGroup
        let controlLogger = logger
        var appLogger = Logger(label: "posternd.control")
        appLogger.logLevel = config.logLevel > .info ? config.logLevel : .notice
        let imports = ImportGate()
        let signIns = lockouts.signIns
        let app = Application(
            router: ControlAPI.router(plane, metrics: metrics, failedLogins: check.failedLogins, serverKeyPath: config.serverKeyPath,
                                      imports: imports,
                                      authenticator: PeerAuthenticator(identity: ControlIdentity(users: config.controlUsers), store: store),
                                      signIns: signIns),
            server: config.controlLimits.server(bodyLimit: ControlContext.maxJSONBytes, streamedPaths: ControlAPI.streamedPaths),
            configuration: config.controlLimits.configuration(address: .unixDomainSocket(path: controlSocket), name: "control", logger: logger),
            onServerRunning: { _ in
                do {
                    try SocketFile.setPermissions(path: controlSocket, mode: controlMode, group: controlGroup)
                    controlLogger.info("control socket listening", metadata: ["path": "\(controlSocket)", "mode": "\(String(controlMode, radix: 8))"])
                } catch {
                    controlLogger.error("\(error)")
                }
            },
            logger: appLogger
        )
        // The TCP control listener takes only API tokens and sessions; it shares imports and sign-in throttling.
        var controlTCP: [any Service] = []
        if let (host, port) = config.controlListen {
            let tcpLogger = logger
            controlTCP.append(Application(
                router: ControlAPI.router(plane, metrics: metrics, failedLogins: check.failedLogins, serverKeyPath: config.serverKeyPath,
                                          imports: imports, authenticator: BearerAuthenticator(plane: plane), signIns: signIns),
                server: config.controlLimits.server(bodyLimit: ControlContext.maxJSONBytes, streamedPaths: ControlAPI.streamedPaths),
                configuration: config.controlLimits.configuration(address: .hostname(host, port: port), name: "control (TCP)", logger: logger),
                onServerRunning: { channel in
                    tcpLogger.info("control listening on TCP (API tokens only)", metadata: ["address": "\(channel.localAddress?.configText ?? "\(host):\(port)")"])
                },
                logger: appLogger))
        }
        if let (host, port) = config.web.listen {
            let webLogger = logger
            controlTCP.append(Application(
                router: try await WebManager.router(plane, settings: config.web, signIns: signIns),
                server: config.controlLimits.server(bodyLimit: ControlContext.maxJSONBytes, streamedPaths: ControlAPI.streamedPaths),
                configuration: config.controlLimits.configuration(address: .hostname(host, port: port), name: "web", logger: logger),
                onServerRunning: { _ in webLogger.info("web manager listening", metadata: ["url": "http://\(host):\(port)/"]) },
                logger: appLogger))
        }
        let flusher = LastUseFlusher(plane: plane, check: check, interval: .milliseconds(Int64(config.lastUseFlushSeconds * 1000)))
        let notifier = Notifier(store: store, settings: config.notify, logger: logger)
        let housekeeper = Housekeeper(plane: plane, interval: config.expiryCheck, removeUnusedAfterDays: config.removeUnusedAfterDays, logger: logger)
        // Shutdown runs in reverse: a running import stops at its next batch, then the control API
        // ends, then the front doors, then the final last-use flush.
        let feedService: [any Service] = store.kind == .postgres ? [ChangeFeedService(plane: plane, poll: config.feedPoll, logger: logger)] : []
        plane.outbox.degrade(after: Double(config.outboxDegradedAfter.components.seconds))
        let outboxWorker = OutboxWorker(outbox: plane.outbox, logger: logger)
        let services: [any Service] = [flusher, hooks, housekeeper, notifier, outboxWorker] + feedService + frontDoors + controlTCP + [app, ImportGateService(gate: imports)]
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? FileManager.default.removeItem(atPath: controlSocket)
        try await hashPool.shutdownGracefully()
        logger.info("stopped")
    }
}

/// Raises the soft limit of open files to the hard one: each client connection is a descriptor.
func raiseFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let before = limit.rlim_cur
    limit.rlim_cur = limit.rlim_max
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
        logger.debug("open-file limit raised", metadata: ["from": "\(before)", "to": "\(limit.rlim_max)"])
    }
}
