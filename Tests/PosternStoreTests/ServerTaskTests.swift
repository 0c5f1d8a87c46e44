import Foundation
import PosternCore
@testable import PosternStore
import Testing

/// The mail-server outbox's statements on both engines: one script task per mailbox, claimed with
/// a lease, done only for the generation that ran, failures counted with their first time.
@Suite struct ServerTaskTests {
    @Test(arguments: StoreEngineKind.allCases) func tasksAreClaimedDoneAndCounted(_ kind: StoreEngineKind) async throws {
        let store = try await StoreTests.setUp(kind)
        let box = try await store.write { try await $0.createMailbox(try MailAddress("t@example.org")) }
        let now = Date()
        let first = try await store.write { try await $0.enqueueServerTask(.sieve, mailboxID: box.id!, at: now) }
        let again = try await store.write { try await $0.enqueueServerTask(.sieve, mailboxID: box.id!, at: now) }
        #expect(first == again, "one script task per mailbox")
        let folder = try await store.write { try await $0.enqueueServerTask(.folderRename, mailboxID: box.id!, argument: "Old\nNew", at: now) }
        #expect(folder != first)
        let waiting = try await store.read { try await $0.serverTaskCounts() }
        #expect(waiting.pending == 2 && waiting.failed == 0 && waiting.oldestFailure == nil)
        #expect(waiting.nextDue.map { abs($0.timeIntervalSince(now)) < 1 } == true, "due now")

        let claimed = try await store.write { try await $0.claimServerTasks(at: now, lease: 60, kinds: [.sieve]) }
        #expect(claimed.map(\.kind) == [.sieve] && claimed.first?.generation == 1)
        #expect(try await store.write { try await $0.claimServerTasks(at: now, lease: 60, kinds: [.sieve]) }.isEmpty, "leased")
        // A change while it ran asks for it again: done does not remove the newer ask.
        _ = try await store.write { try await $0.enqueueServerTask(.sieve, mailboxID: box.id!, at: now) }
        try await store.write { try await $0.serverTaskDone(claimed[0]) }
        let rerun = try await store.write { try await $0.claimServerTasks(at: now, lease: 60, kinds: [.sieve]) }
        #expect(rerun.first?.generation == 2)
        try await store.write { try await $0.serverTaskFailed(rerun[0], error: "sievec was killed", at: now, retryAt: now + 5) }
        let counts = try await store.read { try await $0.serverTaskCounts() }
        #expect(counts.pending == 2 && counts.failed == 1 && counts.oldestFailure.map { abs($0.timeIntervalSince(now)) < 1 } == true)
        #expect(try await store.write { try await $0.claimServerTasks(at: now + 1, lease: 60, kinds: [.sieve]) }.isEmpty, "backing off")
        let retry = try await store.write { try await $0.claimServerTasks(at: now + 6, lease: 60, kinds: [.sieve, .folderRename]) }
        #expect(retry.map(\.kind) == [.sieve, .folderRename] && retry[0].attempts == 1 && retry[1].argument == "Old\nNew")
        for task in retry { try await store.write { try await $0.serverTaskDone(task) } }
        #expect(try await store.read { try await $0.serverTaskCounts() } == ServerTaskCounts(pending: 0, failed: 0, oldestFailure: nil))
        // A mailbox removed takes its tasks with it.
        _ = try await store.write { try await $0.enqueueServerTask(.sieve, mailboxID: box.id!, at: now) }
        _ = try await store.write { try await $0.removeMailbox(try MailAddress("t@example.org")) }
        #expect(try await store.read { try await $0.serverTaskCounts() }.pending == 0)
    }
}
