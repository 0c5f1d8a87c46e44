import Foundation
@testable import PosternControl
@testable import PosternServer
import Testing

@Suite struct ConfigTests {
    func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "postern-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theShippedConfigParsesAndMatchesTheDefaults() async throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../conf/postern.yaml").path
        let c = try await DaemonConfig.load(file: shipped, environment: [:])
        let d = DaemonConfig()
        #expect(c.databasePath == d.databasePath && c.authSocket == d.authSocket && c.controlSocket == d.controlSocket)
        #expect(c.authSocketMode == d.authSocketMode && c.lastUseFlushSeconds == d.lastUseFlushSeconds && c.hashThreads == d.hashThreads)
        #expect(c.authTCP == nil)
        #expect(c.throttle == d.throttle)
        #expect(c.saslauthdSocket == d.saslauthdSocket)
        #expect(c.revocation == d.revocation && c.revocation.isEmpty)
        #expect(c.socketmapSocket == d.socketmapSocket && c.mailboxPath == d.mailboxPath && c.recipientDelimiter == d.recipientDelimiter)
    }

    @Test func theSocketmapAndItsRoutingSettings() async throws {
        let c = try await DaemonConfig.load(file: file("""
            socketmap:
              socket: /run/postern/socketmap.sock
              socketMode: "0666"
              maxConnections: 50
            routing:
              mailboxPath: /var/vmail/%d/%n/Maildir/
              recipientDelimiter: "-"
            """), environment: [:])
        #expect(c.socketmapSocket == "/run/postern/socketmap.sock" && c.socketmapSocketMode == 0o666 && c.socketmapMaxConnections == 50)
        #expect(c.mailboxPath == "/var/vmail/%d/%n/Maildir/" && c.recipientDelimiter == "-")
        let off = try await DaemonConfig.load(file: nil, environment: ["POSTERN_SOCKETMAP_SOCKET": "", "POSTERN_ROUTING_RECIPIENT_DELIMITER": ""])
        #expect(off.socketmapSocket == nil && off.recipientDelimiter == nil)
        for bad in ["routing:\n  recipientDelimiter: \"++\"\n", "routing:\n  recipientDelimiter: \"@\"\n", "routing:\n  mailboxPath: \"a,b\"\n"] {
            await #expect(throws: ConfigError.self, "\(bad)") { _ = try await DaemonConfig.load(file: try file(bad), environment: [:]) }
        }
    }

    @Test func controlUsersAndTheTCPListenerAndMail() async throws {
        let c = try await DaemonConfig.load(file: file("""
            control:
              users: ["1001=alice@Example.org", " 1002 = adam@example.com "]
              listen: 8426
            notify:
              sendmail: /usr/sbin/sendmail -C /etc/postfix-out
              from: postern@mail.example
            """), environment: [:])
        #expect(c.controlUsers == [1001: "alice@example.org", 1002: "adam@example.com"])
        #expect(c.controlListen?.host == "127.0.0.1" && c.controlListen?.port == 8426, "a bare port is on loopback")
        #expect(c.notify.command == ["/usr/sbin/sendmail", "-C", "/etc/postfix-out"] && c.notify.from == "postern@mail.example")
        for bad in ["[\"0=root@example.org\"]", "[\"alice\"]", "[\"x=alice@example.org\"]"] {
            await #expect(throws: ConfigError.self) {
                _ = try await DaemonConfig.load(file: try file("control:\n  users: \(bad)\n"), environment: [:])
            }
        }
        let mapped = try await DaemonConfig.load(file: file("control:\n  users: {1001: alice@example.org, 1003: \"eve@example.org\"}\n"), environment: [:])
        #expect(mapped.controlUsers == [1001: "alice@example.org", 1003: "eve@example.org"], "the {uid: login} form of the issue")
        await #expect(throws: ConfigError.self) {
            _ = try await DaemonConfig.load(file: try file("control:\n  users: {root: alice@example.org}\n"), environment: [:])
        }
        let env = try await DaemonConfig.load(file: nil, environment: ["POSTERN_CONTROL_USERS": "1001=a@example.org,1002=b@example.org",
                                                                         "POSTERN_NOTIFY_SENDMAIL": ""])
        #expect(env.controlUsers.count == 2 && env.notify.command.isEmpty)
    }

    @Test func theDoveadmHTTPAPIIsReadWithItsKeyFromAFile() async throws {
        let key = try file("  s3cret-key\n")
        let c = try await DaemonConfig.load(file: nil, environment: [
            "POSTERN_REVOCATION_DOVEADM_HTTP_URL": "http://127.0.0.1:8080/doveadm/v1", "POSTERN_REVOCATION_DOVEADM_HTTP_API_KEY_FILE": key,
        ])
        #expect(c.revocation.doveadmHTTP == DoveadmHTTP(url: "http://127.0.0.1:8080/doveadm/v1", apiKey: "s3cret-key"))
    }

    @Test func environmentVariablesOverrideTheFile() async throws {
        let path = try file("auth:\n  socket: /from/file.sock\n  socketMode: \"0600\"\nlastUse:\n  flushSeconds: 2\n")
        let c = try await DaemonConfig.load(file: path, environment: [
            "POSTERN_AUTH_SOCKET": "/from/env.sock", "POSTERN_AUTH_TCP": "127.0.0.1:12345", "POSTERN_LOG_LEVEL": "debug",
        ])
        #expect(c.authSocket == "/from/env.sock")
        #expect(c.authSocketMode == 0o600)
        #expect(c.lastUseFlushSeconds == 2)
        #expect(c.authTCP?.host == "127.0.0.1" && c.authTCP?.port == 12345)
        #expect(c.logLevel == .debug)
    }

    @Test(arguments: [
        ("POSTERN_AUTH_SOCKET_MODE", "rw-rw----", "auth.socketMode"),
        ("POSTERN_AUTH_TCP", "localhost", "auth.tcp"),
        ("POSTERN_AUTH_HTTP_LISTEN", "nowhere", "authHTTP.listen"),
        ("POSTERN_AUTH_HTTP_IMAP_BACKEND", "127.0.0.1:99999", "authHTTP.imapBackend"),
        ("POSTERN_LAST_USE_FLUSH_SECONDS", "soon", "lastUse.flushSeconds"),
        ("POSTERN_AUTH_HASH_THREADS", "0", "auth.hashThreads"),
        ("POSTERN_LOG_LEVEL", "loud", "log.level"),
        ("POSTERN_THROTTLE_MAX_DELAY_SECONDS", "12", "throttle.maxDelaySeconds"),
        ("POSTERN_REVOCATION_DOVEADM_HTTP_URL", "https://127.0.0.1/doveadm/v1", "revocation.doveadmHTTP.url"),
        ("POSTERN_REVOCATION_DOVEADM_HTTP_URL", "http://127.0.0.1:8080/doveadm/v1", "revocation.doveadmHTTP.apiKey"),
        ("POSTERN_REVOCATION_DOVEADM_HTTP_API_KEY", "k", "revocation.doveadmHTTP.url"),
    ])
    func aBadValueIsAnErrorNamingItsKey(variable: String, value: String, key: String) async throws {
        do {
            _ = try await DaemonConfig.load(file: nil, environment: [variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigError {
            #expect(error.description.contains(key))
        }
    }

    @Test func theHTTPAPIAndTheCommandsAreNotBothSet() async throws {
        await #expect(throws: ConfigError.self) {
            try await DaemonConfig.load(file: nil, environment: [
                "POSTERN_REVOCATION_DOVEADM_HTTP_URL": "http://127.0.0.1:8080/doveadm/v1", "POSTERN_REVOCATION_DOVEADM_HTTP_API_KEY": "k",
                "POSTERN_REVOCATION_FLUSH_COMMAND": "doveadm auth cache flush {user}",
            ])
        }
    }

    @Test func aMissingConfigFileIsAnError() async throws {
        await #expect(throws: ConfigError.self) { try await DaemonConfig.load(file: "/nonexistent/postern.yaml", environment: [:]) }
    }
}
