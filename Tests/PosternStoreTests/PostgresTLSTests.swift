import Foundation
import PosternCore
@testable import PosternStore
import Testing

/// TLS to PostgreSQL, as libpq's `sslmode=` and `sslrootcert=` ask for it, against the test server's
/// TCP port: `ssl=on` with a certificate for db.postern.test, and no clear-text connection allowed
/// (so a store that opens and writes there used TLS, for its first connection and its pool).
@Suite struct PostgresTLSTests {
    static func server() throws -> TestPostgres { try TestPostgres.shared.get() }

    /// A new database on the test server, reached over TCP with `parameters`.
    static func url(host: String, _ parameters: String) async throws -> String {
        let server = try server()
        let fresh = try await TestPostgres.freshURL()
        let name = String(fresh.split(separator: "/")[2].split(separator: "?")[0])
        return server.tcpURL(host: host, database: name, parameters)
    }

    /// Opens the store and proves it works: a write and a read, on the pool's connections.
    static func openAndUse(_ url: String) async throws {
        let store = try await Store.open(url: url, timeout: .seconds(5))
        _ = try await store.write { db in
            _ = try await db.createOrganization("Example Ltd")
            _ = try await db.createMailService(name: "example", organization: "Example Ltd", domains: ["example.org"])
            return try await db.createMailbox(try MailAddress("alice@example.org"))
        }
        let seen = try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), domain: "example.org", page: .first()).items }
        #expect(seen.map(\.mailbox.address.description) == ["alice@example.org"])
    }

    static func refusal(_ url: String) async -> String {
        do {
            _ = try await Store.open(url: url, timeout: .seconds(5))
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    @Test func verifyFullWithTheCertificatesNameConnects() async throws {
        let ca = try Self.server().tlsDirectory + "/ca.crt"
        try await Self.openAndUse(try await Self.url(host: "db.postern.test", "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=\(ca)"))
    }

    @Test func verifyFullWithAnotherHostNameIsRefusedSayingWhy() async throws {
        let ca = try Self.server().tlsDirectory + "/ca.crt"
        let why = await Self.refusal(try await Self.url(host: "localhost", "sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(why.contains("the server's certificate is not made out to localhost") && why.contains("verify-full"), "\(why)")
        #expect(why.contains("database.url") || why.contains("postgres://postgres@localhost"), "it names the connection: \(why)")
    }

    @Test func verifyCAChecksTheAuthorityButNotTheName() async throws {
        let server = try Self.server()
        try await Self.openAndUse(try await Self.url(host: "localhost", "sslmode=verify-ca&sslrootcert=\(server.tlsDirectory)/ca.crt"))
        let why = await Self.refusal(try await Self.url(host: "localhost", "sslmode=verify-ca&sslrootcert=\(server.tlsDirectory)/other-ca.crt"))
        #expect(why.contains("not signed by sslrootcert=\(server.tlsDirectory)/other-ca.crt"), "\(why)")
        // A root certificate with require checks the authority, as libpq does.
        let required = await Self.refusal(try await Self.url(host: "localhost", "sslmode=require&sslrootcert=\(server.tlsDirectory)/other-ca.crt"))
        #expect(required.contains("not signed by"), "\(required)")
    }

    @Test func requireAndPreferEncryptWithoutCheckingAndDisableIsRefusedByTheServer() async throws {
        try await Self.openAndUse(try await Self.url(host: "localhost", "sslmode=require"))
        try await Self.openAndUse(try await Self.url(host: "127.0.0.1", "sslmode=prefer"))
        // libpq's default is prefer: a URL without sslmode encrypts when the server offers it.
        try await Self.openAndUse(try await Self.url(host: "localhost", "port=\(try Self.server().port)"))
        let clear = await Self.refusal(try await Self.url(host: "localhost", "sslmode=disable"))
        #expect(clear.contains("no encryption"), "pg_hba's hostnossl reject: \(clear)")
    }

    @Test func aRootCertificateThatCannotBeReadIsRefusedBeforeConnecting() async throws {
        let missing = await Self.refusal(try await Self.url(host: "localhost", "sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt"))
        #expect(missing.contains("sslrootcert=/nonexistent/ca.crt is not a readable file"), "\(missing)")
        let notPEM = NSTemporaryDirectory() + "postern-not-a-cert-\(UUID().uuidString)"
        try "hello\n".write(toFile: notPEM, atomically: false, encoding: .utf8)
        defer { unlink(notPEM) }
        let garbage = await Self.refusal(try await Self.url(host: "localhost", "sslmode=verify-ca&sslrootcert=\(notPEM)"))
        #expect(garbage.contains("holds no PEM certificate"), "\(garbage)")
    }

    @Test func theURLsTLSParametersAreReadAsLibpqReadsThem() throws {
        func settings(_ text: String) throws -> PostgresSettings {
            guard case let .postgres(settings) = try DatabaseURL(text) else { throw TestPostgresError.failed("not postgres: \(text)") }
            return settings
        }
        #expect(try settings("postgres://u@db/mail").tls == PostgresTLS(mode: .prefer))
        for mode in PostgresTLS.Mode.allCases {
            #expect(try settings("postgres://u@db/mail?sslmode=\(mode.rawValue)").tls.mode == mode)
        }
        let full = try settings("postgres://u:hunter2@db.example.net/mail?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&hostaddr=10.0.0.5&port=6432")
        #expect(full.tls == PostgresTLS(mode: .verifyFull, rootCertificate: "/etc/ssl/ca.pem"))
        #expect(full.host == "db.example.net" && full.hostAddress == "10.0.0.5" && full.port == 6432)
        #expect(full.connectHost == "10.0.0.5" && full.tlsServerName == "db.example.net")
        #expect(full.display == "postgres://u@db.example.net:6432/mail?hostaddr=10.0.0.5&sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem")
        // An address as the host is checked against the certificate's IP entries, never sent as a name.
        #expect(try settings("postgres://u@127.0.0.1/mail?sslmode=verify-full").tlsServerName == nil)
        // sslrootcert without sslmode: verify-ca (the certificate is checked as soon as one is named).
        #expect(try settings("postgres://u@db/mail?sslrootcert=/ca.pem").tls == PostgresTLS(mode: .verifyCA, rootCertificate: "/ca.pem"))
        let bad: [(String, String)] = [
            ("postgres://u:hunter2@db/mail?sslmode=allow", "for allow, use prefer"),
            ("postgres://u:hunter2@db/mail?sslmode=verify", "is not one of disable, prefer, require, verify-ca, verify-full"),
            ("postgres://u:hunter2@db/mail?sslmode=disable&sslrootcert=/ca.pem", "sslrootcert= is checked only with"),
            ("postgres://u:hunter2@db/mail?sslrootcert=", "needs a PEM file's path"),
            ("postgres://u:hunter2@db/mail?sslcert=/c.pem", "sslcert= is not one Postern reads"),
            ("postgres://u:hunter2@db/mail?hostaddr=db2", "hostaddr=db2 is not an IP address"),
            ("postgres://u:hunter2@db/mail?port=99999", "port=99999 is not a port number"),
        ]
        for (url, why) in bad {
            #expect { try DatabaseURL(url) } throws: { "\($0)".contains(why) && !"\($0)".contains("hunter2") && "\($0)".contains("database.url") }
        }
    }
}
