import Foundation
import Logging
import Metrics
import PosternCore
import PosternStore
import Synchronization

/// What writes ask of the mail servers, done after their commit: a task row committed with the
/// change (compile and install this mailbox's Sieve script, create or rename this folder) is run
/// at once by the request that committed it, outside any lock, and by the outbox worker until it
/// succeeds, with backoff. A task that fails is in `/metrics` (`postern_outbox_pending`,
/// `postern_outbox_failed`), in `/v1/health` past a while, and in the mailbox's history
/// ("script not installed: …") until it is done.
public struct ServerOutbox: Sendable {
    let node: Node
    let scripts: MailboxScripts
    let folders: (any FolderCommand)?
    /// Where sievec and doveadm are waited for (threads of their own, not the cooperative pool).
    let blocking: any BlockingRunner
    let logger: Logger
    let state: OutboxState
    /// How long a claimed task is left to the node that claimed it (longer than sievec's timeout).
    static let lease: TimeInterval = 120

    var store: Store { node.store }

    /// The outbox as last counted: what health and metrics say without a query.
    public var counts: ServerTaskCounts { state.counts.withLock { $0 } }

    /// How long a task may keep failing before health says "degraded" (`outbox.degradedAfterSeconds`).
    public func degrade(after seconds: TimeInterval) { state.degradedAfter.withLock { $0 = seconds } }

    /// For `/v1/health`, from memory.
    public func status(now: Date = Date()) -> OutboxStatus {
        let counts = counts
        let age = counts.oldestFailure.map { now.timeIntervalSince($0) }
        return OutboxStatus(pending: counts.pending, failed: counts.failed, oldestFailureSeconds: age,
                            degraded: age.map { $0 >= state.degradedAfter.withLock { $0 } } ?? false)
    }

    /// Runs the tasks a request just committed (nil ids: none were). The table is not counted
    /// here (a count on every change would read every waiting task): the worker counts it.
    func run(_ ids: [Int64?]) async {
        let ids = ids.compactMap { $0 }
        guard !ids.isEmpty else { return }
        _ = await attempt(ids: ids, dueBy: Date())
    }

    /// Runs the tasks due by `dueBy` and counts the outbox again; returns how many were done. A
    /// start runs every waiting task at once, whatever its backoff (the setting that failed may be fixed).
    @discardableResult
    public func drain(dueBy: Date = Date()) async -> Int {
        let done = await attempt(ids: nil, dueBy: dueBy)
        await recount()
        return done
    }

    /// Whether the worker has something to run now (from the last count).
    public var due: Bool { counts.nextDue.map { $0 <= Date() } ?? false }

    private func attempt(ids: [Int64]?, dueBy: Date) async -> Int {
        var done = 0
        do {
            let now = Date()
            let kinds = (scripts.writer == nil ? [] : [ServerTask.Kind.sieve]) + (folders == nil ? [] : [.folderCreate, .folderRename])
            let tasks = try await store.write { db in try await db.claimServerTasks(at: max(now, dueBy), lease: Self.lease, kinds: kinds, ids: ids, now: now) }
            for task in tasks where await attempt(task, now: now) { done += 1 }
        } catch {
            logger.error("the outbox could not be read; will retry: \(error)")
        }
        return done
    }

    /// Counts the outbox again (after a drain, and by the worker).
    public func recount() async {
        guard let counts = try? await store.read({ db in try await db.serverTaskCounts() }) else { return }
        state.counts.withLock { $0 = counts }
        Gauge(label: "postern_outbox_pending").record(counts.pending)
        Gauge(label: "postern_outbox_failed").record(counts.failed)
    }

    /// One attempt; true when the task is done.
    private func attempt(_ task: ServerTask, now: Date) async -> Bool {
        do {
            switch task.kind {
            case .sieve: try await installScript(task)
            case .folderCreate, .folderRename: try await changeFolder(task)
            }
            return true
        } catch {
            let why = (error as? PosternError)?.message ?? "\(error)"
            logger.error("outbox task \(task.kind.rawValue) of mailbox \(task.mailboxID) failed (attempt \(task.attempts + 1)); will retry: \(why)")
            try? await store.write { db in
                try await db.serverTaskFailed(task, error: why, at: now, retryAt: Date() + Self.backoff(task.attempts))
                // Said once in the mailbox's history, on the first failure.
                guard task.attempts == 0, let address = try await db.mailboxAddress(id: task.mailboxID) else { return }
                let action: HistoryAction = task.kind == .sieve ? .scriptNotInstalled(why) : .folderNotChanged(why)
                try await ActionLog.recordByPostern(action, mailbox: address, in: db)
            }
            return false
        }
    }

    /// 1 s, 2 s, 4 s… up to five minutes.
    static func backoff(_ attempts: Int) -> TimeInterval { min(300, pow(2, Double(min(attempts, 16)))) }

    /// Renders the script from the settings as they are now, compiles it (no lock held), and puts
    /// it in place in a write that checks no later change asked for it again meanwhile: that
    /// change's own run installs the newer script, never this older one over it.
    private func installScript(_ task: ServerTask) async throws {
        guard let writer = scripts.writer else { return }
        guard let (box, script) = try await store.read({ db -> (Mailbox, String)? in
            guard let address = try await db.mailboxAddress(id: task.mailboxID) else { return nil }
            let box = try await db.mailbox(try MailAddress(address))
            return (box, try await scripts.render(box, in: db))
        }) else { return try await finish(task) }
        guard let prepared = try await blocking.run({ try writer.prepare(script, for: box.address) }) else { return try await finish(task) }
        let installed = try await store.write { db -> Bool in
            guard try await db.serverTaskGeneration(id: task.id) == task.generation else { return false }
            try writer.install(prepared)
            try await db.serverTaskDone(task)
            if task.attempts > 0 { try await ActionLog.recordByPostern(.scriptInstalled(attempts: task.attempts), mailbox: box.address.description, in: db) }
            return true
        }
        if !installed { writer.abandon(prepared) }
    }

    private func changeFolder(_ task: ServerTask) async throws {
        guard let folders else { throw PosternError(.foldersOff, "folders are managed through doveadm: set folders.doveadm in postern.yaml") }
        guard let address = try await store.read({ db in try await db.mailboxAddress(id: task.mailboxID) }) else { return try await finish(task) }
        let arguments = task.kind == .folderCreate
            ? ["mailbox", "create", "-s", "-u", address, task.argument]
            : ["mailbox", "rename", "-s", "-u", address] + task.argument.split(separator: "\n", maxSplits: 1).map(String.init)
        let (status, output) = try await blocking.run { folders.run(arguments) }
        if status != 0 {
            let said = output.split(separator: "\n").prefix(2).joined(separator: "; ")
            // Done already (a retry after a run whose answer was lost): nothing left to do.
            let already = task.kind == .folderCreate ? said.contains("exists") : said.contains("doesn't exist") && task.attempts > 0
            if !already { throw PosternError(.doveadmRefused, "doveadm \(arguments[1]) exited \(status): \(said.prefix(300))") }
        }
        try await finish(task)
        if task.attempts > 0 { logger.info("folder change of \(address) made after \(task.attempts) failed attempt(s)") }
    }

    private func finish(_ task: ServerTask) async throws { try await store.write { db in try await db.serverTaskDone(task) } }
}

/// The outbox's counts, shared by the planes of one node.
final class OutboxState: Sendable {
    let counts = Mutex(ServerTaskCounts(pending: 0, failed: 0, oldestFailure: nil))
    let degradedAfter = Mutex<TimeInterval>(60)
}
