import Foundation
import GRDB
import PosternCore
@testable import PosternStore
import Testing

/// The store's statements, on both engines: each test runs once on SQLite and once on a real
/// PostgreSQL server (TestPostgres).
@Suite struct StoreTests {
    static func setUp(_ kind: StoreEngineKind, url: String? = nil) async throws -> Store {
        let fresh = if let url { url } else { try await freshURL(kind) }
        let store = try await Store.open(url: fresh)
        _ = try await store.write { db in
            _ = try await db.createOrganization("Example Ltd")
            _ = try await db.createMailService(name: "example", organization: "Example Ltd", domains: ["Example.org", "example.net"])
        }
        return store
    }

    @Test func theSQLiteDatabaseIsInWALModeWithFullSync() async throws {
        let store = try await Self.setUp(.sqlite)
        #expect(store.isNew)
        let pool = try #require(store.sqlitePool)
        let mode = try await pool.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        let sync = try await pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(mode == "wal")
        #expect(sync == 2)  // FULL
    }

    @Test(arguments: StoreEngineKind.allCases) func mailboxesLandInTheServiceOfTheirDomain(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("alice@EXAMPLE.net")) }
        #expect(box.mailService == "example")
        #expect(box.address.description == "alice@example.net")
        let again = await #expect(throws: PosternError.self) { try await store.write { try await $0.createMailbox(try MailAddress("alice@example.net")) } }
        #expect(again?.code == "mailbox_exists")
        // A domain no service holds is refused: no mailbox appears, and the error says why.
        let outside = await #expect(throws: PosternError.self) { try await store.write { try await $0.createMailbox(try MailAddress("x@other.org")) } }
        #expect(outside?.code == "domain_not_served")
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), domain: "other.org", page: .first()).items }.isEmpty)
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), domain: "example.net", page: .first()).items }.count == 1)
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), domain: "example.org", page: .first()).items }.isEmpty)
    }

    @Test(arguments: StoreEngineKind.allCases) func aDomainBelongsToOneServiceAndNonEmptyThingsCannotBeRemoved(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        await #expect(throws: PosternError.self) {
            try await store.write { try await $0.createMailService(name: "other", organization: "Example Ltd", domains: ["example.org"]) }
        }
        _ = try await store.write { try await $0.createMailbox(try MailAddress("a@example.org")) }
        await #expect(throws: PosternError.self) { try await store.write { try await $0.removeMailService("example") } }
        await #expect(throws: PosternError.self) { try await store.write { try await $0.removeOrganization("Example Ltd") } }
    }

    @Test(arguments: StoreEngineKind.allCases) func devicesRotateAndDeleteAndLastUseIsWritten(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("a@example.org")) }
        let digest = [UInt8](repeating: 1, count: 32)
        let device = try await store.write { try await $0.insertDevice(mailboxID: box.id!, name: "iPhone", digest: digest) }
        await #expect(throws: StoreError.self) { try await store.write { try await $0.insertDevice(mailboxID: box.id!, name: "Other", digest: digest) } }
        let rotated = try await store.write { try await $0.rotateDevice(id: device.id, digest: [UInt8](repeating: 2, count: 32)) }
        #expect(rotated.rotatedAt != nil)
        let when = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.write { try await $0.recordLastUse([device.id: LastUse(at: when, ip: "192.0.2.9", service: "imap"), 999: LastUse(at: when, ip: nil, service: "smtp")]) }
        // Another node's older use, flushed later, does not go back in time: the latest wins.
        try await store.write { try await $0.recordLastUse([device.id: LastUse(at: when - 60, ip: "198.51.100.1", service: "smtp")]) }
        let listed = try await store.read { try await $0.devices(mailboxID: box.id!) }
        #expect(listed.count == 1)
        #expect(listed[0].lastUse == LastUse(at: when, ip: "192.0.2.9", service: "imap"))
        try await store.write { try await $0.recordLastUse([device.id: LastUse(at: when + 60, ip: "198.51.100.1", service: "smtp")]) }
        #expect(try await store.read { try await $0.devices(mailboxID: box.id!) }[0].lastUse?.ip == "198.51.100.1")
        let credentials = try await store.read { db in
            var all: [StoredCredential] = []
            try await db.forEachCredential { all.append($0) }
            return all
        }
        #expect(credentials.map(\.digest) == [[UInt8](repeating: 2, count: 32)])
        try await store.write { try await $0.deleteDevices(ids: [device.id]) }
        #expect(try await store.read { try await $0.devices(mailboxID: box.id!) }.isEmpty)
    }

    @Test(arguments: StoreEngineKind.allCases) func scopesAreStoredAndLoaded(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("s@example.org")) }
        let scope = try ServiceScope(names: ["pop3", "imap"])
        let device = try await store.write { try await $0.insertDevice(mailboxID: box.id!, name: "old phone", digest: [UInt8](repeating: 9, count: 32), scope: scope) }
        #expect(try await store.read { try await $0.devices(mailboxID: box.id!) }.first?.scope == scope)
        let loaded = try await store.read { db in
            var all: [StoredCredential] = []
            try await db.forEachCredential { all.append($0) }
            return all
        }
        #expect(loaded.first?.scope == scope)
        let widened = try await store.write { try await $0.setScope(deviceID: device.id, .all) }
        #expect(widened.scope == .all)
    }

    @Test(arguments: StoreEngineKind.allCases) func aMailboxHasAtMostOneGenericPassword(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("g@example.org")) }
        let p1 = try GenericPassword(parsing: "{SHA512-CRYPT}$6$a$b"), p2 = try GenericPassword(parsing: "{BLF-CRYPT}$2y$05$c")
        _ = try await store.write { try await $0.setGenericPassword(mailboxID: box.id!, p1) }
        _ = try await store.write { try await $0.setGenericPassword(mailboxID: box.id!, p2) }
        let devices = try await store.read { try await $0.devices(mailboxID: box.id!) }
        #expect(devices.map(\.kind) == [.generic])
        #expect(try await store.read { try await $0.genericPassword(mailboxID: box.id!) } == p2)
    }

    @Test(arguments: StoreEngineKind.allCases) func removingAMailboxRemovesItsDevicesButKeepsItsHistory(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("r@example.org")) }
        _ = try await store.write { try await $0.insertDevice(mailboxID: box.id!, name: "a", digest: [UInt8](repeating: 3, count: 32)) }
        try await store.write { try await $0.appendHistory(HistoryEntry(mailbox: "r@example.org", actor: "t", action: "x", detail: "y")) }
        let (_, ids) = try await store.write { try await $0.removeMailbox(try MailAddress("r@example.org")) }
        #expect(ids.count == 1)
        #expect(try await store.read { try await $0.deviceCount() } == 0)
        #expect(try await store.read { try await $0.history(mailbox: "r@example.org") }.count == 1)
    }

    @Test(arguments: StoreEngineKind.allCases) func theActionHistoryIsAppendOnly(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        try await store.write { try await $0.appendHistory(HistoryEntry(mailbox: "a@example.org", actor: "t", action: "x", detail: "y")) }
        await #expect(throws: StoreError.self) { try await store.write { try await $0.execute(sql: "UPDATE history SET detail = 'z'") } }
        await #expect(throws: StoreError.self) { try await store.write { try await $0.execute(sql: "DELETE FROM history") } }
    }

    @Test(arguments: StoreEngineKind.allCases) func aFailedWriteChangesNothingAndSkipsAfterCommit(_ kind: StoreEngineKind) async throws {
        let store = try await Self.setUp(kind)
        let ran = LockedFlag()
        await #expect(throws: PosternError.self) {
            try await store.write({ db in
                _ = try await db.createMailbox(try MailAddress("half@example.org"))
                throw PosternError(.badRequest, "stop")
            }, afterCommit: { _ in ran.set() })
        }
        #expect(!ran.value)
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), page: .first()) }.isEmpty)
    }

    @Test(arguments: StoreEngineKind.allCases) func reopeningKeepsDataAndRunsNoMigrationTwice(_ kind: StoreEngineKind) async throws {
        let url = try await freshURL(kind)
        let store = try await Self.setUp(kind, url: url)
        #expect(store.isNew)
        _ = try await store.write { try await $0.createMailbox(try MailAddress("keep@example.org")) }
        store.shutdown()
        let again = try await Store.open(url: url)
        #expect(!again.isNew)
        #expect(try await again.read { try await $0.visibleMailboxes(of: .operator(uid: 0), page: .first()) }.count == 1)
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}

