import Foundation
import PosternCore
@testable import PosternStore
import Testing

/// Keyset pages on both engines: walking `next` returns each mailbox exactly once while others
/// are added and removed between the pages, in byte order, and a "previous" page is the one before.
@Suite struct PagingTests {
    /// 1,234 mailboxes in two mail services of one organization, an administrator of it, and a
    /// collaborator given one of the services and access to one mailbox of the other.
    static func directory(_ kind: StoreEngineKind) async throws -> (Store, admin: Actor, collaborator: Actor) {
        let store = try await Store.open(url: try await freshURL(kind))
        let (admin, collaborator) = try await store.write { db -> (Actor, Actor) in
            _ = try await db.createOrganization("Big")
            _ = try await db.createMailService(name: "one", organization: "Big", domains: ["one.test"])
            _ = try await db.createMailService(name: "two", organization: "Big", domains: ["two.test"])
            let one = try #require(try await db.serviceTarget(name: "one")).id, two = try #require(try await db.serviceTarget(name: "two")).id
            _ = try await db.insertImportedMailboxes((0..<1234).map { n in
                (address: "user\(String(format: "%04d", n))@\(n % 2 == 0 ? "one.test" : "two.test")", serviceID: n % 2 == 0 ? one : two)
            }, at: Date())
            let org = try await db.organizationID("Big")
            let admin = try await db.createUser(login: "admin@corp.test", displayName: "", passwordHash: nil)
            try await db.setRole(userID: admin.id, organizationID: org, .administrator)
            let collaborator = try await db.createUser(login: "colin@corp.test", displayName: "", passwordHash: nil)
            try await db.setRole(userID: collaborator.id, organizationID: org, .collaborator)
            try await db.grantService(userID: collaborator.id, serviceID: try #require(try await db.serviceTarget(name: "one")).id)
            try await db.setAccess(userID: collaborator.id, mailboxID: try db.mailbox(try MailAddress("user0001@two.test")).id!, .devices)
            return (.user(.init(id: admin.id, login: admin.login), via: .socket(uid: 1)), .user(.init(id: collaborator.id, login: collaborator.login), via: .socket(uid: 2)))
        }
        return (store, admin, collaborator)
    }

    @Test(arguments: StoreEngineKind.allCases) func walkingNextReturnsEachMailboxOnceWhileTheListChanges(_ kind: StoreEngineKind) async throws {
        let (store, admin, _) = try await Self.directory(kind)
        let before = try await Set(store.read { db in try await Self.walk(db, .operator(uid: 0), limit: 500) })
        #expect(before.count == 1234)
        var seen: [String] = []
        var added: Set<String> = [], removed: Set<String> = []
        var after: String?
        var pages = 0
        repeat {
            let cursor = after
            let page = try await store.read { db in try await db.visibleMailboxes(of: admin, page: try PageRequest(limit: 97, after: cursor)) }
            #expect(page.count <= 97)
            seen += page.map(\.target.address)
            after = page.next
            pages += 1
            // Between two pages: one mailbox added ahead and one behind the cursor, one removed
            // ahead (not seen yet) and, every third page, one removed behind (seen already).
            let ahead = try MailAddress("user\(String(format: "%04d", 1234 + pages))x@one.test")
            let behind = try MailAddress("aaa\(pages)@two.test")
            let last = seen.last
            let next = last.flatMap { last in before.filter { $0 > last && !removed.contains($0) }.min() }
            let old = pages % 3 == 0 ? seen.first { !removed.contains($0) && before.contains($0) } : nil
            try await store.write { db in
                _ = try await db.createMailbox(ahead)
                _ = try await db.createMailbox(behind)
                for gone in [next, old].compactMap({ $0 }) { _ = try await db.removeMailbox(try MailAddress(gone)) }
            }
            added.formUnion([ahead.description, behind.description])
            removed.formUnion([next, old].compactMap { $0 })
        } while after != nil
        #expect(pages >= 13)
        #expect(Set(seen).count == seen.count, "no mailbox twice")
        #expect(seen == seen.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "in byte order")
        let stayed = before.subtracting(removed)
        #expect(stayed.isSubset(of: Set(seen)), "every mailbox there from start to end was returned")
        #expect(Set(seen).isSubset(of: before.union(added)), "nothing that never existed")
        let goneUnseen = removed.filter { gone in !seen.contains(gone) }
        #expect(!goneUnseen.isEmpty, "mailboxes removed ahead of the cursor were removed before their page")
    }

    @Test(arguments: StoreEngineKind.allCases) func aPreviousPageIsThePageBefore(_ kind: StoreEngineKind) async throws {
        let (store, admin, collaborator) = try await Self.directory(kind)
        try await store.read { db in
            let first = try await db.visibleMailboxes(of: admin, page: try PageRequest(limit: 10))
            #expect(first.previous == nil && first.next != nil)
            let second = try await db.visibleMailboxes(of: admin, page: try PageRequest(limit: 10, after: first.next))
            let back = try await db.visibleMailboxes(of: admin, page: try PageRequest(limit: 10, before: second.previous))
            #expect(back.map(\.target.address) == first.map(\.target.address))
            #expect(back.previous == nil, "the page before the second is the first")
            #expect(second.next != nil && second.previous == second.first?.target.address)
            // A search: addresses that begin with it, whatever the case, paged the same way.
            let search = try await db.visibleMailboxes(of: admin, page: try PageRequest(limit: 5, search: "USER012"))
            #expect(search.map(\.target.address) == ["user0120@one.test", "user0121@two.test", "user0122@one.test", "user0123@two.test", "user0124@one.test"])
            #expect(search.next == "user0124@one.test")
            // The collaborator: every mailbox of the service given to them, and the one of the other they have access to.
            let theirs = try await Self.walk(db, collaborator, limit: 50)
            #expect(theirs.count == 617 + 1 && theirs.contains("user0001@two.test"))
            // One domain: the service holding it, nothing else.
            let two = try await db.visibleMailboxes(of: admin, domain: "two.test", page: try PageRequest(limit: 500))
            #expect(two.count == 500 && two.allSatisfy { $0.target.address.hasSuffix("@two.test") })
            #expect(try await db.visibleMailboxes(of: admin, domain: "nowhere.test", page: .first()).isEmpty)
        }
    }

    @Test func aPageRequestRefusesWhatIsOutOfRange() async throws {
        for limit in [0, -1, 501] {
            #expect(throws: PosternError.self) { try PageRequest(limit: limit) }
        }
        #expect(try PageRequest(query: [:]).limit == 50)
        #expect((try? PageRequest(query: ["limit": "ten"])) == nil)
        #expect((try? PageRequest(query: ["after": ""])) == nil)
        #expect((try? PageRequest(query: ["after": String(repeating: "x", count: 513)])) == nil)
        #expect(try PageRequest(query: ["q": "  "]).search == nil)
        #expect(try PageRequest(after: "a", before: "b").before == nil, "after wins")
    }

    static func walk(_ db: StoreTransaction, _ actor: Actor, limit: Int) async throws -> [String] {
        var all: [String] = []
        var after: String?
        repeat {
            let page = try await db.visibleMailboxes(of: actor, page: try PageRequest(limit: limit, after: after))
            all += page.map(\.target.address)
            after = page.next
        } while after != nil
        return all
    }
}
