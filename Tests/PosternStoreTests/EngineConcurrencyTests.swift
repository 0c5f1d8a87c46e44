import Foundation
import PosternCore
@testable import PosternStore
import Synchronization
import Testing

/// How the engines run transactions side by side: a node's writes take turns and apply in commit
/// order, reads run at once on PostgreSQL's pool, a transaction keeps one snapshot and one
/// connection across its awaits (SQLite's on GRDB's thread, `TransactionThread`).
@Suite struct EngineConcurrencyTests {
    @Test func theWriteTurnLetsWaitersInInTheOrderTheyCame() async throws {
        let turn = WriteTurn()
        await turn.take()
        let order = Shared<[Int]>([])
        var waiters: [Task<Void, Never>] = []
        for i in 0..<20 {
            waiters.append(Task {
                await turn.take()
                order.value.withLock { $0.append(i) }
                turn.pass()
            })
            try await until("waiter \(i) in the queue") { turn.waiting == i + 1 }
        }
        #expect(order.value.withLock { $0 }.isEmpty, "nobody goes in while the turn is taken")
        turn.pass()
        for waiter in waiters { await waiter.value }
        #expect(order.value.withLock { $0 } == Array(0..<20))
        #expect(turn.waiting == 0)
    }

    @Test func theWriteTurnHasOneHolderAtATime() async throws {
        let turn = WriteTurn()
        let holders = Shared<(now: Int, most: Int, done: Int)>((0, 0, 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    await turn.take()
                    holders.value.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    await Task.yield()
                    holders.value.withLock { $0.now -= 1; $0.done += 1 }
                    turn.pass()
                }
            }
        }
        let seen = holders.value.withLock { $0 }
        #expect(seen.most == 1 && seen.done == 200 && turn.waiting == 0)
    }

    @Test(arguments: StoreEngineKind.allCases) func aNodesWritesApplyInCommitOrder(_ kind: StoreEngineKind) async throws {
        let store = try await StoreTests.setUp(kind)
        let applied = Shared<[Int64]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await store.write({ db in
                        try await db.createMailbox(try MailAddress("writer\(i)@example.org")).id!
                    }, afterCommit: { id in applied.value.withLock { $0.append(id) } })
                }
            }
            try await group.waitForAll()
        }
        let ids = applied.value.withLock { $0 }
        #expect(ids.count == 40)
        #expect(ids == ids.sorted(), "the after-commit step (the index) saw the writes out of their commit order: \(ids)")
    }

    /// Two reads each wait, inside their transaction, until the other has started: they pass only
    /// if both hold a connection at once (one reader per node would wait here until the deadline).
    @Test func readsOnPostgreSQLRunAtOnce() async throws {
        let store = try await StoreTests.setUp(.postgres)
        let inside = Shared<Int>(0)
        let met = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await store.read { db in
                        _ = try await db.visibleMailboxes(of: .operator(uid: 0), page: .first())
                        inside.value.withLock { $0 += 1 }
                        return try await until("the other read to start", within: 20) { inside.value.withLock { $0 } == 2 }
                    }
                }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(met)
    }

    /// A read that awaits a write committed meanwhile still sees its own snapshot, on both engines.
    @Test(arguments: StoreEngineKind.allCases) func aReadKeepsItsSnapshotAcrossAnAwait(_ kind: StoreEngineKind) async throws {
        let store = try await StoreTests.setUp(kind)
        try await store.write { db in _ = try await db.createMailbox(try MailAddress("first@example.org")) }
        let (before, after) = try await store.read { db in
            let before = try await db.visibleMailboxes(of: .operator(uid: 0), page: .first()).items.count
            try await store.write { db in _ = try await db.createMailbox(try MailAddress("second@example.org")) }
            return (before, try await db.visibleMailboxes(of: .operator(uid: 0), page: .first()).items.count)
        }
        #expect(before == 1 && after == 1)
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), page: .first()) }.items.count == 2)
    }

    /// A write body that suspends on another thread goes on in the same transaction (on SQLite, on
    /// GRDB's thread: GRDB refuses a connection used from any other), and its failure undoes it all.
    @Test(arguments: StoreEngineKind.allCases) func aWriteIsOneTransactionAcrossAnAwaitElsewhere(_ kind: StoreEngineKind) async throws {
        let store = try await StoreTests.setUp(kind)
        await #expect(throws: PosternError.self) {
            try await store.write { db in
                _ = try await db.createMailbox(try MailAddress("one@example.org"))
                await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().async { resumed.resume() }
                }
                _ = try await db.createMailbox(try MailAddress("two@example.org"))
                #expect(try await db.visibleMailboxes(of: .operator(uid: 0), page: .first()).items.count == 2)
                throw PosternError(.badRequest, "stop")
            }
        }
        #expect(try await store.read { try await $0.visibleMailboxes(of: .operator(uid: 0), page: .first()) }.items.isEmpty)
    }
}

/// A value shared by the tasks of a test.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}

/// Waits for `condition`, polled every 5 ms, up to `seconds`; false (and a recorded issue) past it.
@discardableResult
func until(_ what: String, within seconds: Double = 30, _ condition: () -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + .seconds(seconds)
    while !condition() {
        guard ContinuousClock.now < end else {
            Issue.record("timed out waiting for \(what)")
            return false
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    return true
}
