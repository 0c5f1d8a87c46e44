import Foundation
import GRDB
import Logging
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
@testable import PosternStore
import Synchronization
import Testing

@Suite struct DeviceExpiryTests {
    @Test func anExpiredPasswordFailsLikeARevokedOne() async throws {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let secret = try await plane.devices.addDevice("alice@example.org", name: "phone", expiresAt: Date() + 3600, actor: .op)
        let request = CheckRequest(login: "alice@example.org", password: Array(secret.password.utf8), service: "imap", remoteIP: nil)
        #expect(await plane.check.check(request) == .ok(user: "alice@example.org", deviceID: secret.device.id))
        // The check compares with the clock itself: an expiry that has passed needs no housekeeping to take effect.
        plane.index.apply([.addDevice(PasswordDigest(password: Array(secret.password.utf8), key: plane.serverKey),
                                      DeviceCredential(deviceID: secret.device.id, address: "alice@example.org", expiresAt: Date() - 1))])
        #expect(await plane.check.check(request) == .fail)
        // Set again to later: it works again at once.
        let later = try await plane.devices.setExpiry("alice@example.org", device: "phone", expiresAt: Date() + 7200, actor: .op)
        #expect(later.expiresAt != nil)
        #expect(await plane.check.check(request) == .ok(user: "alice@example.org", deviceID: secret.device.id))
        _ = try await plane.devices.setExpiry("alice@example.org", device: "phone", expiresAt: nil, actor: .op)
        #expect(try await plane.devices.devices("alice@example.org", actor: .op).first?.expiresAt == nil)
    }

    @Test func anExpiryIsInTheFutureAndOnlyForDevicePasswords() async throws {
        let plane = try await makePlane()
        _ = try await plane.imports.importPasswdFile("carol@example.org:{PLAIN}x\n", actor: .op)
        await #expect(throws: PosternError.self) { try await plane.devices.addDevice("carol@example.org", name: "old", expiresAt: Date() - 60, actor: .op) }
        #expect(try await plane.devices.devices("carol@example.org", actor: .op).count == 1, "nothing was added")
        await #expect(throws: PosternError.self) {
            try await plane.devices.setExpiry("carol@example.org", device: "generic password", expiresAt: Date() + 60, actor: .op)
        }
    }

    @Test func housekeepingRecordsEachExpiryOnceAndTellsDovecot() async throws {
        let dir = NSTemporaryDirectory() + "postern-expiry-\(UUID().uuidString)"
        let store = try Store(path: dir + "/db.sqlite")
        let marker = dir + "/kicked"
        var settings = RevocationSettings()
        settings.commands.flush = ["sh", "-c", "echo flush >> \(marker)"]
        let hooks = RevocationHooks(settings: settings, store: store, logger: Logger(label: "t"))
        let plane = Planes(store: store, key: ServerKey(key: .init(size: .bits256)), index: CredentialIndex(), lastUse: LastUseRecorder(),
                                 hooks: hooks, logger: Logger(label: "t"))
        _ = try await plane.directory.addOrganization("O", actor: .op)
        _ = try await plane.directory.addMailService(name: "s", organization: "O", domains: ["example.org"], actor: .op)
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        _ = try await plane.devices.addDevice("alice@example.org", name: "phone", expiresAt: Date() + 60, actor: .op)
        _ = try await plane.devices.addDevice("alice@example.org", name: "laptop", actor: .op)
        #expect(try await plane.devices.expireDevices() == 0, "not yet")
        #expect(try await plane.devices.expireDevices(at: Date() + 120) == 1)
        #expect(try await plane.devices.expireDevices(at: Date() + 180) == 0, "handled once")
        let history = try await plane.directory.history("alice@example.org", page: .first(10), actor: .op).map(\.action)
        #expect(history.filter { $0 == "device.expired" }.count == 1)
        let task = Task { try await hooks.run() }
        defer { task.cancel() }
        try await eventually("the flush command's marker file", within: 60) {
            (try? String(contentsOfFile: marker, encoding: .utf8))?.isEmpty == false
        }
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "flush\n", "the revocation hooks ran for the expired device")
    }
}

@Suite struct UnusedDeviceTests {
    @Test func devicesUnusedForTooLongAreRemovedEachWithAHistoryLine() async throws {
        let plane = try await makePlane()
        _ = try await plane.imports.importPasswdFile("alice@example.org:{PLAIN}x\n", actor: .op)
        let idle = try await plane.devices.addDevice("alice@example.org", name: "old phone", actor: .op)
        let used = try await plane.devices.addDevice("alice@example.org", name: "laptop", actor: .op)
        _ = await plane.check.check(CheckRequest(login: "alice@example.org", password: Array(used.password.utf8), service: "imap", remoteIP: nil))
        #expect(try await plane.devices.removeUnusedDevices(olderThanDays: 30) == 0, "nothing is 30 days old")
        // 31 days on, measured from the laptop's last use: it was used (in memory, not flushed), the phone never.
        let later = Date() + 31 * 86_400
        plane.lastUse.record(deviceID: used.device.id, LastUse(at: later - 86_400, ip: nil, service: "imap"))
        #expect(try await plane.devices.removeUnusedDevices(olderThanDays: 30, now: later) == 1)
        let names = try await plane.devices.devices("alice@example.org", actor: .op).map(\.name)
        #expect(names == ["generic password", "laptop"], "the generic password is left to its policy")
        let check = plane.check
        #expect(await check.check(CheckRequest(login: "alice@example.org", password: Array(idle.password.utf8), service: "imap", remoteIP: nil)) == .fail)
        let line = try #require(try await plane.directory.history("alice@example.org", page: .first(5), actor: .op).first)
        #expect(line.action == "device.removed_unused" && line.detail.contains("old phone") && line.detail.contains("more than 30 days"))
    }
}

