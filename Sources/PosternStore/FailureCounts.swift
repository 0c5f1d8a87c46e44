import Foundation

/// Recent failures under one key (a source, a login, a source and login pair), as every node
/// counts them on PostgreSQL: the sign-in throttle and the re-confirmation lockout
/// (`SharedLockout`). Times are milliseconds since 1970.
public struct FailureCount: Sendable, Equatable {
    public var failures: Int
    public var lastAt: Date

    public init(failures: Int, lastAt: Date) {
        self.failures = failures
        self.lastAt = lastAt
    }
}

extension StoreTransaction {
    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The failures of each key whose last one is at or after `since`; a key without is absent.
    public func failureCounts(_ keys: [String], since: Date) async throws -> [String: FailureCount] {
        guard !keys.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: keys.count).joined(separator: ", ")
        var counts: [String: FailureCount] = [:]
        let arguments = SQLArguments(keys.map { SQLValue.text($0) } + [.integer(Self.milliseconds(since))])
        try await StoreRow.forEach(self, sql: "SELECT subject, failures, lastAt FROM failureCount WHERE subject IN (\(marks)) AND lastAt >= ?",
                                   arguments: arguments) { row in
            let at: Int64 = row["lastAt"]
            counts[row["subject"]] = FailureCount(failures: row["failures"], lastAt: Date(timeIntervalSince1970: Double(at) / 1000))
        }
        return counts
    }

    /// One more failure for each key, at `now`; a key whose last failure is before `forgetBefore`
    /// starts again from one. One statement, whichever node runs it at the same moment.
    public func addFailure(_ keys: [String], at now: Date, forgetBefore cut: Date) async throws {
        guard !keys.isEmpty else { return }
        let rows = Array(repeating: "(?, 1, ?)", count: keys.count).joined(separator: ", ")
        let at = SQLValue.integer(Self.milliseconds(now))
        try await execute(sql: """
            INSERT INTO failureCount (subject, failures, lastAt) VALUES \(rows)
            ON CONFLICT (subject) DO UPDATE SET failures = CASE WHEN failureCount.lastAt < ? THEN 1 ELSE failureCount.failures + 1 END,
                                            lastAt = excluded.lastAt
            """, arguments: SQLArguments(keys.flatMap { [SQLValue.text($0), at] } + [.integer(Self.milliseconds(cut))]))
    }

    /// Takes a pair's recent failures back (its owner got in from there): the pair is forgotten and
    /// its count taken off `others` (its source's and its login's).
    public func forgiveFailures(pair: String, others: [String], since: Date) async throws {
        guard let count = try await failureCounts([pair], since: since)[pair] else { return }
        try await execute(sql: "DELETE FROM failureCount WHERE subject = ?", arguments: [pair])
        guard !others.isEmpty else { return }
        let marks = Array(repeating: "?", count: others.count).joined(separator: ", ")
        try await execute(sql: "UPDATE failureCount SET failures = failures - ? WHERE subject IN (\(marks))",
                          arguments: SQLArguments([SQLValue.integer(Int64(count.failures))] + others.map { SQLValue.text($0) }))
        try await execute(sql: "DELETE FROM failureCount WHERE subject IN (\(marks)) AND failures <= 0", arguments: SQLArguments(others.map { SQLValue.text($0) }))
    }

    /// Drops the keys whose last failure is before `cut`; returns how many.
    @discardableResult
    public func forgetFailures(before cut: Date) async throws -> Int {
        try await execute(sql: "DELETE FROM failureCount WHERE lastAt < ?", arguments: SQLArguments([.integer(Self.milliseconds(cut))]))
    }

    /// How many keys are kept (the table's size, for tests and health).
    public func failureKeyCount() async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM failureCount") ?? 0
    }
}
