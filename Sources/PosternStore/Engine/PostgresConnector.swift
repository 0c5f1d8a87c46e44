#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Opens connections to PostgreSQL that cannot hang silently. A server that stops answering
/// without closing (a partition that drops packets, a frozen proxy or host) is caught three ways:
/// TCP keepalives and `TCP_USER_TIMEOUT` on TCP connections (the kernel gives up on a peer that
/// acknowledges nothing), a deadline on the whole connection attempt (TCP, startup and
/// authentication), and a deadline on every statement (`PostgresConnectionAdapter`): past it the
/// connection is closed, so the caller gets an error instead of waiting for ever.
enum PostgresConnector {
    static func connect(_ settings: PostgresSettings) async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls = try settings.connectionTLS()
        } catch let error as StoreOpenError {
            throw error
        } catch {
            throw StoreOpenError.badURL("TLS cannot be set up: \(error)")
        }
        do {
            return try await connection(settings, tls: tls).get()
        } catch {
            let why = PostgresTLS.describe(error, settings) ?? PostgresConnectionAdapter.describe(error)
            throw StoreError.unavailable("cannot connect to \(settings.display): \(why)")
        }
    }

    private static func connection(_ settings: PostgresSettings, tls: PostgresConnection.Configuration.TLS) -> EventLoopFuture<PostgresConnection> {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let id = Int.random(in: 1...Int(Int32.max))
        guard settings.socketDirectory == nil else {
            var configuration = PostgresConnection.Configuration(unixSocketPath: "\(settings.socketDirectory!)/.s.PGSQL.\(settings.port)",
                                                                 username: settings.user, password: settings.password, database: settings.database)
            configuration.options.connectTimeout = TimeAmount(settings.timeout)
            return PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: PostgresSettings.quiet)
        }
        // TCP: the channel is made here, with its keepalive options, then handed to postgres-nio.
        return tcpChannel(settings, on: loop).flatMap { channel in
            var configuration = PostgresConnection.Configuration(establishedChannel: channel, tls: tls, username: settings.user,
                                                                 password: settings.password, database: settings.database)
            configuration.options.connectTimeout = TimeAmount(settings.timeout)
            configuration.options.tlsServerName = settings.tlsServerName
            return PostgresConnection.connect(on: channel.eventLoop, configuration: configuration, id: id, logger: PostgresSettings.quiet)
                // The cause, not the close's own failure (a channel the server already closed).
                .flatMapError { error in channel.close().recover { _ in }.flatMapThrowing { throw error } }
        }
    }

    /// A TCP connection to the server with keepalive probes after one idle second, one a second
    /// after that, and a user timeout: a peer whose kernel stops answering, or stops acknowledging
    /// what is sent, is given up after about `settings.timeout`.
    static func tcpChannel(_ settings: PostgresSettings, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let tcp = SocketOptionLevel(IPPROTO_TCP)
        return ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(settings.timeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.socket(tcp, SocketOptionName(TCP_KEEPIDLE)), value: 1)
            .channelOption(.socket(tcp, SocketOptionName(TCP_KEEPINTVL)), value: 1)
            .channelOption(.socket(tcp, SocketOptionName(TCP_KEEPCNT)), value: keepaliveProbes(settings.timeout))
            .channelOption(.socket(tcp, SocketOptionName(TCP_USER_TIMEOUT)), value: userTimeoutMilliseconds(settings.timeout))
            .connect(host: settings.connectHost, port: settings.port)
    }

    static func keepaliveProbes(_ timeout: Duration) -> Int { Int(max(1, timeout.components.seconds - 1)) }

    static func userTimeoutMilliseconds(_ timeout: Duration) -> Int {
        Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    }
}
