#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix
@testable import PosternStore
import Testing

/// Connections to PostgreSQL that cannot hang silently: TCP keepalives and a user timeout on the
/// socket, and a deadline on the whole connection attempt.
@Suite struct PostgresConnectorTests {
    /// A TCP listener on loopback that accepts and never says a word (a frozen server or proxy).
    final class SilentServer {
        let channel: any Channel
        var port: Int { channel.localAddress!.port! }

        init() throws {
            channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { child in child.eventLoop.makeSucceededVoidFuture() }
                .bind(host: "127.0.0.1", port: 0).wait()
        }

        deinit { try? channel.close().wait() }
    }

    func settings(port: Int, timeout: Duration) -> PostgresSettings {
        var settings = PostgresSettings(host: "127.0.0.1", port: port, socketDirectory: nil, user: "postern", password: nil, database: "postern")
        settings.timeout = timeout
        return settings
    }

    @Test func tcpConnectionsProbeTheirPeerAndGiveUpOnUnacknowledgedData() throws {
        let server = try SilentServer()
        let settings = settings(port: server.port, timeout: .seconds(5))
        let channel = try PostgresConnector.tcpChannel(settings, on: MultiThreadedEventLoopGroup.singleton.any()).wait()
        defer { try? channel.close().wait() }
        let tcp = SocketOptionLevel(IPPROTO_TCP)
        #expect(try channel.getOption(.socketOption(.so_keepalive)).wait() == 1)
        #expect(try channel.getOption(.socket(tcp, SocketOptionName(TCP_KEEPIDLE))).wait() == 1)
        #expect(try channel.getOption(.socket(tcp, SocketOptionName(TCP_KEEPINTVL))).wait() == 1)
        #expect(try channel.getOption(.socket(tcp, SocketOptionName(TCP_KEEPCNT))).wait() == 4)
        #expect(try channel.getOption(.socket(tcp, SocketOptionName(TCP_USER_TIMEOUT))).wait() == 5000)
    }

    @Test func aServerThatAcceptsAndSaysNothingIsGivenUpAtTheDeadline() async throws {
        let server = try SilentServer()
        let started = ContinuousClock.now
        await #expect(throws: StoreError.self) { try await PostgresConnector.connect(settings(port: server.port, timeout: .seconds(1))) }
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(900) && took < .seconds(10), "gave up after \(took)")
    }
}
