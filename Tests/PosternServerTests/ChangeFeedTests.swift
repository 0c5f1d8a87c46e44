import Foundation
import NIOPosix
import PosternAuth
@testable import PosternControl
import PosternCore
import PosternStore
@testable import PosternServer
import Testing

@Suite struct ChangeFeedTests {
    static let digest = PasswordDigest(bytes: [UInt8](repeating: 0xAB, count: 32))!

    static func change(_ address: String) -> NodeChange {
        NodeChange(credentials: [.addDevice(digest, DeviceCredential(deviceID: 7, address: address, scope: try! ServiceScope(names: ["imap"]),
                                                                    expiresAt: Date(timeIntervalSince1970: 1_900_000_000))),
                                 .removeDevice(8, digest: nil)],
                   routing: [.addAlias("info@example.org", mailbox: address), .setRedirect(mailbox: address, .init(targets: ["b@example.net"], keepCopy: true))],
                   revocations: [.init(event: .device(address: address, ips: ["192.0.2.1"]), devices: [7], gone: false)])
    }

    @Test func aChangeSurvivesTheLogAsItWasMade() throws {
        let change = Self.change("alice@example.org")
        let json = try ChangeFeed.encoder.encode(change)
        #expect(try JSONDecoder().decode(NodeChange.self, from: json) == change)
        #expect(!String(decoding: json, as: UTF8.self).contains("password"), "digests travel, never passwords")
    }

    @Test func changesApplyInSequenceOrderEachOnce() {
        let feed = ChangeFeed()
        feed.start(at: 4)
        var applied: [String] = []
        let a = Self.change("a@example.org"), b = Self.change("b@example.org"), c = Self.change("c@example.org")
        feed.take([(4, a), (5, a), (6, b)]) { applied.append($0.routing.first.map { "\($0)" } ?? "") }
        feed.take([(6, b), (7, c)]) { applied.append($0.routing.first.map { "\($0)" } ?? "") }
        #expect(applied.count == 3, "4 was in the snapshot; 6 came twice and applied once")
        #expect(feed.status.lastApplied == 7)
        #expect(!feed.status.stale)
    }

    static func logged(_ seq: Int64, _ change: NodeChange) throws -> LoggedChange {
        LoggedChange(seq: seq, node: "n", change: String(decoding: try ChangeFeed.encoder.encode(change), as: UTF8.self))
    }

    @Test func theLogIsDecodedOnlyForWhatThisNodeHasNotApplied() async throws {
        let feed = ChangeFeed()
        feed.start(at: 2)
        var applied: [NodeChange] = []
        // 1 and 2 are applied (this node's own, say): not decoded, so not even a broken row stops the catch-up.
        let log = [LoggedChange(seq: 1, node: "n", change: "not json"), LoggedChange(seq: 2, node: "n", change: "{"),
                   try Self.logged(3, Self.change("c@example.org")), try Self.logged(4, Self.change("d@example.org"))]
        try feed.takeFromLog(log, after: 0) { applied.append($0) }
        #expect(applied == [Self.change("c@example.org"), Self.change("d@example.org")])
        #expect(feed.status.lastApplied == 4)
        // A row this node needs and cannot read is an error, and nothing past it is applied.
        #expect(throws: DecodingError.self) {
            try feed.takeFromLog([LoggedChange(seq: 5, node: "m", change: "{}"), try Self.logged(6, Self.change("f@example.org"))], after: 4) { applied.append($0) }
        }
        #expect(feed.status.lastApplied == 4 && applied.count == 2)
    }

    @Test func aChangeMissedForGoodMakesTheNodeStale() throws {
        let freshness = Freshness()
        let feed = ChangeFeed(freshness: freshness)
        feed.start(at: 2)
        var count = 0
        // Out of order (a write's own change ahead of others not read yet): waits for the catch-up.
        feed.take([(5, Self.change("a@example.org"))]) { _ in count += 1 }
        #expect(count == 0 && !feed.status.stale)
        // The log itself no longer holds 3 and 4.
        try feed.takeFromLog([try Self.logged(5, Self.change("a@example.org"))], after: 2) { _ in count += 1 }
        #expect(count == 0)
        #expect(feed.status.stale && freshness.isStale)
        #expect(feed.status.problem?.contains("restart") == true)
    }

    @Test func aNodeNotInStepForLongerThanAllowedIsStaleUntilItIsAgain() async {
        let freshness = Freshness()
        let feed = ChangeFeed(freshness: freshness, maxLag: .milliseconds(200))
        feed.start(at: 0)
        feed.arm()
        #expect(!freshness.isStale && !feed.status.stale)
        // No proof of being in step comes: the deadline passes without any timer or reader
        // looking, and the check sees it by itself.
        let started = ContinuousClock.now
        while !freshness.isStale && ContinuousClock.now - started < .seconds(5) { await Task.yield() }
        #expect(freshness.isStale && feed.status.stale)
        #expect(ContinuousClock.now - started >= .milliseconds(150))
        // An older proof moves nothing; a new one makes it current again.
        feed.synced(at: .now - .seconds(1))
        #expect(freshness.isStale)
        feed.synced(at: .now)
        #expect(!freshness.isStale && !feed.status.stale)
    }

    @Test func aSingleNodeIsNeverStale() {
        let freshness = Freshness()
        let feed = ChangeFeed(freshness: freshness, maxLag: .seconds(1))
        feed.start(at: 0)
        #expect(!freshness.isStale)  // not armed: no feed service runs on SQLite
    }

    @Test func aStaleNodeAnswersEveryCheckWithATemporaryFailure() async throws {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("a@example.org", actor: .op)
        let secret = try await plane.devices.addDevice("a@example.org", name: "phone", actor: .op)
        let freshness = Freshness()
        let check = PasswordCheck(key: plane.serverKey, index: plane.index, lastUse: plane.lastUse, threadPool: NIOThreadPool.singleton, freshness: freshness)
        let request = CheckRequest(login: "a@example.org", password: Array(secret.password.utf8), service: "imap", remoteIP: nil)
        #expect(await check.check(request) == .ok(user: "a@example.org", deviceID: secret.device.id))
        freshness.set(stale: true)
        #expect(await check.check(request) == .tempFail)
        freshness.set(stale: false)
        #expect(await check.check(request) == .ok(user: "a@example.org", deviceID: secret.device.id))
    }
}
