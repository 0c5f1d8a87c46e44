import Foundation
import Logging
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
        var commands = RevocationCommands()
        commands.flush = ["sh", "-c", "echo x >> \(marker); exit 75"]  // spaces inside: set the words directly
        commands.retries = 2
        let hooks = RevocationHooks(commands: commands, store: store, logger: Logger(label: "t"))
        await hooks.handle(.mailbox(address: "alice@example.org"))
        #expect(try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").count == 3)
        let history = try store.read { try $0.history(mailbox: "alice@example.org") }
        #expect(history.map(\.action) == ["revocation.hook_failed"])
        #expect(history.first?.detail.contains("exited 75 after 3 attempt(s)") == true)
    }
}
