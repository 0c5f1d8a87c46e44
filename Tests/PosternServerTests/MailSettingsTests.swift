import Foundation
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
import Testing

/// Rules, spam filter, responder and sender lists through the control plane: each behind its
/// permission, in the history, and compiled by the real sievec into the mailbox's script, which
/// an invalid result never replaces.
@Suite struct MailSettingsTests {
    struct World {
        let people: PeopleTests.World
        let plane: Planes
        let root: String
        let settings: SieveSettings

        init(sievec: String = "/usr/bin/sievec") async throws {
            people = try await PeopleTests.World()
            root = NSTemporaryDirectory() + "postern-sieve-\(UUID().uuidString.prefix(8))"
            var settings = SieveSettings(scriptPath: root + "/%d/%n/sieve/postern.sieve", activePath: root + "/%d/%n/.dovecot.sieve")
            settings.sievec = sievec
            self.settings = settings
            let base = people.plane
            plane = Planes(store: base.store, key: base.serverKey, index: base.index, lastUse: base.lastUse, routing: base.routingIndex,
                                 sieve: SieveWriter(settings: settings), logger: .init(label: "test"))
            _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: "cole@corp.test", permissions: [.devices, .rules, .responders],
                                    password: nil, actor: .op)
        }

        var script: String? { try? String(contentsOfFile: root + "/example.org/alice/sieve/postern.sieve", encoding: .utf8) }
        var active: String? { try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/example.org/alice/.dovecot.sieve") }
    }

    static let invoices = SortingRule(name: "Invoices", conditions: [Condition(field: .subject, test: .contains, value: "invoice \"2026\"")],
                                      actions: [.fileInto("Finance"), .markRead, .stop])