@Suite struct FailedLoginTests {
    @Test func failuresAreAggregatedPerIPServiceAndMechanismWithoutThePassword() async throws {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        var policy = Throttle.Policy()
        policy.freeFailures = 2
        policy.firstDelay = .milliseconds(1)
        policy.maxDelay = .milliseconds(2)
        let check = PasswordCheck(key: plane.serverKey, index: plane.index, lastUse: plane.lastUse, threadPool: .singleton, throttle: Throttle(policy: policy))
        func fail(_ ip: String?, _ service: String = "smtp", _ mechanism: String = "PLAIN", login: String = "alice@example.org") async {
            _ = await check.check(CheckRequest(login: login, password: Array("hunter2-guess".utf8), service: service, remoteIP: ip, mechanism: mechanism))
        }
        for _ in 0..<4 { await fail("192.0.2.7") }
        await fail("192.0.2.7", "imap", "LOGIN")
        await fail(nil, "smtp")
        await fail("198.51.100.1", login: "nobody@example.org")  // no such mailbox: not kept
        let rows = try await plane.devices.failedLogins("alice@example.org", log: check.failedLogins, actor: .op)
        let summary = rows.map { "\($0.ip ?? "-") \($0.service) \($0.mechanism) \($0.count) \($0.throttled)" }.sorted()
        #expect(summary == ["- smtp PLAIN 1 0", "192.0.2.7 imap LOGIN 1 1", "192.0.2.7 smtp PLAIN 4 2"])
        // A second batch adds to the same rows.
        await fail("192.0.2.7")
        let again = try await plane.devices.failedLogins("alice@example.org", log: check.failedLogins, actor: .op)
        #expect(again.first { $0.ip == "192.0.2.7" && $0.service == "smtp" }?.count == 5)
        #expect(!String(describing: again).contains("hunter2"), "nothing of the attempted password")
        // A guess from many IPs makes many rows: only the most recent ones per mailbox are kept.
        for i in 0..<10 { await fail("198.51.100.\(i + 10)") }
        _ = try await plane.devices.failedLogins("alice@example.org", log: check.failedLogins, actor: .op)
        try await plane.devices.pruneFailedLogins(perMailbox: 4)
        let kept = try await plane.devices.failedLogins("alice@example.org", log: nil, actor: .op)
        #expect(kept.count == 4 && kept.allSatisfy { $0.ip?.hasPrefix("198.51.100.") == true }, "\(kept.map(\.ip))")
        try await plane.devices.pruneFailedLogins(now: Date() + 31 * 86_400)
        #expect(try await plane.devices.failedLogins("alice@example.org", log: nil, actor: .op).isEmpty, "forgotten after 30 days")
    }
}

@Suite struct DeviceCapTests {
    @Test func aMailboxHoldsAtMostTheConfiguredNumberOfDevices() async throws {
        let base = try await makePlane()
        let plane = Planes(store: base.store, key: base.serverKey, index: base.index, lastUse: base.lastUse, maxDevicesPerMailbox: 3,
                                 logger: Logger(label: "t"))
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        for i in 0..<3 { _ = try await plane.devices.addDevice("alice@example.org", name: "d\(i)", actor: .op) }
        await #expect { try await plane.devices.addDevice("alice@example.org", name: "one more", actor: .op) } throws: {
            ($0 as? PosternError)?.code == "too_many_devices"
        }
        _ = try await plane.devices.disconnectDevice("alice@example.org", device: "d0", actor: .op)
        _ = try await plane.devices.addDevice("alice@example.org", name: "one more", actor: .op)
    }

    @Test func addingADeviceReadsNoOtherDeviceRows() async throws {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        for i in 0..<50 { _ = try await plane.devices.addDevice("alice@example.org", name: "d\(i)", actor: .op) }
        // Every statement of the next add, as SQLite runs it: none may list the mailbox's devices.
        let statements = Mutex<[String]>([])
        try await plane.store.sqlitePool!.writeWithoutTransaction { db in db.trace { event in statements.withLock { $0.append("\(event)") } } }
        _ = try await plane.devices.addDevice("alice@example.org", name: "new phone", actor: .op)
        _ = try await plane.devices.rotateDevice("alice@example.org", device: "d7", actor: .op)
        try await plane.store.sqlitePool!.writeWithoutTransaction { db in db.trace(options: [], nil) }
        let scans = statements.withLock { $0 }.filter { $0.contains("FROM device WHERE mailboxId = ") && !$0.contains("AND") && !$0.contains("count(*)") }
        #expect(scans.isEmpty, "\(scans)")
    }
}
