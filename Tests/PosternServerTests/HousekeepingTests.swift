import Foundation
import Logging
import PosternAuth
import PosternCore
@testable import PosternServer
import PosternStore
import Testing

@Suite struct DeviceExpiryTests {
    @Test func anExpiredPasswordFailsLikeARevokedOne() async throws {
        let plane = try makePlane()
        _ = try plane.addMailbox("alice@example.org", actor: "t")
        let secret = try plane.addDevice("alice@example.org", name: "phone", expiresAt: Date() + 3600, actor: "t")
        let request = CheckRequest(login: "alice@example.org", password: Array(secret.password.utf8), service: "imap", remoteIP: nil)
        #expect(await plane.check.check(request) == .ok(user: "alice@example.org", deviceID: secret.device.id))
        // The check compares with the clock itself: an expiry that has passed needs no housekeeping to take effect.
        plane.index.apply([.addDevice(PasswordDigest(password: Array(secret.password.utf8), key: plane.serverKey),
                                      DeviceCredential(deviceID: secret.device.id, address: "alice@example.org", expiresAt: Date() - 1))])
        #expect(await plane.check.check(request) == .fail)
        // Set again to later: it works again at once.
        let later = try plane.setExpiry("alice@example.org", device: "phone", expiresAt: Date() + 7200, actor: "t")
        #expect(later.expiresAt != nil)
        #expect(await plane.check.check(request) == .ok(user: "alice@example.org", deviceID: secret.device.id))
        _ = try plane.setExpiry("alice@example.org", device: "phone", expiresAt: nil, actor: "t")
        #expect(try plane.devices("alice@example.org").first?.expiresAt == nil)
    }

    @Test func anExpiryIsInTheFutureAndOnlyForDevicePasswords() throws {
        let plane = try makePlane()
        _ = try plane.importPasswdFile("carol@example.org:{PLAIN}x\n", actor: "t")
        #expect(throws: PosternError.self) { try plane.addDevice("carol@example.org", name: "old", expiresAt: Date() - 60, actor: "t") }
        #expect(try plane.devices("carol@example.org").count == 1, "nothing was added")
        #expect(throws: PosternError.self) {
            try plane.setExpiry("carol@example.org", device: "generic password", expiresAt: Date() + 60, actor: "t")
        }
    }

    @Test func housekeepingRecordsEachExpiryOnceAndTellsDovecot() async throws {
        let dir = NSTemporaryDirectory() + "postern-expiry-\(UUID().uuidString)"
        let store = try Store(path: dir + "/db.sqlite")
        let marker = dir + "/kicked"
        var settings = RevocationSettings()
        settings.commands.flush = ["sh", "-c", "echo flush >> \(marker)"]
        let hooks = RevocationHooks(settings: settings, store: store, logger: Logger(label: "t"))
        let plane = ControlPlane(store: store, key: ServerKey(key: .init(size: .bits256)), index: CredentialIndex(), lastUse: LastUseRecorder(),
                                 hooks: hooks, logger: Logger(label: "t"))
        _ = try plane.addOrganization("O", actor: "t")
        _ = try plane.addMailService(name: "s", organization: "O", domains: ["example.org"], actor: "t")
        _ = try plane.addMailbox("alice@example.org", actor: "t")
        _ = try plane.addDevice("alice@example.org", name: "phone", expiresAt: Date() + 60, actor: "t")
        _ = try plane.addDevice("alice@example.org", name: "laptop", actor: "t")
        #expect(try plane.expireDevices() == 0, "not yet")
        #expect(try plane.expireDevices(at: Date() + 120) == 1)
        #expect(try plane.expireDevices(at: Date() + 180) == 0, "handled once")
        let history = try plane.history("alice@example.org", limit: 10).map(\.action)
        #expect(history.filter { $0 == "device.expired" }.count == 1)
        let task = Task { try await hooks.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? String(contentsOfFile: marker, encoding: .utf8)) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "flush\n", "the revocation hooks ran for the expired device")
    }
}

@Suite struct UnusedDeviceTests {
    @Test func devicesUnusedForTooLongAreRemovedEachWithAHistoryLine() async throws {
        let plane = try makePlane()
        _ = try plane.importPasswdFile("alice@example.org:{PLAIN}x\n", actor: "t")
        let idle = try plane.addDevice("alice@example.org", name: "old phone", actor: "t")
        let used = try plane.addDevice("alice@example.org", name: "laptop", actor: "t")
        _ = await plane.check.check(CheckRequest(login: "alice@example.org", password: Array(used.password.utf8), service: "imap", remoteIP: nil))
        #expect(try plane.removeUnusedDevices(olderThanDays: 30) == 0, "nothing is 30 days old")
        // 31 days on, measured from the laptop's last use: it was used (in memory, not flushed), the phone never.
        let later = Date() + 31 * 86_400
        plane.lastUse.record(deviceID: used.device.id, LastUse(at: later - 86_400, ip: nil, service: "imap"))
        #expect(try plane.removeUnusedDevices(olderThanDays: 30, now: later) == 1)
        let names = try plane.devices("alice@example.org").map(\.name)
        #expect(names == ["generic password", "laptop"], "the generic password is left to its policy")
        let check = plane.check
        #expect(await check.check(CheckRequest(login: "alice@example.org", password: Array(idle.password.utf8), service: "imap", remoteIP: nil)) == .fail)
        let line = try #require(try plane.history("alice@example.org", limit: 5).first)
        #expect(line.action == "device.removed_unused" && line.detail.contains("old phone") && line.detail.contains("more than 30 days"))
    }
}
