import Foundation
import PosternCore

extension StoreTransaction {
    /// Adds a batch of aggregated failures to the mailboxes they name; logins that are no
    /// mailbox of ours are skipped (a guess at a login that does not exist is nobody's history).
    public func recordFailedLogins(_ batch: [FailedLogin]) async throws {
        let statement = try cachedStatement(sql: """
            INSERT INTO failedLogin (mailboxId, ip, service, mechanism, firstAt, lastAt, count, throttled)
            SELECT id, ?, ?, ?, ?, ?, ?, ? FROM mailbox WHERE address = ?
            ON CONFLICT (mailboxId, ip, service, mechanism) DO UPDATE SET
              firstAt = CASE WHEN excluded.firstAt < failedLogin.firstAt THEN excluded.firstAt ELSE failedLogin.firstAt END,
              lastAt = CASE WHEN excluded.lastAt > failedLogin.lastAt THEN excluded.lastAt ELSE failedLogin.lastAt END,
              count = failedLogin.count + excluded.count, throttled = failedLogin.throttled + excluded.throttled
            """)
        for f in batch {
            try await statement.execute(arguments: [f.ip ?? "", f.service, f.mechanism, f.first, f.last, f.count, f.throttled, f.address])
        }
    }

    /// A mailbox's failed logins, the most recent first.
    public func failedLogins(mailboxID: Int64, limit: Int = 1000) async throws -> [FailedLogin] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT f.*, m.address FROM failedLogin f JOIN mailbox m ON m.id = f.mailboxId
            WHERE f.mailboxId = ? ORDER BY f.lastAt DESC LIMIT ?
            """, arguments: [mailboxID, limit]).map { row in
            let ip: String = row["ip"]
            return FailedLogin(address: row["address"], ip: ip.isEmpty ? nil : ip, service: row["service"], mechanism: row["mechanism"],
                               first: row["firstAt"], last: row["lastAt"], count: row["count"], throttled: row["throttled"])
        }
    }

    /// Forgets failures whose last attempt is older than `cutoff`, and keeps at most `perMailbox`
    /// rows per mailbox (the most recent): a botnet guessing from many IPs cannot grow the table.
    public func pruneFailedLogins(before cutoff: Date, perMailbox: Int) async throws {
        try await execute(sql: "DELETE FROM failedLogin WHERE lastAt < ?", arguments: [cutoff])
        try await execute(sql: """
            DELETE FROM failedLogin WHERE (mailboxId, ip, service, mechanism) IN (
              SELECT mailboxId, ip, service, mechanism FROM (
                SELECT mailboxId, ip, service, mechanism, ROW_NUMBER() OVER (PARTITION BY mailboxId ORDER BY lastAt DESC) AS n FROM failedLogin
              ) AS ranked WHERE n > ?)
            """, arguments: [perMailbox])
    }
}
