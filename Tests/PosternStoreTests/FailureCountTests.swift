import Foundation
@testable import PosternStore
import Testing

/// The failure counts the sign-in throttle and the re-confirmation lockout keep for every node
/// (`failureCount`), on both engines; on PostgreSQL two stores on one database are two nodes.
@Suite struct FailureCountTests {
    @Test(arguments: StoreEngineKind.allCases) func twoNodesCountIntoTheSameKeysAndAgedFailuresStartAgain(_ kind: StoreEngineKind) async throws {
        let url = try await freshURL(kind)
        let nodeA = try await Store.open(url: url)
        let nodeB = kind == .postgres ? try await Store.open(url: url) : nodeA
        let start = Date()
        let window: TimeInterval = 900
        let keys = ["signin source 192.0.2.9", "signin pair cole 192.0.2.9", "signin login cole"]
        for node in [nodeA, nodeB, nodeA] {
            try await node.tally { try await $0.addFailure(keys, at: start, forgetBefore: start - window) }
        }
        // Both nodes at once: each upsert adds one, none is lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<10 {
                let node = n % 2 == 0 ? nodeA : nodeB
                group.addTask { try await node.tally { try await $0.addFailure(keys, at: start + 1, forgetBefore: start - window) } }
            }
            try await group.waitForAll()
        }
        for node in [nodeA, nodeB] {
            let counts = try await node.tally { try await $0.failureCounts(keys + ["signin login nobody"], since: start - window) }
            #expect(counts.mapValues(\.failures) == Dictionary(uniqueKeysWithValues: keys.map { ($0, 13) }))
            #expect(counts[keys[0]]?.lastAt.timeIntervalSince1970 == ((start + 1).timeIntervalSince1970 * 1000).rounded() / 1000)
        }
        // Seen from later than the window: nothing; a failure then starts from one.
        let later = start + window + 10
        #expect(try await nodeB.tally { try await $0.failureCounts(keys, since: later - window) }.isEmpty)
        try await nodeB.tally { try await $0.addFailure([keys[2]], at: later, forgetBefore: later - window) }
        #expect(try await nodeA.tally { try await $0.failureCounts(keys, since: later - window) }.mapValues(\.failures) == [keys[2]: 1])
        #expect(try await nodeA.tally { try await $0.forgetFailures(before: later - window) } == 2)
        #expect(try await nodeA.tally { try await $0.failureKeyCount() } == 1)
    }

    @Test(arguments: StoreEngineKind.allCases) func forgivingAPairTakesItsFailuresOffItsSourceAndLogin(_ kind: StoreEngineKind) async throws {
        let store = try await Store.open(url: try await freshURL(kind))
        let now = Date(), since = now - 900
        try await store.tally { db in
            for _ in 0..<3 { try await db.addFailure(["s", "p", "l"], at: now, forgetBefore: since) }
            for _ in 0..<2 { try await db.addFailure(["s", "other pair", "l"], at: now, forgetBefore: since) }
        }
        try await store.tally { try await $0.forgiveFailures(pair: "p", others: ["s", "l"], since: since) }
        #expect(try await store.tally { try await $0.failureCounts(["s", "p", "l", "other pair"], since: since) }.mapValues(\.failures)
            == ["s": 2, "l": 2, "other pair": 2])
        try await store.tally { try await $0.forgiveFailures(pair: "other pair", others: ["s", "l"], since: since) }
        #expect(try await store.tally { try await $0.failureKeyCount() } == 0, "a count down to nothing is removed")
        // A pair never seen: nothing changes.
        try await store.tally { try await $0.forgiveFailures(pair: "nobody", others: ["s"], since: since) }
    }
}
