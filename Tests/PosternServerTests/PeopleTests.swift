import Foundation
@testable import PosternStore
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
import Testing

/// Users, members and mailbox access through the control plane, each call as a given actor.
@Suite struct PeopleTests {
    /// Example Ltd with a legal representative, an administrator, a collaborator with "devices" on
    /// alice@example.org, and an external member with "history" on it; bob@example.org beside it.
    struct World {
        let plane: Planes
        var users: [String: Actor] = [:]

        init() async throws {
            plane = try await makePlane()
            _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
            _ = try await plane.directory.addMailbox("bob@example.org", actor: .op)
            for (login, role) in [("lena@corp.test", Role.legalRepresentative), ("adam@corp.test", .administrator),
                                  ("cole@corp.test", .collaborator), ("ezra@corp.test", .external)] {
                let user = try await plane.people.addUser(login: login, displayName: "", password: "password of \(login)", actor: .op)
                _ = try await plane.people.setMember(organization: "Example Ltd", login: login, role: role, displayName: nil, password: nil, actor: .op)
                users[login] = .user(Actor.UserRef(id: user.id, login: user.login), via: .socket(uid: 1000 + UInt32(user.id)))
            }
            _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: "cole@corp.test", permissions: [.devices], password: nil, actor: .op)
            _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: "ezra@corp.test", permissions: [.history], password: nil, actor: .op)
        }

        subscript(_ login: String) -> Actor { users[login]! }

        /// Every row of every table but the history, to show a refused call changed nothing.
        func snapshot() async throws -> [String] {
            try await plane.store.read { db in
                try await String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
                    .mapInOrder { table in try await StoreRow.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { "\(table): \($0)" } }.flatMap { $0 }
            }
        }
    }

    static func code(_ body: () async throws -> Void) async -> String? {
        do { try await body(); return nil } catch let error as PosternError { return error.code } catch { return "\(error)" }
    }

    @Test func aCollaboratorManagesTheDevicesTheyWereGivenAndSeesNothingElse() async throws {
        let world = try await World()
        let cole = world["cole@corp.test"]
        let secret = try await world.plane.devices.addDevice("alice@example.org", name: "Phone", actor: cole)
        #expect(try await world.plane.devices.devices("alice@example.org", actor: cole).map(\.name).contains("Phone"))
        _ = try await world.plane.devices.rotateDevice("alice@example.org", device: "Phone", actor: cole)
        _ = try await world.plane.devices.disconnectDevice("alice@example.org", device: "#\(secret.device.id)", actor: cole)
        let before = try await world.snapshot()
        await #expect(Self.code { _ = try await world.plane.devices.addDevice("bob@example.org", name: "Phone", actor: cole) } == "mailbox_not_found",
                "a mailbox not given is answered as if it did not exist")
        await #expect(Self.code { _ = try await world.plane.directory.history("alice@example.org", page: .first(5), actor: cole) } == "forbidden")
        await #expect(Self.code { _ = try await world.plane.directory.removeMailbox("alice@example.org", actor: cole) } == "forbidden")
        await #expect(Self.code { _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "new@corp.test", role: .external,
                                                           displayName: nil, password: nil, actor: cole) } == "forbidden")
        #expect(try await world.snapshot() == before, "refused calls changed nothing")
        #expect(try await world.plane.directory.mailboxes(domain: nil, actor: cole).map(\.address.description) == ["alice@example.org"])
        #expect(try await world.plane.people.members(organization: "Example Ltd", actor: cole).count == 4)
        let history = try await world.plane.directory.history("alice@example.org", page: .first(10), actor: .op)
        #expect(history.contains { $0.action == "device.add" && $0.actor == "cole@corp.test (uid \(1000 + 3))" })
    }

    @Test func anExternalMemberSeesOnlyTheirMailboxAndNeverTheMemberList() async throws {
        let world = try await World()
        let ezra = world["ezra@corp.test"]
        #expect(try await world.plane.directory.history("alice@example.org", page: .first(5), actor: ezra).isEmpty == false)
        await #expect(Self.code { _ = try await world.plane.people.members(organization: "Example Ltd", actor: ezra) } == "forbidden")
        #expect(try await world.plane.directory.mailServices(actor: ezra).isEmpty)
        #expect(try await world.plane.directory.mailboxes(domain: nil, actor: ezra).map(\.address.description) == ["alice@example.org"])
        await #expect(Self.code { _ = try await world.plane.devices.devices("alice@example.org", actor: ezra) } == "forbidden")
        #expect(try await world.plane.directory.organizations(actor: ezra).count == 1)
    }

    @Test func theLastLegalRepresentativeStaysAndOnlyALegalRepresentativeAppointsOne() async throws {
        let world = try await World()
        let (lena, adam) = (world["lena@corp.test"], world["adam@corp.test"])
        let before = try await world.snapshot()
        await #expect(Self.code { _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .legalRepresentative,
                                                           displayName: nil, password: "password of adam@corp.test", actor: adam) } == "forbidden")
        await #expect(Self.code { _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "lena@corp.test", role: .administrator,
                                                           displayName: nil, password: "password of lena@corp.test", actor: lena) } == "last_legal_representative")
        await #expect(Self.code { _ = try await world.plane.people.removeMember(organization: "Example Ltd", login: "lena@corp.test", confirm: "lena@corp.test",
                                                              password: nil, actor: .op) } == "last_legal_representative")
        #expect(try await world.snapshot() == before)
        let change = try await world.plane.people.setMember(organization: "Example Ltd", login: "adam@corp.test", role: .legalRepresentative,
                                               displayName: nil, password: "password of lena@corp.test", actor: lena)
        #expect(change.previous == .administrator && change.member.role == .legalRepresentative)
        _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "lena@corp.test", role: .administrator,
                                      displayName: nil, password: "password of lena@corp.test", actor: lena)
    }

    @Test func sensitiveChangesNeedTheActorsOwnPasswordAndWrongOnesAreThrottled() async throws {
        let world = try await World()
        let adam = world["adam@corp.test"]
        func demote(_ password: String?) async -> String? {
            await Self.code { _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .external,
                                                      displayName: nil, password: password, actor: adam) }
        }
        let before = try await world.snapshot()
        await #expect(demote(nil) == "password_required")
        for _ in 0..<Lockouts.confirmationPolicy.refuseAfter { await #expect(demote("not my password") == "wrong_password") }
        await #expect(demote("password of adam@corp.test") == "confirmation_throttled", "even the right one, until the window passes")
        #expect(try await world.snapshot() == before)
        let fresh = try await World()
        await #expect(Self.code { _ = try await fresh.plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .external,
                                                          displayName: nil, password: "password of adam@corp.test", actor: fresh["adam@corp.test"]) } == nil)
    }

    @Test func removingAMemberPreviewsThenTakesTheirAccessAway() async throws {
        let world = try await World()
        let adam = world["adam@corp.test"]
        let token = try await world.plane.people.createToken(name: "cole's", days: 5, login: nil, actor: world["cole@corp.test"])
        let preview = try await world.plane.people.memberRemovalPreview(organization: "Example Ltd", login: "cole@corp.test", actor: adam)
        #expect(preview.mailboxAccess.map(\.mailbox) == ["alice@example.org"])
        #expect(preview.tokens.map(\.id) == [token.token.id], "his last membership: his tokens go too")
        await #expect(Self.code { _ = try await world.plane.people.removeMember(organization: "Example Ltd", login: "cole@corp.test", confirm: "someone@else.test",
                                                              password: "password of adam@corp.test", actor: adam) } == "confirmation_required")
        let removed = try await world.plane.people.removeMember(organization: "Example Ltd", login: "cole@corp.test", confirm: "cole@corp.test",
                                                   password: "password of adam@corp.test", actor: adam)
        #expect(removed == preview)
        #expect(try await world.plane.people.access(mailbox: "alice@example.org", actor: .op).map(\.login) == ["ezra@corp.test"])
        await #expect(Self.code { _ = try await world.plane.devices.devices("alice@example.org", actor: world["cole@corp.test"]) } == "mailbox_not_found")
        await #expect(Self.code { _ = try await world.plane.people.actor(bearer: token.secret, ip: nil) } == "invalid_token")
    }

    @Test func anExpiredTokenFailsLikeARevokedOne() async throws {
        let world = try await World()
        let made = try await world.plane.people.createToken(name: "short", days: 1, login: nil, actor: world["cole@corp.test"])
        #expect(try await world.plane.people.actor(bearer: made.secret, ip: nil).user?.login == "cole@corp.test")
        try await world.plane.store.write { db in try await db.execute(sql: "UPDATE apiToken SET expiresAt = ?", arguments: [Date() - 1]) }
        await #expect(Self.code { _ = try await world.plane.people.actor(bearer: made.secret, ip: nil) } == "invalid_token")
    }

    @Test func defaultsArePreselectedAndApplied() async throws {
        let world = try await World()
        _ = try await world.plane.people.setDefaults(service: "example", permissions: [.devices, .history], actor: .op)
        _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "dana@corp.test", role: .collaborator, displayName: nil, password: nil, actor: .op)
        let granted = try await world.plane.people.setAccess(mailbox: "bob@example.org", login: "dana@corp.test", permissions: nil, password: nil, actor: .op)
        #expect(granted.access.permissions == [.devices, .history])
        let applied = try await world.plane.people.applyDefaults(service: "example", mailboxes: ["alice@example.org"], login: nil, password: nil, actor: .op)
        #expect(Set(applied.map(\.access.login)) == ["cole@corp.test", "ezra@corp.test"])
        #expect(try await world.plane.people.access(mailbox: "alice@example.org", actor: .op).allSatisfy { $0.permissions == [.devices, .history] })
        await #expect(Self.code { _ = try await world.plane.people.setAccess(mailbox: "bob@example.org", login: "stranger@corp.test", permissions: nil,
                                                           password: nil, actor: .op) } == "user_not_found")
    }

    @Test func theAccountPasswordIsArgon2idAndNeverStoredInClear() async throws {
        let world = try await World()
        let stored = try await world.plane.store.read { db in try await String.fetchOne(db, sql: "SELECT passwordHash FROM user WHERE login = 'adam@corp.test'") }
        #expect(stored?.hasPrefix("$argon2id$") == true)
        #expect(try await world.snapshot().allSatisfy { !$0.contains("password of") })
        await #expect(Self.code { _ = try await world.plane.people.addUser(login: "x@corp.test", displayName: "", password: "short", actor: .op) } == "weak_password")
        await #expect(Self.code { _ = try await world.plane.people.addUser(login: "x@corp.test", displayName: "", password: nil, actor: world["adam@corp.test"]) } == "forbidden")
    }

    @Test func theDemoDataHasOnePersonPerRoleWithMailboxAccess() async throws {
        let plane = try await makePlane(seeded: false)
        let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../seeds").standardized.path
        try await Seeds.load(directory: seeds, into: plane, logger: .init(label: "test"))
        let members = try await plane.people.members(organization: "Example Ltd", actor: .op)
        #expect(Set(members.map(\.role)) == Set(Role.allCases))
        let alice = try await plane.store.read { try await $0.requireUser(login: "alice@example.org") }
        let actor = Actor.user(.init(id: alice.id, login: alice.login), via: .socket(uid: 4242))
        _ = try await plane.devices.addDevice("alice@example.org", name: "Demo laptop", actor: actor)
        await #expect(Self.code { _ = try await plane.devices.devices("bob@example.org", actor: actor) } == "mailbox_not_found")
        #expect(try await plane.routing.aliases(mailbox: "alice@example.org", actor: actor).map(\.address) == ["info@example.org", "sales@example.net"])
        #expect(plane.routingIndex.lookup(.virtual, "sales@example.net") == "alice@example.org")
    }

    @Test func signingInGivesASessionAndWrongPasswordsAreThrottledThenRefused() async throws {
        let world = try await World()
        var policy = ThrottlePolicy()
        policy.freeFailures = 2
        policy.firstDelay = .milliseconds(1)
        policy.maxDelay = .milliseconds(5)
        policy.refuseAfter = 4
        let throttle = Throttle(policy: policy)
        let session = try await world.plane.people.signIn(login: "cole@corp.test", password: "password of cole@corp.test", ip: "192.0.2.1", throttle: throttle)
        #expect(session.secret.hasPrefix("ps_") && session.token.kind == .session)
        let actor = try await world.plane.people.actor(bearer: session.secret, ip: "192.0.2.1")
        #expect(actor.user?.login == "cole@corp.test" && actor.name == "cole@corp.test (session from 192.0.2.1)")
        var codes: [String] = []
        for _ in 0..<5 {
            do { _ = try await world.plane.people.signIn(login: "cole@corp.test", password: "guess", ip: "192.0.2.9", throttle: throttle) } catch let error as PosternError {
                codes.append(error.code)
            }
        }
        #expect(codes == ["wrong_login", "wrong_login", "wrong_login", "wrong_login", "sign_in_throttled"])
        await #expect(throws: PosternError.self) {
            _ = try await world.plane.people.signIn(login: "cole@corp.test", password: "password of cole@corp.test", ip: "192.0.2.9", throttle: throttle)
        }
        #expect(try await world.plane.people.signIn(login: "cole@corp.test", password: "password of cole@corp.test", ip: "192.0.2.1", throttle: throttle)
            .token.kind == .session, "the owner from their own IP still signs in")
        _ = try await world.plane.people.signOut(actor: actor)
        await #expect(Self.code { _ = try await world.plane.people.actor(bearer: session.secret, ip: nil) } == "invalid_token")
        await #expect(Self.code { _ = try await world.plane.people.actor(bearer: "not a token", ip: nil) } == "invalid_token")
    }

    @Test func tokensAreOwnedStoredAsDigestsAndRevoked() async throws {
        let world = try await World()
        let cole = world["cole@corp.test"]
        let made = try await world.plane.people.createToken(name: "ci", days: 30, login: nil, actor: cole)
        #expect(made.token.login == "cole@corp.test")
        #expect(try await world.snapshot().allSatisfy { !$0.contains(made.secret) }, "only the digest is stored")
        await #expect(Self.code { _ = try await world.plane.people.createToken(name: "x", days: 30, login: "adam@corp.test", actor: cole) } == "forbidden")
        await #expect(Self.code { _ = try await world.plane.people.createToken(name: "x", days: 400, login: nil, actor: cole) } == "invalid_expiry")
        await #expect(Self.code { _ = try await world.plane.people.revokeToken(id: made.token.id, actor: world["adam@corp.test"]) } == "token_not_found")
        let via = try await world.plane.people.actor(bearer: made.secret, ip: "127.0.0.1")
        #expect(via.name == "cole@corp.test (token ci from 127.0.0.1)")
        _ = try await world.plane.devices.addDevice("alice@example.org", name: "From CI", actor: via)
        _ = try await world.plane.people.revokeToken(id: made.token.id, actor: cole)
        await #expect(Self.code { _ = try await world.plane.people.actor(bearer: made.secret, ip: nil) } == "invalid_token")
    }

    @Test func theHistorySaysWhoFromWhereAndBeforeAndAfterAndFilters() async throws {
        let world = try await World()
        let (adam, cole) = (world["adam@corp.test"], world["cole@corp.test"])
        _ = try await world.plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .external, displayName: nil,
                                      password: "password of adam@corp.test", actor: adam)
        _ = try await world.plane.devices.addDevice("alice@example.org", name: "Tablet", actor: .op)
        let org = try await world.plane.directory.organizationHistory("Example Ltd", page: .first(100), actor: adam)
        let change = try #require(org.first { $0.action == "member.role" })
        #expect(change.before == "collaborator" && change.after == "external")
        #expect(change.actor == "adam@corp.test (uid \(1000 + 2))" && change.actorKind == "user" && change.origin == "socket uid 1002")
        #expect(org.contains { $0.action == "device.add" && $0.mailbox == "alice@example.org" }, "mailbox entries belong to the organization")
        #expect(org.contains { $0.action == "access.grant" && $0.after == "devices" })
        let members = try await world.plane.directory.organizationHistory("Example Ltd", page: .first(100), kind: "member", actor: adam)
        #expect(!members.isEmpty && members.allSatisfy { $0.action.hasPrefix("member.") })
        #expect(try await world.plane.directory.organizationHistory("Example Ltd", page: .first(100), kind: "member.role", actor: adam).count == 1)
        #expect(try await world.plane.directory.organizationHistory("Example Ltd", page: .first(100), since: Date() + 60, actor: adam).isEmpty)
        #expect(try await world.plane.directory.history("alice@example.org", page: .first(100), until: Date() - 3600, actor: .op).isEmpty)
        #expect(try await world.plane.directory.history("alice@example.org", page: .first(100), kind: "device", actor: .op).map(\.action) == ["device.add"])
        await #expect(Self.code { _ = try await world.plane.directory.organizationHistory("Example Ltd", page: .first(10), actor: cole) } == "forbidden")
        await #expect(Self.code { _ = try await world.plane.directory.organizationHistory("Other", page: .first(10), actor: adam) } == "organization_not_found")
        let all = try await world.plane.directory.organizationHistory("Example Ltd", page: .first(1000), actor: .op)
        #expect(all.allSatisfy { !$0.detail.contains("password of") && !($0.before ?? "").contains("password") })
    }

    @Test func aRoleChangeMailsTheMemberAndAFailedSendIsRetriedWithoutFailingTheChange() async throws {
        let dir = NSTemporaryDirectory() + "postern-mail-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = try await makePlane()
        let plane = Planes(store: base.store, key: base.serverKey, index: base.index, lastUse: base.lastUse, mailFrom: "postern@mail.test",
                                 logger: .init(label: "test"))
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .collaborator, displayName: "Cole", password: nil, actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .administrator, displayName: nil, password: nil, actor: .op)
        #expect(try await plane.store.read { try await $0.outboxCount() } == 2, "a mail for the arrival and one for the change")

        var broken = Notifier.Settings()
        broken.command = ["/nonexistent/sendmail"]
        await Notifier(store: plane.store, settings: broken, logger: .init(label: "test")).sendDue()
        #expect(try await plane.store.read { try await $0.outboxCount() } == 2, "kept for a retry")
        #expect(try await plane.store.read { try await $0.dueMail(at: Date()) }.isEmpty, "not due again at once")
        #expect(try await plane.store.read { try await $0.dueMail(at: Date() + 31) }.map(\.attempts) == [1, 1])

        var working = Notifier.Settings()
        working.command = ["/bin/sh", "-c", "cat >> \(dir)/sent; echo \"$@\" >> \(dir)/args", "sendmail"]
        working.from = "postern@mail.test"
        try await plane.store.write { db in try await db.execute(sql: "UPDATE outbox SET nextAttemptAt = ?", arguments: [Date() - 1]) }
        await Notifier(store: plane.store, settings: working, logger: .init(label: "test")).sendDue()
        #expect(try await plane.store.read { try await $0.outboxCount() } == 0)
        let sent = try String(contentsOfFile: dir + "/sent", encoding: .utf8)
        #expect(sent.contains("To: cole@corp.test") && sent.contains("before: collaborator") && sent.contains("now:    administrator"))
        #expect(try String(contentsOfFile: dir + "/args", encoding: .utf8).contains("-i -f postern@mail.test -- cole@corp.test"))
    }
}
