import Foundation
import PosternCore
@testable import PosternStore
import Testing

/// The mailboxes a user sees, read in one query, against the rule set asked mailbox by mailbox:
/// on a generated directory of every role, service grant and access, both engines must agree
/// with `Policy.decide` on what is visible, with which permissions, and who manages its access.
@Suite struct VisibilityTests {
    @Test(arguments: StoreEngineKind.allCases) func theOneQueryAgreesWithTheRuleSet(_ kind: StoreEngineKind) async throws {
        let store = try await Store.open(url: try await freshURL(kind))
        let users = try await store.write { db -> [(String, Int64)] in
            for org in ["A", "B"] {
                _ = try await db.createOrganization("Org \(org)")
                for service in 1...2 {
                    let name = "\(org.lowercased())\(service)"
                    _ = try await db.createMailService(name: name, organization: "Org \(org)", domains: ["\(name).test"])
                    for box in 1...2 { _ = try await db.createMailbox(try MailAddress("m\(box)@\(name).test")) }
                }
            }
            let orgA = try await db.organizationID("Org A"), orgB = try await db.organizationID("Org B")
            let a1 = try #require(try await db.serviceTarget(name: "a1")), a2 = try #require(try await db.serviceTarget(name: "a2"))
            let m1 = try await db.mailbox(try MailAddress("m1@a1.test")).id!, m3 = try await db.mailbox(try MailAddress("m1@a2.test")).id!
            let accesses: [(String, [(Int64, MailboxPermission)])] = [("none", []), ("devices", [(m1, .devices)]), ("empty", [(m1, [])]),
                                                                      ("all elsewhere", [(m3, .all)]), ("two", [(m1, [.history, .rules]), (m3, .devices)])]
            var users: [(String, Int64)] = []
            for role in [Role?.none] + Role.allCases.map(Optional.some) {
                for grant in [false, true] {
                    for (label, access) in accesses {
                        let login = "u\(users.count)@corp.test"
                        let user = try await db.createUser(login: login, displayName: "", passwordHash: nil)
                        if let role { try await db.setRole(userID: user.id, organizationID: orgA, role) }
                        if grant { try await db.grantService(userID: user.id, serviceID: a1.id) }
                        for (mailbox, permissions) in access { try await db.setAccess(userID: user.id, mailboxID: mailbox, permissions) }
                        users.append(("\(role?.rawValue ?? "no role"), grant \(grant), access \(label)", user.id))
                    }
                }
            }
            // A member of the other organization only, with a grant in this one that does not count.
            let other = try await db.createUser(login: "other@corp.test", displayName: "", passwordHash: nil)
            try await db.setRole(userID: other.id, organizationID: orgB, .administrator)
            try await db.grantService(userID: other.id, serviceID: a2.id)
            users.append(("administrator of B", other.id))
            return users
        }
        #expect(users.count == 5 * 2 * 5 + 1)
        try await store.read { db in
            let all = try await Self.walk(db, .operator(uid: 0), limit: 3).map { ($0.mailbox, $0.target) }
            #expect(all.count == 8)
            var seen = 0
            for (label, id) in users {
                let rights = try await db.rights(userID: id)
                var expected: [String: (MailboxPermission, Bool)] = [:]
                for (_, target) in all where Policy.decide(rights, .viewMailbox(target)) == .allowed {
                    let held = MailboxPermission.named.map(\.permission).filter { Policy.decide(rights, .mailbox(target, $0)) == .allowed }
                    expected[target.address] = (MailboxPermission(held), Policy.decide(rights, .manageAccess(target)) == .allowed)
                }
                // Pages of two: the sources' pages merge across page boundaries.
                let visible = try await Self.walk(db, .user(.init(id: id, login: "u"), via: .socket(uid: 1)), limit: 2)
                #expect(Set(visible.map(\.target.address)) == Set(expected.keys), "\(label): what is visible")
                for box in visible {
                    #expect(box.permissions == expected[box.target.address]?.0, "\(label): permissions on \(box.target.address)")
                    #expect(box.managesAccess == expected[box.target.address]?.1, "\(label): manages access to \(box.target.address)")
                    #expect(box.target == all.first { $0.1.id == box.target.id }?.1, "\(label): the target")
                }
                seen += visible.count
            }
            #expect(seen > 50, "the directory gives many users something to see")
            let everything = try await Self.walk(db, .operator(uid: 0), limit: 500)
            #expect(everything.count == 8 && everything.allSatisfy { $0.permissions == .all && $0.managesAccess })
            let one = try await Self.walk(db, .user(.init(id: users[0].1, login: "u"), via: .socket(uid: 1)), domain: "a1.test", limit: 5)
            #expect(one.isEmpty, "no role, nothing given: nothing, even in one domain")
        }
    }

    /// Every page, following `next`; each mailbox once, in byte order.
    static func walk(_ db: StoreTransaction, _ actor: Actor, domain: String? = nil, limit: Int) async throws -> [VisibleMailbox] {
        var all: [VisibleMailbox] = []
        var after: String?
        repeat {
            let page = try await db.visibleMailboxes(of: actor, domain: domain, page: try PageRequest(limit: limit, after: after))
            #expect(page.items.count <= limit)
            all += page.items
            after = page.next
        } while after != nil
        #expect(Set(all.map(\.target.id)).count == all.count, "each mailbox once")
        #expect(all.map(\.target.address) == all.map(\.target.address).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        return all
    }
}
