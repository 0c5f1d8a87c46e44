import Foundation
import PosternCore
@testable import PosternStore
import Testing

/// The rest of the store's statements, each test once on SQLite and once on PostgreSQL: people,
/// tokens, routing, mail settings, failed logins, policies, the outbox, the import's statements
/// and the change log. What both engines must agree on is checked value by value.
@Suite struct StoreStatementTests {
    struct Fixture {
        let store: Store
        let box: Mailbox
        let serviceID: Int64
        let organizationID: Int64
    }

    static func fixture(_ kind: StoreEngineKind) async throws -> Fixture {
        let store = try await StoreTests.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("alice@example.org")) }
        let (service, org) = try await store.read { db in
            let target = try #require(try await db.serviceTarget(name: "EXAMPLE"))  // names match whatever their case
            return (target.id, target.organizationID)
        }
        return Fixture(store: store, box: box, serviceID: service, organizationID: org)
    }

    @Test(arguments: StoreEngineKind.allCases) func usersRolesAccessAndGrants(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let user = try await f.store.write { try await $0.createUser(login: "Carol@Example.org", displayName: "Carol", passwordHash: "$argon2id$x") }
        await #expect(throws: PosternError.self) { try await f.store.write { try await $0.createUser(login: "carol@example.org", displayName: "", passwordHash: nil) } }
        try await f.store.write { db in
            try await db.setRole(userID: user.id, organizationID: f.organizationID, .administrator)
            try await db.setRole(userID: user.id, organizationID: f.organizationID, .collaborator)  // the upsert replaces
            try await db.setAccess(userID: user.id, mailboxID: f.box.id!, [.devices, .aliases])
            try await db.grantService(userID: user.id, serviceID: f.serviceID)
            try await db.grantService(userID: user.id, serviceID: f.serviceID)  // twice: nothing more
        }
        try await f.store.read { db in
            #expect(try await db.user(login: "CAROL@example.org")?.id == user.id)
            #expect(try await db.role(userID: user.id, organizationID: f.organizationID) == .collaborator)
            #expect(try await db.members(organizationID: f.organizationID).map(\.role) == [.collaborator])
            #expect(try await db.access(userID: user.id, mailboxID: f.box.id!) == [.devices, .aliases])
            #expect(try await db.accessList(organizationID: f.organizationID).map(\.mailbox) == ["alice@example.org"])
            #expect(try await db.serviceGrants(serviceID: f.serviceID).count == 1)
            let rights = try await db.rights(userID: user.id)
            #expect(rights.roles[f.organizationID] == .collaborator && rights.services == [f.serviceID])
            #expect(try await db.passwordHash(userID: user.id) == "$argon2id$x")
        }
        #expect(try await f.store.write { try await $0.revokeService(userID: user.id, serviceID: f.serviceID) })
        #expect(try await f.store.write { try await $0.revokeService(userID: user.id, serviceID: f.serviceID) } == false)
        try await f.store.write { try await $0.removeMembership(userID: user.id, organizationID: f.organizationID) }
        #expect(try await f.store.read { try await $0.accessList(userID: user.id) }.isEmpty)
    }

    @Test(arguments: StoreEngineKind.allCases) func tokensAreFoundByDigestAndExpire(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let user = try await f.store.write { try await $0.createUser(login: "dan@example.org", displayName: "Dan", passwordHash: nil) }
        let now = Date()
        let digest = [UInt8](repeating: 7, count: 32)
        let token = try await f.store.write { try await $0.insertToken(userID: user.id, kind: .token, name: "script", digest: digest, expiresAt: now + 3600) }
        _ = try await f.store.write { try await $0.insertToken(userID: user.id, kind: .session, name: "web", digest: [UInt8](repeating: 8, count: 32), expiresAt: now - 1) }
        let found = try #require(try await f.store.read { try await $0.token(digest: digest) })
        #expect(found.token.id == token.id && found.userID == user.id && found.token.login == "dan@example.org")
        try await f.store.write { try await $0.touchToken(id: token.id, at: now, ip: "192.0.2.1") }
        #expect(try await f.store.read { try await $0.token(id: token.id) }?.token.lastIP == "192.0.2.1")
        #expect(try await f.store.write { try await $0.deleteExpiredTokens(at: now) } == 1)
        #expect(try await f.store.read { try await $0.tokens(userID: user.id) }.map(\.name) == ["script"])
    }

    @Test(arguments: StoreEngineKind.allCases) func aliasesRedirectionsAndTheirScope(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        try await f.store.write { db in
            try await db.insertAlias("info@example.org", mailboxID: f.box.id!, mailbox: "alice@example.org")
            try await db.setRedirection(mailboxID: f.box.id!, Redirection(mailbox: "alice@example.org", targets: ["a@example.net", "b@example.net"], keepCopy: true))
            try await db.setRedirection(mailboxID: f.box.id!, Redirection(mailbox: "alice@example.org", targets: ["c@example.net"], keepCopy: false))
            try await db.setRedirectionScope(organizationID: f.organizationID, .ownDomains)
        }
        try await f.store.read { db in
            #expect(try await db.addressTaken("ALICE@example.org") != nil, "a mailbox, whatever the case")
            #expect(try await db.aliases(mailboxID: f.box.id!).map(\.address) == ["info@example.org"])
            #expect(try await db.redirections() == [Redirection(mailbox: "alice@example.org", targets: ["c@example.net"], keepCopy: false)])
            // Whole targets, any case; "_" and "%" are letters, not patterns.
            #expect(try await db.redirections(to: ["C@EXAMPLE.NET"]).map(\.mailboxID) == [f.box.id!])
            #expect(try await db.redirections(to: ["c@example.ne", "@example.net", "c_example.net", "%"]).isEmpty)
            #expect(try await db.redirectionScope(organizationID: f.organizationID) == .ownDomains)
            #expect(try await db.domains(organizationID: f.organizationID) == ["example.net", "example.org"])
            var addresses: [String] = []
            try await db.forEachMailboxAddress { addresses.append($0) }
            #expect(addresses == ["alice@example.org"])
            #expect(try await db.mailServices().first?.domains == ["example.net", "example.org"])
        }
        try await f.store.write { db in
            try await db.deleteAlias("INFO@example.org")
            try await db.deleteRedirection(mailboxID: f.box.id!)
        }
        #expect(try await f.store.read { try await $0.aliasCount(mailboxID: f.box.id!) } == 0)
    }

    @Test(arguments: StoreEngineKind.allCases) func sortingRulesSettingsAndSignatures(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let user = try await f.store.write { try await $0.createUser(login: "erin@example.org", displayName: "Erin", passwordHash: nil) }
        let rule = SortingRule(name: "news", conditions: [.init(field: .subject, test: .contains, value: "news")], actions: [.init(kind: .fileinto, folder: "News")])
        let saved = try await f.store.write { try await $0.setSortingRules(mailboxID: f.box.id!, [rule, SortingRule(name: "two", conditions: [], actions: [.init(kind: .stop)])]) }
        #expect(saved.map(\.name) == ["news", "two"] && saved.allSatisfy { $0.id != nil })
        _ = try await f.store.write { try await $0.setSortingRules(mailboxID: f.box.id!, [saved[1]]) }
        #expect(try await f.store.read { try await $0.sortingRules(mailboxID: f.box.id!) }.map(\.id) == [saved[1].id])
        try await f.store.write { db in
            try await db.setMailSettings(mailboxID: f.box.id!, spam: SpamFilter(enabled: true), responder: Responder(), senders: SenderLists(blocked: ["x@example.net"]))
            try await db.setSignature(mailboxID: f.box.id!, userID: user.id, text: "Erin", replyTo: nil)
            try await db.setSignature(mailboxID: f.box.id!, userID: user.id, text: "Erin E.", replyTo: "erin@example.org")
        }
        try await f.store.read { db in
            let (spam, _, senders) = try await db.mailSettings(mailboxID: f.box.id!)
            #expect(spam.enabled && senders.blocked == ["x@example.net"])
            #expect(try await db.mailboxesWithFilters().map(\.id) == [f.box.id!])
            #expect(try await db.hasFilters(mailboxID: f.box.id!))
            #expect(try await db.signature(mailboxID: f.box.id!, userID: user.id)?.text == "Erin E.")
        }
    }

    @Test(arguments: StoreEngineKind.allCases) func failedLoginsAddUpAndArePruned(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        @Sendable func failure(_ ip: String, _ first: Date, _ last: Date) -> FailedLogin {
            FailedLogin(address: "alice@example.org", ip: ip, service: "imap", mechanism: "PLAIN", first: first, last: last, count: 2, throttled: 1)
        }
        try await f.store.write { try await $0.recordFailedLogins([failure("192.0.2.1", t, t + 10), failure("192.0.2.2", t, t + 20),
                                                        FailedLogin(address: "nobody@example.org", ip: nil, service: "imap", mechanism: "PLAIN",
                                                                    first: t, last: t, count: 1, throttled: 0)]) }
        try await f.store.write { try await $0.recordFailedLogins([failure("192.0.2.1", t - 5, t + 30)]) }
        let rows = try await f.store.read { try await $0.failedLogins(mailboxID: f.box.id!) }
        #expect(rows.map(\.ip) == ["192.0.2.1", "192.0.2.2"])
        let one = rows[0]
        #expect(one.count == 4 && one.throttled == 2 && one.first == t - 5 && one.last == t + 30)
        try await f.store.write { try await $0.pruneFailedLogins(before: t, perMailbox: 1) }
        #expect(try await f.store.read { try await $0.failedLogins(mailboxID: f.box.id!) }.map(\.ip) == ["192.0.2.1"])
    }

    @Test(arguments: StoreEngineKind.allCases) func genericPoliciesOutboxAndTheImportStatements(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let from = Date(timeIntervalSince1970: 1_900_000_000)
        let policy = GenericPolicy(refused: [.imap], from: from)
        try await f.store.write { try await $0.setGenericPolicy(.service, target: f.serviceID, policy) }
        #expect(try await f.store.read { try await $0.genericPolicy(.service, target: f.serviceID) } == policy)
        let target = try #require(try await f.store.read { try await $0.importService(domain: "example.org") })
        #expect(target.policy == policy)
        let bob = try MailAddress("bob@example.org")
        let carl = try MailAddress("carl@example.org")
        let id = try await f.store.write { db in
            let boxes = try await db.insertImportedMailboxes([(bob.description, target.id), (carl.description, target.id)], at: from)
            #expect(Set(boxes.keys) == [bob.description, carl.description])
            let devices = try await db.insertImportedGenericPasswords([(boxes[bob.description]!, try GenericPassword(parsing: "{SHA512-CRYPT}$6$a$b"))], at: from)
            return devices[boxes[bob.description]!]!
        }
        let targets = try await f.store.read { try await $0.importTargets([bob, carl, try MailAddress("nobody@example.org")]) }
        #expect(targets[bob.description]?.genericHash == "{SHA512-CRYPT}$6$a$b" && targets[carl.description]?.genericHash == nil)
        #expect(targets[bob.description]?.organizationID == f.organizationID && targets.count == 2)
        #expect(try await f.store.read { try await $0.genericPasswords(withPolicy: true) }.map(\.deviceID) == [id])
        try await f.store.write { try await $0.setGenericPolicy(.service, target: f.serviceID, nil) }
        #expect(try await f.store.read { try await $0.genericPasswords(withPolicy: true) }.isEmpty)
        try await f.store.write { db in
            try await db.enqueueMail(to: "alice@example.org", message: "hello", at: from)
        }
        let due = try await f.store.read { try await $0.dueMail(at: from + 1) }
        #expect(due.count == 1)
        try await f.store.write { try await $0.mailFailed(id: due[0].id, error: "refused", retryAt: from + 60) }
        #expect(try await f.store.read { try await $0.dueMail(at: from + 1) }.isEmpty)
        try await f.store.write { try await $0.mailSent(id: due[0].id) }
        #expect(try await f.store.read { try await $0.outboxCount() } == 0)
    }

    @Test(arguments: StoreEngineKind.allCases) func theChangeLogNumbersChangesInOrderAndKeepsTheNewest(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        let seqs = try await (0..<3).mapInOrder { i in try await f.store.write { try await $0.appendChange("{\"n\":\(i)}", node: "n1") } }
        #expect(seqs == [1, 2, 3])
        #expect(try await f.store.read { try await $0.changes(after: 1) }.map(\.change) == ["{\"n\":1}", "{\"n\":2}"])
        // A rolled-back write leaves no gap: the next number follows the last committed one.
        await #expect(throws: PosternError.self) {
            try await f.store.write { db in
                _ = try await db.appendChange("{}", node: "n1")
                throw PosternError(.badRequest, "stop")
            }
        }
        #expect(try await f.store.write { try await $0.appendChange("{}", node: "n2") } == 4)
        try await f.store.write { try await $0.pruneChanges(before: Date() + 60) }
        #expect(try await f.store.read { [try await $0.latestChange(), try await $0.oldestChange()] } == [4, 4])
    }

    @Test(arguments: StoreEngineKind.allCases) func historyFiltersAndMailboxesByDomain(_ kind: StoreEngineKind) async throws {
        let f = try await Self.fixture(kind)
        _ = try await f.store.write { try await $0.createMailbox(try MailAddress("zed@example.net")) }
        try await f.store.write { db in
            try await db.appendHistory(HistoryEntry(mailbox: "alice@example.org", actor: "op", action: "device.add", detail: "a"))
            try await db.appendHistory(HistoryEntry(mailbox: "alice@example.org", actor: "op", action: "device_x", detail: "b"))
            try await db.appendHistory(HistoryEntry(mailbox: "alice@example.org", actor: "op", action: "alias.add", detail: "c"))
        }
        let devices = try await f.store.read { try await $0.history(HistoryQuery(mailbox: "alice@example.org", kind: "device")) }
        #expect(devices.map(\.detail) == ["a"], "device.% matches device.add, not device_x (the _ is escaped)")
        #expect(try await f.store.read { try await $0.history(HistoryQuery(organizationID: f.organizationID, limit: 2)) }.map(\.detail) == ["c", "b"])
        #expect(try await f.store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), domain: "EXAMPLE.net", page: .first()) }.items
            .map(\.mailbox.address.description) == ["zed@example.net"])
    }
}
