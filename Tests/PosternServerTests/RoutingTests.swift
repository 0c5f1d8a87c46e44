import Foundation
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
@testable import PosternStore
import Testing

/// Aliases and redirections through the control plane: the permissions, the rules, the history,
/// and the routing index that Postfix's lookups read, changed before the call returns.
@Suite struct RoutingTests {
    /// PeopleTests' world, with cole holding "aliases" and "redirections" on alice, a second domain
    /// in the service, and another organization's mailbox.
    static func world() async throws -> PeopleTests.World {
        let world = try await PeopleTests.World()
        let plane = world.plane
        try await plane.store.write { db in try await db.execute(sql: "INSERT INTO domain (name, mailServiceId) SELECT 'example.net', id FROM mailService WHERE name = 'example'") }
        _ = try await plane.directory.addOrganization("Other Ltd", actor: .op)
        _ = try await plane.directory.addMailService(name: "other", organization: "Other Ltd", domains: ["other.test"], actor: .op)
        _ = try await plane.directory.addMailbox("zed@other.test", actor: .op)
        _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: "cole@corp.test", permissions: [.devices, .aliases, .redirections],
                                password: nil, actor: .op)
        return world
    }

    static let code = PeopleTests.code

    @Test func aRemovedMailboxLeavesNoRedirectionPointingAtItOrItsAliases() async throws {
        let world = try await Self.world()
        let plane = world.plane
        for address in ["b_b@example.org", "bxb@example.org", "cat@example.org"] { _ = try await plane.directory.addMailbox(address, actor: .op) }
        _ = try await plane.routing.addAlias(mailbox: "b_b@example.org", alias: "sales", actor: .op)
        _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["B_B@example.org", "ext@elsewhere.test"], keepCopy: true, actor: .op)
        _ = try await plane.routing.setRedirection(mailbox: "cat@example.org", targets: ["sales@example.org"], keepCopy: false, actor: .op)
        // "_" is a letter here, not a LIKE wildcard: bxb@'s redirection is not b_b@'s concern.
        _ = try await plane.routing.setRedirection(mailbox: "bob@example.org", targets: ["bxb@example.org"], keepCopy: false, actor: .op)

        let preview = try await plane.directory.mailboxRemoval("b_b@example.org", actor: .op)
        #expect(preview.aliases == ["sales@example.org"] && preview.redirectedBy == ["alice@example.org", "cat@example.org"], "\(preview)")
        let before = try await world.snapshot()
        await #expect(Self.code { _ = try await plane.directory.mailboxRemoval("b_b@example.org", actor: world["cole@corp.test"]) } == "mailbox_not_found")
        await #expect(Self.code { _ = try await plane.directory.removeMailbox("b_b@example.org", actor: world["cole@corp.test"]) } == "mailbox_not_found")
        #expect(try await world.snapshot() == before, "the preview and a refused removal changed nothing")

        let removed = try await plane.directory.removeMailbox("b_b@example.org", actor: .op)
        #expect(removed.redirectedBy == preview.redirectedBy && removed.aliases == preview.aliases)
        #expect(try await plane.routing.redirection(mailbox: "alice@example.org", actor: .op)?.targets == ["ext@elsewhere.test"])
        #expect(try await plane.routing.redirection(mailbox: "cat@example.org", actor: .op) == nil, "left with no target: cleared")
        #expect(try await plane.routing.redirection(mailbox: "bob@example.org", actor: .op)?.targets == ["bxb@example.org"])
        // What Postfix reads, before the call returned.
        #expect(plane.routingIndex.lookup(.virtual, "alice@example.org") == "alice@example.org,ext@elsewhere.test")
        #expect(plane.routingIndex.lookup(.virtual, "cat@example.org") == nil && plane.routingIndex.lookup(.virtual, "sales@example.org") == nil)
        #expect(plane.routingIndex.lookup(.mailboxes, "b_b@example.org") == nil)
        let alice = try await plane.directory.history("alice@example.org", page: .first(1), actor: .op).first
        #expect(alice?.action == "redirection.set" && alice?.detail.contains("b_b@example.org was removed") == true, "\(String(describing: alice))")
        #expect(try await plane.directory.history("cat@example.org", page: .first(1), actor: .op).first?.action == "redirection.clear")
        let gone = try await plane.directory.organizationHistory("Example Ltd", page: .first(1), kind: "mailbox.remove", actor: .op).first
        #expect(gone?.detail == "mailbox removed with 0 device(s), aliases sales@example.org; no longer a redirection target of alice@example.org, cat@example.org")
    }

    @Test func anAliasIsAValidUniqueAddressOfTheServiceAndPostfixSeesItAtOnce() async throws {
        let world = try await Self.world()
        let (plane, cole) = (world.plane, world["cole@corp.test"])
        let info = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "Info", actor: cole)
        #expect(info.address == "info@example.org" && info.mailbox == "alice@example.org")
        #expect(plane.routingIndex.lookup(.virtual, "info@example.org") == "alice@example.org", "in the index before the call returned")
        #expect(plane.routingIndex.lookup(.senders, "INFO@example.org") == "alice@example.org")
        _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "sales@example.net", actor: cole)
        #expect(try await plane.routing.aliases(mailbox: "alice@example.org", actor: cole).map(\.address) == ["info@example.org", "sales@example.net"])

        let before = try await world.snapshot()
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "info", actor: cole) } == "address_taken")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "bob@example.org", alias: "INFO@example.org", actor: .op) } == "address_taken")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "Bob", actor: cole) } == "address_taken", "a mailbox, whatever its case")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "x@other.test", actor: cole) } == "alias_domain")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "in fo", actor: cole) } == "invalid_alias")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "info+x", actor: cole) } == "invalid_alias")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "a@b@example.org", actor: cole) } == "invalid_alias")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "postmaster", actor: cole) } == "reserved_alias")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "x", actor: world["ezra@corp.test"]) } == "forbidden")
        await #expect(Self.code { _ = try await plane.routing.addAlias(mailbox: "bob@example.org", alias: "x", actor: cole) } == "mailbox_not_found")
        await #expect(Self.code { _ = try await plane.routing.aliases(mailbox: "alice@example.org", actor: world["ezra@corp.test"]) } == "forbidden")
        await #expect(Self.code { _ = try await plane.directory.addMailbox("Info@example.org", actor: .op) } == "address_taken", "a mailbox cannot shadow an alias")
        await #expect(Self.code { _ = try await plane.directory.addMailbox("ALICE@example.org", actor: .op) } == "mailbox_exists")
        #expect(try await world.snapshot() == before, "refused calls changed nothing")

        let postmaster = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "postmaster", actor: world["adam@corp.test"])
        #expect(postmaster.address == "postmaster@example.org", "an administrator gives out role addresses")
        _ = try await plane.routing.removeAlias(mailbox: "alice@example.org", alias: "info", actor: cole)
        #expect(plane.routingIndex.lookup(.virtual, "info@example.org") == nil)
        await #expect(Self.code { _ = try await plane.routing.removeAlias(mailbox: "alice@example.org", alias: "info", actor: cole) } == "alias_not_found")
        let history = try await plane.directory.history("alice@example.org", page: .first(20), kind: "alias", actor: .op)
        #expect(history.map(\.action) == ["alias.remove", "alias.add", "alias.add", "alias.add"])
        #expect(history.contains { $0.detail == "alias postmaster@example.org added" && $0.actor.hasPrefix("adam@corp.test") })
    }

    @Test func aRedirectionReachesItsTargetsAndALoopIsRefusedAndNamed() async throws {
        let world = try await Self.world()
        let (plane, cole) = (world.plane, world["cole@corp.test"])
        let set = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["bob@example.org", "Ext@Elsewhere.TEST", "bob@example.org"],
                                           keepCopy: false, actor: cole)
        #expect(set.redirection.targets == ["bob@example.org", "Ext@elsewhere.test"] && set.previous == nil, "each target once, domain folded")
        #expect(plane.routingIndex.lookup(.virtual, "alice@example.org") == "bob@example.org,Ext@elsewhere.test")
        let again = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["ext@elsewhere.test"], keepCopy: true, actor: cole)
        #expect(again.previous?.targets == ["bob@example.org", "Ext@elsewhere.test"])
        #expect(plane.routingIndex.lookup(.virtual, "alice@example.org") == "alice@example.org,ext@elsewhere.test")

        _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "info", actor: cole)
        _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["bob@example.org"], keepCopy: true, actor: cole)
        let before = try await world.snapshot()
        let loop = await PosternErrorCatcher.catching { _ = try await plane.routing.setRedirection(mailbox: "bob@example.org", targets: ["info@example.org"], keepCopy: false, actor: .op) }
        #expect(loop?.code == "redirection_loop")
        #expect(loop?.message.contains("bob@example.org → info@example.org → alice@example.org → bob@example.org") == true, "\(loop?.message ?? "")")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["alice@example.org"], keepCopy: false, actor: cole) }
                == "redirection_to_itself")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["ghost@example.org"], keepCopy: false, actor: cole) }
                == "unknown_target", "a target in our domains must exist")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["not an address"], keepCopy: false, actor: cole) }
                == "invalid_address")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: [], keepCopy: false, actor: cole) } == "no_targets")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: (0...50).map { "x\($0)@elsewhere.test" },
                                                         keepCopy: false, actor: cole) } == "too_many_targets")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["x@y.test"], keepCopy: false,
                                                         actor: world["ezra@corp.test"]) } == "forbidden")
        #expect(try await world.snapshot() == before, "refused calls changed nothing")

        // The organization keeps redirections inside its own domains.
        await #expect(Self.code { _ = try await plane.routing.setRedirectionScope(organization: "Example Ltd", .ownDomains, actor: cole) } == "forbidden")
        _ = try await plane.routing.setRedirectionScope(organization: "Example Ltd", .ownDomains, actor: world["adam@corp.test"])
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["ext@elsewhere.test"], keepCopy: false, actor: cole) }
                == "redirection_outside")
        await #expect(Self.code { _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["zed@other.test"], keepCopy: false, actor: cole) }
                == "redirection_outside", "another organization's domain is outside too")
        _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["bob@example.org"], keepCopy: false, actor: cole)

        let cleared = try await plane.routing.clearRedirection(mailbox: "alice@example.org", actor: cole)
        #expect(cleared.targets == ["bob@example.org"] && plane.routingIndex.lookup(.virtual, "alice@example.org") == nil)
        await #expect(Self.code { _ = try await plane.routing.clearRedirection(mailbox: "alice@example.org", actor: cole) } == "no_redirection")
        let history = try await plane.directory.history("alice@example.org", page: .first(20), kind: "redirection", actor: .op)
        #expect(history.first?.detail == "redirection: bob@example.org → none")
        #expect(history.contains { $0.before == "bob@example.org, Ext@elsewhere.test" && $0.after == "ext@elsewhere.test (copy kept)" })
    }

    @Test func theIndexIsLoadedFromTheStoreAndFollowsMailboxesAndImports() async throws {
        let world = try await Self.world()
        let plane = world.plane
        _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "info", actor: .op)
        _ = try await plane.routing.setRedirection(mailbox: "bob@example.org", targets: ["ext@elsewhere.test"], keepCopy: true, actor: .op)
        let fresh = Planes(store: plane.store, key: plane.serverKey, index: CredentialIndex(), lastUse: LastUseRecorder(),
                                 routing: RoutingIndex(RoutingTable(mailboxPath: "/var/vmail/%d/%n/Maildir/")), logger: .init(label: "test"))
        let counts = try await fresh.node.loadRouting()
        #expect(counts.mailboxes == 3 && counts.aliases == 1 && counts.redirects == 1)
        #expect(fresh.routingIndex.lookup(.mailboxes, "alice@example.org") == "/var/vmail/example.org/alice/Maildir/", "the settings stay")
        #expect(fresh.routingIndex.lookup(.virtual, "info@example.org") == "alice@example.org")
        #expect(fresh.routingIndex.lookup(.virtual, "bob@example.org") == "bob@example.org,ext@elsewhere.test")

        let report = try await plane.imports.importPasswdFile("new@example.org:{PLAIN}pw\ninfo@example.org:{PLAIN}pw\n", actor: .op)
        #expect(report.mailboxesCreated == 1 && report.errors.map(\.code) == ["address_taken"], "an alias is not imported as a mailbox")
        #expect(plane.routingIndex.lookup(.mailboxes, "new@example.org") == "example.org/new/")
        _ = try await plane.directory.removeMailbox("alice@example.org", actor: .op)
        #expect(plane.routingIndex.lookup(.virtual, "info@example.org") == nil && plane.routingIndex.lookup(.senders, "alice@example.org") == nil)
        #expect(try await plane.store.read { try await Int.fetchOne($0, sql: "SELECT count(*) FROM alias") } == 0, "the aliases went with the mailbox")
    }
}

enum PosternErrorCatcher {
    static func catching(_ body: () async throws -> Void) async -> PosternError? {
        do { try await body(); return nil } catch { return error as? PosternError }
    }
}
