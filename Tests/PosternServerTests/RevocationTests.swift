import Foundation
import Logging
import NIOPosix
@testable import PosternControl
@testable import PosternServer
import PosternStore
import Testing

@Suite struct RevocationPlanTests {
    let commands = RevocationCommands(flush: "doveadm auth cache flush {user}", kickDevice: "doveadm kick {user} {ip_net}",
                                      kickAll: "doveadm  kick {user}")

    @Test func aDeviceEventFlushesThenKicksEachIPItWasSeenAt() {
        #expect(commands.plan(.device(address: "alice@example.org", ips: ["192.0.2.7", "2001:db8::1"])) == [
            ["doveadm", "auth", "cache", "flush", "alice@example.org"],
            ["doveadm", "kick", "alice@example.org", "192.0.2.7/32"],
            ["doveadm", "kick", "alice@example.org", "2001:db8::1/128"],
        ])
    }

    @Test func aDeviceNeverSeenOnlyFlushes() {
        #expect(commands.plan(.device(address: "alice@example.org", ips: [])) == [["doveadm", "auth", "cache", "flush", "alice@example.org"]])
    }

    @Test func aMailboxEventKicksEverySession() {
        #expect(commands.plan(.mailbox(address: "alice@example.org")) == [
            ["doveadm", "auth", "cache", "flush", "alice@example.org"],
            ["doveadm", "kick", "alice@example.org"],
        ])
    }

    @Test func noCommandsMeansNothingToRun() {
        #expect(RevocationCommands().isEmpty)
        #expect(RevocationCommands(flush: "  ").plan(.mailbox(address: "a@b.c")).isEmpty)
    }
}

@Suite struct RevocationHookRunTests {
    @Test func exitCodesTimeoutsAndMissingProgramsAreTold() async {
        #expect("\(await RevocationHooks.run(["/bin/true"], timeout: .seconds(5)))" == "exited 0")
        #expect("\(await RevocationHooks.run(["sh", "-c", "exit 68"], timeout: .seconds(5)))" == "exited 68")
        let clock = ContinuousClock()
        let started = clock.now
        #expect("\(await RevocationHooks.run(["sleep", "10"], timeout: .milliseconds(200)))" == "timed out")
        #expect(clock.now - started < .seconds(5))
        #expect("\(await RevocationHooks.run(["/nonexistent/doveadm"], timeout: .seconds(1)))".hasPrefix("could not start"))
    }

    @Test func aFailingHookIsRetriedThenWrittenToTheHistory() async throws {
        let dir = NSTemporaryDirectory() + "postern-hooks-\(UUID().uuidString)"
        let store = try Store(path: dir + "/db.sqlite")
        let marker = dir + "/attempts"
        var settings = RevocationSettings()
        settings.commands.flush = ["sh", "-c", "echo x >> \(marker); exit 75"]  // spaces inside: set the words directly
        settings.retries = 2
        let hooks = RevocationHooks(settings: settings, store: store, logger: Logger(label: "t"))
        await hooks.handle(.mailbox(address: "alice@example.org"))
        #expect(try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").count == 3)
        let history = try await store.read { try await $0.history(mailbox: "alice@example.org") }
        #expect(history.map(\.action) == ["revocation.hook_failed"])
        #expect(history.first?.detail.contains("exited 75 after 3 attempt(s)") == true)
    }
}

@Suite struct DoveadmHTTPTests {
    func json(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func oneCommandPerRequestAsPROTOCOLSShowsIt() {
        #expect(json(DoveadmHTTP.body(.flushCache(user: "alice@example.org"), tag: "tag2")) == #"[["authCacheFlush",{"user":["alice@example.org"]},"tag2"]]"#)
        #expect(json(DoveadmHTTP.body(.kick(user: "alice@example.org", ip: nil), tag: "tag1")) == #"[["kick",{"mask":["alice@example.org"]},"tag1"]]"#)
        #expect(json(DoveadmHTTP.body(.kick(user: "alice@example.org", ip: "2001:db8::1"), tag: "t")) == #"[["kick",{"mask":["alice@example.org","2001:db8::1\/128"]},"t"]]"#)
    }

    @Test func theKeyIsSentBase64Encoded() {
        #expect(DoveadmHTTP(url: "http://127.0.0.1:1/doveadm/v1", apiKey: "s3cret").authorization == "X-Dovecot-API czNjcmV0")
    }

    @Test(arguments: [
        (200, #"[["doveadmResponse",[{"entries":"1"}],"tag2"]]"#, DoveadmHTTP.Answer.done("1 cache entries flushed")),
        (200, #"[["doveadmResponse",[{"result":"alice@example.org"}],"tag2"]]"#, .done("done")),
        (200, #"[["error",{"type":"exitCode", "exitCode":68},"tag2"]]"#, .done("no session matched")),
        (200, #"[["error",{"type":"exitCode", "exitCode":75},"tag2"]]"#, .failed("exit code 75")),
        (200, #"[["error",{"type":"unknownCommand"},"tag2"]]"#, .failed("error unknownCommand")),
        (200, #"[["doveadmResponse",[],"other"]]"#, .failed(#"not a doveadm answer: [["doveadmResponse",[],"other"]]"#)),
        (200, "garbage", .failed("not a doveadm answer: garbage")),
        (401, "", .failed("HTTP 401: doveadm refused the API key (doveadm_api_key)")),
        (500, "", .failed("HTTP 500")),
    ])
    func answersAreReadAsDovecotWritesThem(status: Int, body: String, expected: DoveadmHTTP.Answer) {
        #expect(DoveadmHTTP.decode(status: status, body: Array(body.utf8), tag: "tag2") == expected)
    }

    @Test func theHTTPWayTakesPrecedenceAndTimesOutLikeACommand() async throws {
        // A listener that accepts and never answers: each attempt times out, then the history says so.
        let dir = NSTemporaryDirectory() + "postern-http-\(UUID().uuidString)"
        let store = try Store(path: dir + "/db.sqlite")
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        var settings = RevocationSettings(doveadmHTTP: DoveadmHTTP(url: "http://127.0.0.1:\(server.localAddress!.port!)/doveadm/v1", apiKey: "k"))
        settings.timeout = .milliseconds(200)
        settings.retries = 1
        let hooks = RevocationHooks(settings: settings, store: store, logger: Logger(label: "t"))
        #expect(hooks.steps(.device(address: "a@example.org", ips: ["192.0.2.1"])).map(\.what) ==
                ["doveadm HTTP auth cache flush a@example.org", "doveadm HTTP kick a@example.org 192.0.2.1/32"])
        await hooks.handle(.mailbox(address: "a@example.org"))
        let history = try await store.read { try await $0.history(mailbox: "a@example.org") }
        #expect(history.map(\.detail).sorted() == ["doveadm HTTP auth cache flush a@example.org timed out after 2 attempt(s)",
                                                    "doveadm HTTP kick a@example.org timed out after 2 attempt(s)"])
        try await server.close()
    }
}
