import Foundation
import PosternCore

/// A message waiting in the outbox.
public struct OutboxMessage: Sendable, Equatable {
    public let id: Int64
    public let recipient: String
    public let message: String
    public let attempts: Int
}

extension StoreTransaction {
    public func enqueueMail(to recipient: String, message: String, at date: Date = Date()) async throws {
        try await execute(sql: "INSERT INTO outbox (recipient, message, createdAt, nextAttemptAt) VALUES (?, ?, ?, ?)",
                    arguments: [recipient, message, date, date])
    }

    public func dueMail(at date: Date, limit: Int = 20) async throws -> [OutboxMessage] {
        try await StoreRow.fetchAll(self, sql: "SELECT id, recipient, message, attempts FROM outbox WHERE nextAttemptAt <= ? ORDER BY id LIMIT ?",
                         arguments: [date, limit]).map {
            OutboxMessage(id: $0["id"], recipient: $0["recipient"], message: $0["message"], attempts: $0["attempts"])
        }
    }

    /// The due messages, each taken for `lease` seconds: on several nodes one sends it, not all.
    /// A node that stops before it has sent or failed a message leaves it to the others after the lease.
    public func claimDueMail(at date: Date, lease: TimeInterval, limit: Int = 20) async throws -> [OutboxMessage] {
        let due = try await dueMail(at: date, limit: limit)
        for message in due {
            try await execute(sql: "UPDATE outbox SET nextAttemptAt = ? WHERE id = ?", arguments: [date + lease, message.id])
        }
        return due
    }

    public func mailSent(id: Int64) async throws {
        try await execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id])
    }

    public func mailFailed(id: Int64, error: String, retryAt: Date) async throws {
        try await execute(sql: "UPDATE outbox SET attempts = attempts + 1, lastError = ?, nextAttemptAt = ? WHERE id = ?",
                    arguments: [String(error.prefix(500)), retryAt, id])
    }

    public func outboxCount() async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM outbox") ?? 0
    }
}
