import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One committed change to the nodes' in-memory indexes, as the change log holds it.
public struct LoggedChange: Sendable, Equatable {
    public let seq: Int64
    public let node: String
    /// JSON of what the indexes take (the feed's `NodeChange`).
    public let change: String

    public init(seq: Int64, node: String, change: String) {
        self.seq = seq
        self.node = node
        self.change = change
    }

    /// PostgreSQL's notifications hold under 8000 bytes: a change that leaves room for its number.
    static let notifiedChangeBytes = 7_900

    /// A notification's payload: `SEQ` alone, or `SEQ CHANGE` when the change fits.
    static func notification(seq: Int64, change: String) -> String {
        change.utf8.count <= notifiedChangeBytes ? "\(seq) \(change)" : String(seq)
    }

    /// What a notification carries: the change's number, and the change itself when it fit.
    public static func notified(_ payload: String) -> (seq: Int64, change: String?)? {
        guard let space = payload.firstIndex(of: " ") else { return Int64(payload).map { ($0, nil) } }
        guard let seq = Int64(payload[..<space]) else { return nil }
        return (seq, String(payload[payload.index(after: space)...]))
    }
}

/// The change log: every write that changes what the in-memory indexes hold appends a row, with
/// the next sequence number, in its own transaction. Writers hold the write lock (SQLite's single
/// writer, PostgreSQL's advisory lock), so numbers are committed in order and without gaps.
extension StoreTransaction {
    /// Appends a change; returns its sequence number. On PostgreSQL the nodes are told at commit.
    public func appendChange(_ change: String, node: String) async throws -> Int64 {
        let seq = (try await Int64.fetchOne(self, sql: "SELECT max(seq) FROM changeLog") ?? 0) + 1
        try await execute(sql: "INSERT INTO changeLog (seq, at, node, change) VALUES (?, ?, ?, ?)", arguments: [seq, Date(), node, change])
        if engine == .postgres {
            // Delivered when the transaction commits, not before (and not at all if it rolls back).
            // The change rides along when it fits a notification, so that the other nodes apply it
            // as it arrives, without a read of the log first; a larger one is read from the log.
            try await execute(sql: "SELECT pg_notify('postern_changes', ?)", arguments: [LoggedChange.notification(seq: seq, change: change)])
        }
        return seq
    }

    /// Changes after `seq`, in order.
    public func changes(after seq: Int64, limit: Int = 1000) async throws -> [LoggedChange] {
        try await StoreRow.fetchAll(self, sql: "SELECT seq, node, change FROM changeLog WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
            .map { LoggedChange(seq: $0[0], node: $0[1], change: $0[2]) }
    }

    /// The newest sequence number (0: none yet).
    public func latestChange() async throws -> Int64 {
        try await Int64.fetchOne(self, sql: "SELECT max(seq) FROM changeLog") ?? 0
    }

    /// The oldest sequence number still kept (nil: the log is empty).
    public func oldestChange() async throws -> Int64? {
        try await Int64.fetchOne(self, sql: "SELECT min(seq) FROM changeLog")
    }

    /// The logged changes whose text holds `marker`, in order (a one-time upgrade: a scan of the log).
    public func changes(containing marker: String) async throws -> [LoggedChange] {
        let pattern = "%" + marker.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        return try await StoreRow.fetchAll(self, sql: "SELECT seq, node, change FROM changeLog WHERE change LIKE ? ESCAPE '\\' ORDER BY seq",
                                           arguments: [pattern])
            .map { LoggedChange(seq: $0[0], node: $0[1], change: $0[2]) }
    }

    /// Rewrites the logged changes whose text holds `marker`; returns how many changed. Their
    /// numbers, nodes and order stay.
    @discardableResult
    public func rewriteChanges(containing marker: String, _ rewrite: (String) -> String) async throws -> Int {
        var changed = 0
        for logged in try await changes(containing: marker) {
            let new = rewrite(logged.change)
            guard new != logged.change else { continue }
            try await execute(sql: "UPDATE changeLog SET change = ? WHERE seq = ?", arguments: [new, logged.seq])
            changed += 1
        }
        return changed
    }

    /// Forgets changes older than `cutoff`, always keeping the newest (the next number follows it).
    @discardableResult
    public func pruneChanges(before cutoff: Date) async throws -> Int {
        try await execute(sql: "DELETE FROM changeLog WHERE at < ? AND seq < (SELECT max(seq) FROM changeLog)", arguments: [cutoff])
    }
}

extension Store {
    /// Waits for other nodes' changes: calls `notified(nil)` once listening has begun (so that a
    /// catch-up then misses nothing), then `notified(payload)` at every change committed by any
    /// node (`LoggedChange.notified` reads the payload), on the connection's event loop. Returns or throws when the
    /// connection is lost; the caller reconnects. The connection is asked a `SELECT 1` every
    /// second: one unanswered within `database.timeoutSeconds` (a server or network gone silent,
    /// which no error reports) ends it too. On SQLite there is no other writer: it returns at once.
    public func watchChanges(_ notified: @escaping @Sendable (_ payload: String?) -> Void) async throws {
        guard case let .postgres(postgres) = engine else { return }
        let settings = postgres.settings
        let connection = try await PostgresConnector.connect(settings)
        do {
            try await connection.listen(on: "postern_changes") { notifications in
                notified(nil)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await notification in notifications { notified(notification.payload) }
                    }
                    group.addTask {
                        let adapter = PostgresConnectionAdapter(connection: connection, timeout: settings.timeout)
                        while true {
                            try await Task.sleep(for: .seconds(1))
                            try await adapter.ping()
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            try? await connection.close()
            throw StoreError.unavailable(PostgresConnectionAdapter.describe(error))
        }
        try? await connection.close()
    }
}
