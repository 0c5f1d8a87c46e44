import Foundation
import PosternCore

/// A task for the mail servers that a write committed with itself: compile and install a
/// mailbox's Sieve script, or create or rename one of its folders.
public struct ServerTask: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Write the mailbox's script from its settings as they are when the task runs.
        case sieve
        /// `argument` is the folder's name.
        case folderCreate = "folder.create"
        /// `argument` is "OLD\nNEW".
        case folderRename = "folder.rename"
    }

    public let id: Int64
    public let kind: Kind
    public let mailboxID: Int64
    public let argument: String
    public let attempts: Int
    public let firstFailedAt: Date?
    /// Raised by every write that asks for the task again: done only removes the one it ran.
    public let generation: Int64
}

/// How the outbox stands: what waits, what failed at least once, the oldest failure.
public struct ServerTaskCounts: Sendable, Equatable {
    public let pending: Int
    public let failed: Int
    public let oldestFailure: Date?
    /// When the next task is due (its backoff over); nil when none waits.
    public let nextDue: Date?

    public init(pending: Int, failed: Int, oldestFailure: Date?, nextDue: Date? = nil) {
        self.pending = pending
        self.failed = failed
        self.oldestFailure = oldestFailure
        self.nextDue = nextDue
    }
}

extension StoreTransaction {
    /// Adds a task, due now; returns its id. A mailbox has one script task at most: a second
    /// write before it ran makes it due now again (it writes the script as it is then).
    @discardableResult
    public func enqueueServerTask(_ kind: ServerTask.Kind, mailboxID: Int64, argument: String = "", at date: Date = Date()) async throws -> Int64 {
        if kind == .sieve {
            return try await Int64.fetchOne(self, sql: """
                INSERT INTO serverTask (kind, mailboxId, argument, createdAt, nextAttemptAt) VALUES ('sieve', ?, '', ?, ?)
                ON CONFLICT (mailboxId) WHERE kind = 'sieve'
                DO UPDATE SET nextAttemptAt = excluded.nextAttemptAt, generation = serverTask.generation + 1 RETURNING id
                """, arguments: [mailboxID, date, date]) ?? 0
        }
        return try await insert(sql: "INSERT INTO serverTask (kind, mailboxId, argument, createdAt, nextAttemptAt) VALUES (?, ?, ?, ?, ?)",
                          arguments: [kind.rawValue, mailboxID, argument, date, date])
    }

    /// The due tasks (oldest first), each taken for `lease` seconds so that one node runs it; a
    /// node that stops before it is done leaves it to the others after the lease.
    /// Only the `kinds` this node does (one that writes no scripts leaves them to one that does).
    public func claimServerTasks(at date: Date, lease: TimeInterval, kinds: [ServerTask.Kind], ids: [Int64]? = nil, limit: Int = 50,
                                 now: Date? = nil) async throws -> [ServerTask] {
        guard !kinds.isEmpty else { return [] }
        var sql = "SELECT * FROM serverTask WHERE nextAttemptAt <= ? AND kind IN (" + Array(repeating: "?", count: kinds.count).joined(separator: ", ") + ")"
        var arguments: SQLArguments = [date] + SQLArguments(kinds.map { .text($0.rawValue) })
        if let ids {
            guard !ids.isEmpty else { return [] }
            sql += " AND id IN (" + Array(repeating: "?", count: ids.count).joined(separator: ", ") + ")"
            arguments += SQLArguments(ids.map { .integer($0) })
        }
        let due = try await StoreRow.fetchAll(self, sql: sql + " ORDER BY id LIMIT ?", arguments: arguments + [limit]).compactMap { row -> ServerTask? in
            guard let kind = ServerTask.Kind(rawValue: row["kind"]) else { return nil }
            return ServerTask(id: row["id"], kind: kind, mailboxID: row["mailboxId"], argument: row["argument"], attempts: row["attempts"],
                              firstFailedAt: row["firstFailedAt"], generation: row["generation"])
        }
        for task in due { try await execute(sql: "UPDATE serverTask SET nextAttemptAt = ? WHERE id = ?", arguments: [(now ?? date) + lease, task.id]) }
        return due
    }

    /// Done: the task goes, unless a later write made it due again meanwhile (then it runs again).
    public func serverTaskDone(_ task: ServerTask) async throws {
        try await execute(sql: "DELETE FROM serverTask WHERE id = ? AND generation = ?", arguments: [task.id, task.generation])
        try await execute(sql: "UPDATE serverTask SET attempts = 0, lastError = NULL, firstFailedAt = NULL WHERE id = ?", arguments: [task.id])
    }

    public func serverTaskFailed(_ task: ServerTask, error: String, at date: Date, retryAt: Date) async throws {
        try await execute(sql: """
            UPDATE serverTask SET attempts = attempts + 1, lastError = ?, nextAttemptAt = ?, firstFailedAt = COALESCE(firstFailedAt, ?) WHERE id = ?
            """, arguments: [String(error.prefix(500)), retryAt, date, task.id])
    }

    /// Those of these tasks still waiting.
    public func pendingServerTasks(ids: [Int64]) async throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        return try await Int64.fetchAll(self, sql: "SELECT id FROM serverTask WHERE id IN (" + Array(repeating: "?", count: ids.count).joined(separator: ", ") + ")",
                                  arguments: SQLArguments(ids.map { .integer($0) }))
    }

    /// The task's generation now; nil when it is gone.
    public func serverTaskGeneration(id: Int64) async throws -> Int64? {
        try await Int64.fetchOne(self, sql: "SELECT generation FROM serverTask WHERE id = ?", arguments: [id])
    }

    public func serverTaskCounts() async throws -> ServerTaskCounts {
        let row = try await StoreRow.fetchOne(self, sql: """
            SELECT count(*) AS pending, count(firstFailedAt) AS failed, min(firstFailedAt) AS oldest, min(nextAttemptAt) AS due FROM serverTask
            """)
        return ServerTaskCounts(pending: row?["pending"] ?? 0, failed: row?["failed"] ?? 0, oldestFailure: row?["oldest"], nextDue: row?["due"])
    }
}