    @Test func aRuleIsStoredCompiledAndInstalledAndTheActiveLinkPointsAtIt() async throws {
        let world = try await World()
        let cole = world.people["cole@corp.test"]
        let stored = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.invoices], actor: cole)
        #expect(stored.count == 1 && stored[0].id != nil)
        let script = try #require(world.script)
        #expect(script.contains("# Rule: Invoices") && script.contains(#""invoice \"2026\"""#))
        #expect(world.active == world.root + "/example.org/alice/sieve/postern.sieve")
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.root + "/example.org/alice/sieve") == ["postern.sieve"], "no temporary file left")

        var renamed = stored
        renamed[0].name = "Bills"
        renamed.append(SortingRule(name: "Big", enabled: false, conditions: [Condition(field: .size, test: .over, value: "5M")], actions: [.discard]))
        let again = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: renamed, actor: cole)
        #expect(again[0].id == stored[0].id, "a rule keeps its id")
        #expect(world.script?.contains("# Rule: Bills") == true && world.script?.contains("Big") == false, "a disabled rule is not in the script")
        _ = try await world.plane.mailSettings.setResponder(mailbox: "alice@example.org", Responder(enabled: true, subject: "Away", text: "Back soon"), actor: cole)
        #expect(world.script?.contains("vacation :days 7 :subject \"Away\" :addresses [\"alice@example.org\"]") == true)
        let history = try await world.plane.directory.history("alice@example.org", page: .first(10), actor: .op).map(\.action)
        #expect(Array(history.prefix(3)) == ["responder.set", "rules.set", "rules.set"])
        _ = try await world.plane.routing.addAlias(mailbox: "alice@example.org", alias: "desk", actor: .op)
        #expect(world.script?.contains(":addresses [\"alice@example.org\", \"desk@example.org\"]") == true, "the responder answers for a new alias")
        _ = try await world.plane.routing.removeAlias(mailbox: "alice@example.org", alias: "desk", actor: .op)
        #expect(world.script?.contains(":addresses [\"alice@example.org\"]") == true)
    }

    @Test func eachSettingNeedsItsPermission() async throws {
        let world = try await World()
        let (cole, ezra) = (world.people["cole@corp.test"], world.people["ezra@corp.test"])
        let before = try await world.people.snapshot()
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setSpamFilter(mailbox: "alice@example.org", SpamFilter(enabled: true), actor: cole) } == "forbidden")
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setSenderLists(mailbox: "alice@example.org", SenderLists(blocked: ["x.test"]), actor: cole) } == "forbidden")
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.rules(mailbox: "alice@example.org", actor: ezra) } == "forbidden")
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setRules(mailbox: "bob@example.org", rules: [Self.invoices], actor: cole) } == "mailbox_not_found")
        #expect(try await world.people.snapshot() == before && world.script == nil, "nothing stored, no script written")
        let adam = world.people["adam@corp.test"]
        _ = try await world.plane.mailSettings.setSpamFilter(mailbox: "alice@example.org", SpamFilter(enabled: true, threshold: 7), actor: adam)
        _ = try await world.plane.mailSettings.setSenderLists(mailbox: "alice@example.org", SenderLists(blocked: ["@Spam.TEST"], approved: ["boss@partner.test"]), actor: adam)
        #expect(try await world.plane.mailSettings.senderLists(mailbox: "alice@example.org", actor: adam).blocked == ["spam.test"])
        #expect(world.script?.contains("\"ge\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"7\"") == true)
    }

    /// Planes on the same store and paths as `world`'s, with another compiler.
    static func planes(_ world: World, sievec: String) -> Planes {
        var settings = world.settings
        settings.sievec = sievec
        return Planes(store: world.plane.store, key: world.plane.serverKey, index: world.plane.index, lastUse: world.plane.lastUse,
                      routing: world.plane.routingIndex, sieve: SieveWriter(settings: settings), logger: .init(label: "test"))
    }

    static let discard = SortingRule(name: "New", conditions: [Condition(field: .from, test: .is, value: "a@b.test")], actions: [.discard])

    @Test func aScriptThatDoesNotCompileLeavesTheOldOneInPlaceSaysSoAndIsRetried() async throws {
        let good = try await World()
        _ = try await good.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.invoices], actor: .op)
        let old = try #require(good.script)
        await good.plane.outbox.recount()
        #expect(good.plane.outbox.status().pending == 0)
        // The same store and paths, with a "compiler" that refuses everything.
        let broken = Self.planes(good, sievec: "/bin/false")
        let stored = try await broken.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.discard], actor: .op)
        #expect(stored.map(\.name) == ["New"], "the change is stored")
        #expect(try await good.plane.mailSettings.rules(mailbox: "alice@example.org", actor: .op).map(\.name) == ["New"])
        #expect(good.script == old, "the old script is in place")
        #expect(try FileManager.default.contentsOfDirectory(atPath: good.root + "/example.org/alice/sieve") == ["postern.sieve"])
        await broken.outbox.recount()
        #expect(!broken.outbox.due, "its retry waits for its backoff")
        let failing = broken.outbox.status()
        #expect(failing.pending == 1 && failing.failed == 1 && !failing.degraded, "\(failing)")
        broken.outbox.degrade(after: 0)
        #expect(broken.outbox.status().degraded)
        let said = try await good.plane.directory.history("alice@example.org", page: .first(1), kind: "script", actor: .op).first
        #expect(said?.action == "script.not_installed" && said?.detail.contains("does not compile") == true, "\(String(describing: said))")
        // Once its backoff is over (as if 3 s had passed), the real compiler writes the stored rules.
        await #expect(good.plane.outbox.drain(dueBy: Date() + 3) == 1)
        #expect(good.script?.contains("\"a@b.test\"") == true && good.script?.contains("discard") == true)
        #expect(good.plane.outbox.status() == OutboxStatus(pending: 0, failed: 0, oldestFailureSeconds: nil, degraded: false))
        let installed = try await good.plane.directory.history("alice@example.org", page: .first(1), kind: "script", actor: .op).first
        #expect(installed?.detail == "script installed after 1 failed attempt(s)")
    }

    /// The fault case: sievec killed in the middle of its run. The change is stored, the old
    /// script stays, and the retry installs the new one.
    @Test func aSievecKilledMidRunLeavesTheChangeStoredAndTheRetryInstallsIt() async throws {
        let world = try await World()
        _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.invoices], actor: .op)
        let old = try #require(world.script)
        let dir = NSTemporaryDirectory() + "postern-sievec-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wrapper = dir + "/sievec"
        // Its first run kills itself half-way (the script written, nothing compiled); later runs are the real sievec.
        try """
            #!/bin/sh
            if [ ! -e \(dir)/killed ]; then touch \(dir)/killed; kill -KILL $$; fi
            exec /usr/bin/sievec "$@"
            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
        let flaky = Self.planes(world, sievec: wrapper)
        _ = try await flaky.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.discard], actor: .op)
        #expect(FileManager.default.fileExists(atPath: dir + "/killed"), "sievec ran and was killed")
        #expect(try await world.plane.mailSettings.rules(mailbox: "alice@example.org", actor: .op).map(\.name) == ["New"], "the change is stored")
        #expect(world.script == old)
        let said = try await world.plane.directory.history("alice@example.org", page: .first(1), kind: "script", actor: .op).first
        #expect(said?.detail.contains("killed by signal 9") == true, "\(String(describing: said))")
        await #expect(flaky.outbox.drain(dueBy: Date() + 3) == 1, "the retry")
        #expect(world.script?.contains("discard") == true && world.script != old)
        #expect(flaky.outbox.status().pending == 0)
    }

    @Test func aForwardIsCheckedAsARedirectionIs() async throws {
        let world = try await World()
        let rule = { (address: String) in
            [SortingRule(name: "Fwd", conditions: [Condition(field: .subject, test: .contains, value: "x")], actions: [.forward(address)])]
        }
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: rule("ghost@example.org"), actor: .op) } == "unknown_target")
        _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: rule("bob@example.org"), actor: .op)
        _ = try await world.plane.routing.setRedirectionScope(organization: "Example Ltd", .ownDomains, actor: .op)
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: rule("out@elsewhere.test"), actor: .op) }
                == "redirection_outside")
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: rule("not an address"), actor: .op) }
                == "invalid_address")
        // cole holds "rules" but not "redirections": he may keep the forward the rules have, not add one.
        let cole = world.people["cole@corp.test"]
        let kept = try await world.plane.mailSettings.rules(mailbox: "alice@example.org", actor: cole)
        #expect(kept.first?.actions.first?.address == "bob@example.org")
        _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: kept + [Self.invoices], actor: cole)
        _ = try await world.plane.directory.addMailbox("carl@example.org", actor: .op)
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: rule("carl@example.org"), actor: cole) }
                == "forbidden", "a new forward sends mail out: it needs the redirections permission")
        #expect(try await world.plane.mailSettings.rules(mailbox: "alice@example.org", actor: cole).count == 2, "nothing changed")
    }

    @Test func theOperatorWritesEveryScriptAgain() async throws {
        let world = try await World()
        _ = try await world.plane.mailSettings.setRules(mailbox: "alice@example.org", rules: [Self.invoices], actor: .op)
        let path = world.root + "/example.org/alice/sieve/postern.sieve"
        try FileManager.default.removeItem(atPath: path)
        await #expect(PeopleTests.code { _ = try await world.plane.mailSettings.rewriteScripts(mailboxes: [], actor: world.people["adam@corp.test"]) } == "forbidden")
        #expect(world.script == nil)
        let all = try await world.plane.mailSettings.rewriteScripts(mailboxes: [], actor: .op)
        #expect(all.written == ["alice@example.org"] && world.script?.contains("# Rule: Invoices") == true, "bob has no settings: no script")
        #expect(try await world.plane.mailSettings.rewriteScripts(mailboxes: ["bob@example.org"], actor: .op).written.isEmpty)
        let off = try await makePlane()
        await #expect(PeopleTests.code { _ = try await off.mailSettings.rewriteScripts(mailboxes: [], actor: .op) } == "sieve_off")
        // Who asks comes first: without the right, the setup (no Sieve) and bad input are not told.
        let noSieve = world.people.plane, cole = world.people["cole@corp.test"]
        await #expect(PeopleTests.code { _ = try await noSieve.mailSettings.rewriteScripts(mailboxes: [], actor: cole) } == "forbidden")
        await #expect(PeopleTests.code { _ = try await noSieve.mailSettings.rewriteScripts(mailboxes: ["not an address"], actor: cole) } == "forbidden")
        await #expect(PeopleTests.code { _ = try await noSieve.mailSettings.rewriteScripts(mailboxes: ["not an address"], actor: .op) } == "sieve_off")
    }

    /// An administrator who may create mailboxes must not reach files outside the script directory.
    @Test func anAddressThatWouldClimbOutOfTheScriptDirectoryGetsNoScript() async throws {
        let world = try await World()
        _ = try await world.plane.directory.addMailbox("../../escape@example.org", actor: .op)
        let error = await PosternErrorCatcher.catching {
            _ = try await world.plane.mailSettings.setRules(mailbox: "../../escape@example.org", rules: [Self.invoices], actor: .op)
        }
        #expect(error?.code == "unsafe_path", "refused up front, in the write that would have stored it")
        #expect(!FileManager.default.fileExists(atPath: (world.root as NSString).deletingLastPathComponent + "/escape"))
        #expect(try await world.plane.mailSettings.rules(mailbox: "../../escape@example.org", actor: .op).isEmpty, "nothing stored")
        #expect(throws: PosternError.self) { try MailFilterRules.folder("-u") }
        #expect(throws: PosternError.self) { try MailFilterRules.folder("--help") }
    }
}