@Suite struct DatabaseURLTests {
    @Test func urlsAreReadAndABadOneIsRefusedWithoutRepeatingIt() async throws {
        guard case let .postgres(settings) = try DatabaseURL("postgres://postern:s%40cret@db.example.net:5433/mail") else { Issue.record("not postgres"); return }
        #expect(settings.host == "db.example.net" && settings.port == 5433 && settings.user == "postern" && settings.password == "s@cret")
        #expect(!settings.display.contains("cret"), "the password stays out of logs and errors")
        guard case let .postgres(socket) = try DatabaseURL("postgres://postern@/mail?host=/run/postgresql") else { Issue.record("not postgres"); return }
        #expect(socket.socketDirectory == "/run/postgresql" && socket.host == nil)
        guard case let .sqlite(path) = try DatabaseURL("sqlite:./var/postern.sqlite") else { Issue.record("not sqlite"); return }
        #expect(path == "./var/postern.sqlite")
        for bad in ["postgresql:/postern:hunter2@db/mail", "postgres://postern:hunter2@db/", "postgres://:hunter2@db/mail", "mysql://u:hunter2@h/d",
                    "postgres://u:hunter2@/mail?host=relative"] {
            #expect { try DatabaseURL(bad) } throws: { !"\($0)".contains("hunter2") && "\($0)".contains("database.url") }
        }
    }
}

