import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import PosternAuth
import PosternStore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// posternd: opens the store, loads the index, and runs the auth listener, the control API and the
/// last-use flusher until SIGTERM or SIGINT.
public enum Daemon {
    public static func run(config: DaemonConfig) async throws {
        var logger = Logger(label: "posternd")
        logger.logLevel = config.logLevel
        let started = ContinuousClock.now

        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let store = try Store(path: config.databasePath)
        let key = try ServerKey.loadOrCreate(at: config.serverKeyPath)
        let index = CredentialIndex()
        let lastUse = LastUseRecorder()
        let hooks = RevocationHooks(settings: config.revocation, store: store, logger: logger)
        let plane = ControlPlane(store: store, key: key, index: index, lastUse: lastUse, hooks: hooks, logger: logger)
        if store.isNew, let seeds = config.seedsDirectory {
            try Seeds.load(directory: seeds, into: plane, logger: logger)
        }
        let loaded = try plane.loadIndex()
        logger.info("index loaded", metadata: [
            "devicePasswords": "\(loaded.devices)", "genericPasswords": "\(loaded.generic)",
            "took": "\(ContinuousClock.now - started)",
        ])

        let hashPool = NIOThreadPool(numberOfThreads: config.hashThreads)
        hashPool.start()
        let check = PasswordCheck(key: key, index: index, lastUse: lastUse, threadPool: hashPool,
                                  throttle: Throttle(policy: config.throttle))
        // Sockets handed over by systemd (postern.socket) are used as they are; the others are bound here.
        var activation = SocketActivation.fromEnvironment()
        var authAddress = ListenAddress(socketPath: config.authSocket, socketMode: config.authSocketMode,
                                        socketGroup: config.authSocketGroup, tcp: config.authTCP)
        authAddress.inheritedUnix = activation.take(unixPath: config.authSocket)
        authAddress.inheritedTCP = config.authTCP.map { activation.take(tcp: $0) } ?? []
        let auth = AuthListener.frontDoor(check: check, address: authAddress,
            group: config.authEventLoops == 0 ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: config.authEventLoops),
            logger: logger)

        var frontDoors: [any Service] = [auth]
        if let socket = config.saslauthdSocket {
            var address = ListenAddress(socketPath: socket, socketMode: config.saslauthdSocketMode, socketGroup: config.saslauthdSocketGroup)
            address.inheritedUnix = activation.take(unixPath: socket)
            frontDoors.append(SaslauthdListener.frontDoor(check: check, address: address, logger: logger))
        }
        activation.closeUnclaimed(logger: logger)
        if let address = config.authHTTPListen {
            let mainLogger = logger
            var httpLogger = Logger(label: "posternd.auth_http")
            httpLogger.logLevel = config.logLevel > .info ? config.logLevel : .notice
            frontDoors.append(Application(
                router: NginxAuthHTTP.router(check: check, backends: config.backends, logger: logger),
                configuration: .init(address: address, serverName: "posternd"),
                onServerRunning: { _ in mainLogger.info("auth_http listening", metadata: ["address": "\(address)"]) },
                logger: httpLogger))
        }

        try FileManager.default.createDirectory(atPath: (config.controlSocket as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let controlSocket = config.controlSocket
        let controlMode = config.controlSocketMode
        let controlGroup = config.controlSocketGroup
        let controlLogger = logger
        var appLogger = Logger(label: "posternd.control")
        appLogger.logLevel = config.logLevel > .info ? config.logLevel : .notice
        let app = Application(
            router: ControlAPI.router(plane, metrics: metrics, failedLogins: check.failedLogins),
            configuration: .init(address: .unixDomainSocket(path: controlSocket), serverName: "posternd"),
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
        let flusher = LastUseFlusher(plane: plane, check: check, interval: .milliseconds(Int64(config.lastUseFlushSeconds * 1000)))
        let housekeeper = Housekeeper(plane: plane, interval: config.expiryCheck, removeUnusedAfterDays: config.removeUnusedAfterDays, logger: logger)
        // Shutdown runs in reverse: the control API, then the front doors, then the final last-use flush.
        let group = ServiceGroup(configuration: .init(
            services: [flusher, hooks, housekeeper] + frontDoors + [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? FileManager.default.removeItem(atPath: controlSocket)
        try await hashPool.shutdownGracefully()
        logger.info("stopped")
    }
}
