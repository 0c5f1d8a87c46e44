import Foundation

/// `postern database copy`: every row of one store into another, empty, one (SQLite to
/// PostgreSQL when a single machine is no longer enough), in one read snapshot of the source and
/// one transaction on the target, so that a failure leaves the target as empty as it was.
public enum StoreCopy {
    /// The tables, parents before children (foreign keys hold at every insert). The change log is
    /// not copied: it is each deployment's own, and nodes load from the rows themselves.
    public static let tables = ["organization", "mailService", "domain", "mailbox", "device", "history", "genericPolicy", "failedLogin",
                                "user", "membership", "serviceGrant", "mailboxAccess", "apiToken", "outbox", "alias", "redirection",
                                "sortingRule", "mailSettings", "signature"]
    /// Tables whose `id` comes from a sequence on PostgreSQL (set past the copied ids afterwards).
    static let withIDs: Set<String> = ["organization", "mailService", "mailbox", "device", "history", "user", "apiToken", "outbox", "alias", "sortingRule"]

    public struct Report: Codable, Sendable {
        /// Rows copied, by table.
        public var rows: [String: Int] = [:]
        public var seconds = 0.0
    }

    public static func copy(from source: Store, to target: Store) async throws -> Report {
        let started = Date()
        if source.kind == .sqlite, target.kind == .sqlite { throw StoreCopyError.sqliteToSQLite }
        let nonEmpty = try await target.read { db in
            var nonEmpty: [String] = []
            for table in tables where try await Int.fetchOne(db, sql: "SELECT count(*) FROM \(quoted(table))") ?? 0 > 0 { nonEmpty.append(table) }
            return nonEmpty
        }
        guard nonEmpty.isEmpty else {
            throw StoreCopyError.targetNotEmpty(nonEmpty)
        }
        var report = try await target.write { transaction in
            // The read runs while this write waits for it, on another connection: the write is only
            // used from inside it, one statement at a time. (Between two SQLite files, that would use
            // the target's connection off its GRDB queue: refused above; `postern backup` copies one.)
            nonisolated(unsafe) let dst = transaction
            return try await source.read { src in
                var report = Report()
                let timestamps = dst.engine == .postgres ? try await postgresTimestampColumns(dst) : [:]
                for table in tables {
                    var count = 0
                    try await StoreRow.forEachBatch(src, sql: "SELECT * FROM \(quoted(table))", cells: 20_000) { batch in
                        try await insert(batch, into: table, dst, timestamps: timestamps[table.lowercased()] ?? [])
                        count += batch.count
                    }
                    report.rows[table] = count
                    if dst.engine == .postgres, withIDs.contains(table) {
                        try await dst.execute(sql: """
                            SELECT setval(pg_get_serial_sequence('\(quoted(table))', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM \(quoted(table))
                            """)
                    }
                }
                return report
            }
        }
        // Read back: the target holds what was read.
        for table in tables {
            let there = try await target.read { try await Int.fetchOne($0, sql: "SELECT count(*) FROM \(quoted(table))") ?? 0 }
            guard there == report.rows[table] else { throw StoreCopyError.mismatch(table: table, copied: report.rows[table] ?? 0, found: there) }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static func quoted(_ table: String) -> String { table == "user" ? "\"user\"" : table }

    /// One multi-row INSERT; text dates (SQLite's) become dates for PostgreSQL's timestamptz columns.
    static func insert(_ rows: [StoreRow], into table: String, _ db: StoreTransaction, timestamps: Set<String>) async throws {
        let names = rows[0].names
        let columns = names.map { ["before", "after", "user"].contains($0) ? "\"\($0)\"" : $0 }.joined(separator: ", ")
        let placeholders = "(" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        var values: [SQLValue] = []
        values.reserveCapacity(rows.count * names.count)
        for row in rows {
            for (name, value) in zip(names, row.values) {
                if timestamps.contains(name), case let .text(text) = value, let date = StoredDate.parse(text) {
                    values.append(.date(date))
                } else {
                    values.append(value)
                }
            }
        }
        try await db.execute(sql: "INSERT INTO \(quoted(table)) (\(columns)) VALUES " + Array(repeating: placeholders, count: rows.count).joined(separator: ", "),
                       arguments: SQLArguments(values))
    }

    /// Table → its timestamptz columns, lowercased.
    static func postgresTimestampColumns(_ db: StoreTransaction) async throws -> [String: Set<String>] {
        var columns: [String: Set<String>] = [:]
        for row in try await StoreRow.fetchAll(db, sql: """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type = 'timestamp with time zone'
            """) {
            columns[(row[0] as String).lowercased(), default: []].insert((row[1] as String).lowercased())
        }
        return columns
    }
}

public enum StoreCopyError: Error, CustomStringConvertible {
    case targetNotEmpty([String])
    case mismatch(table: String, copied: Int, found: Int)
    case sqliteToSQLite

    public var description: String {
        switch self {
        case let .targetNotEmpty(tables):
            "the target database already holds rows (\(tables.joined(separator: ", "))): copy into a new, empty database only"
        case .sqliteToSQLite:
            "both databases are SQLite: copy an SQLite database with postern backup (or cp while posternd is stopped)"
        case let .mismatch(table, copied, found):
            "table \(table): \(copied) row(s) copied but \(found) found afterwards; the target is not usable"
        }
    }
}