@Suite struct StoreDamageTests {
    func populated() async throws -> String {
        let path = NSTemporaryDirectory() + "postern-damage-\(UUID().uuidString)/db.sqlite"
        let store = try Store(path: path)
        try await store.write { db in
            _ = try await db.createOrganization("O")
            _ = try await db.createMailService(name: "s", organization: "O", domains: ["example.org"])
            for i in 0..<200 { _ = try await db.createMailbox(try MailAddress("user\(i)@example.org")) }
        }
        try await store.sqlitePool!.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try store.sqlitePool!.close()
        return path
    }

    @Test func anEmptyDatabaseFileIsRefusedNotTakenForANewOne() async throws {
        let path = try await populated()
        try Data().write(to: URL(fileURLWithPath: path))
        #expect { try Store(path: path) } throws: { ($0 as? StoreOpenError).map { "\($0)".contains("empty file") } ?? false }
    }

    @Test func aSmashedPageIsRefusedAtStart() async throws {
        let path = try await populated()
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size - 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 4096))
        try handle.close()
        #expect { try Store(path: path) } throws: { ($0 as? StoreOpenError).map { "\($0)".contains("damaged") } ?? false }
    }

    @Test func aFullDiskIsA503ThatChangesNothingAndHealthSaysSo() async throws {
        let store = try Store(path: NSTemporaryDirectory() + "postern-full-\(UUID().uuidString)/db.sqlite")
        try await store.write { db in _ = try await db.createOrganization("O") }
        let pages = try await store.sqlitePool!.read { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
        try await store.sqlitePool!.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = \(pages)") }
        await #expect(throws: PosternError.self) {
            try await store.write { db in for i in 0..<2000 { _ = try await db.createOrganization("organization number \(i) with a long name") } }
        }
        #expect(store.writeFailure != nil)
        #expect(try await store.read { try await $0.organizations().count } == 1, "nothing of the failed write landed")
        try await store.sqlitePool!.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try await store.write { db in _ = try await db.createOrganization("P") }
        #expect(store.writeFailure == nil, "the next good write clears it")
    }
}
