import Foundation
import GRDB

/// The embedded engine: one SQLite file through GRDB, in WAL mode with `synchronous = FULL`, so
/// that a write acknowledged to a client survives a crash or power loss.
final class SQLiteEngine: Sendable {
    let pool: DatabasePool
    let isNew: Bool

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        isNew = !FileManager.default.fileExists(atPath: path)
        if !isNew, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw StoreOpenError.empty(path: path)
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB sets the writer to synchronous = NORMAL when it enables WAL: make it FULL again.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            if !isNew {
                // A quick structural check (not a full integrity check: that reads every row).
                let verdict = try pool.read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
                guard verdict == ["ok"] else { throw StoreOpenError.corrupt(path: path, detail: verdict.prefix(3).joined(separator: "; ")) }
            }
        } catch let error as DatabaseError {
            throw StoreOpenError.corrupt(path: path, detail: "\(error.resultCode): \(error.message ?? "")")
        }
        try Schema.migrator.migrate(pool)
    }

    /// One write transaction: GRDB's writer runs it on its queue while the caller suspends; the
    /// body runs there to its end (`TransactionThread`), then `afterCommit`, still on the writer.
    func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T,
                            afterCommit: @escaping @Sendable (T) -> Void) async throws -> T {
        try await Self.mapped {
            try await pool.writeWithoutTransaction { db in
                let connection = OneThread(value: SQLiteConnection(db: db))
                var result: T?
                try db.inTransaction {
                    result = try TransactionThread.run { try await body(StoreTransaction(connection.value)) }
                    return .commit
                }
                afterCommit(result!)
                return result!
            }
        }
    }

    /// One read, in one snapshot, on one of GRDB's reader connections.
    func read<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        try await Self.mapped {
            try await pool.read { db in
                let connection = OneThread(value: SQLiteConnection(db: db))
                return try TransactionThread.run { try await body(StoreTransaction(connection.value)) }
            }
        }
    }

    /// GRDB's errors as the store's; the planes' own errors pass through.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            let message = "\(error.resultCode): \(error.message ?? "")"
            if error.resultCode == .SQLITE_CONSTRAINT { throw StoreError.constraint(message) }
            if [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_CANTOPEN, .SQLITE_READONLY].contains(error.resultCode) {
                throw StoreError.unavailable(message)
            }
            throw StoreError.failed(message)
        }
    }
}

/// A GRDB connection as the store's statements see it.
struct SQLiteConnection: SQLConnection {
    let db: Database
    var kind: StoreEngineKind { .sqlite }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (StoreRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let names = statement.columnNames.map { $0.lowercased() }
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while let row = try cursor.next() { try body(StoreRow(names: names, values: Self.values(row, names.count))) }
    }

    func query(_ sql: String, _ arguments: [SQLValue], cells: Int, _ body: ([StoreRow]) async throws -> Void) async throws {
        // A statement of its own (not the cache's): another statement may run while this one is read.
        let statement = try db.makeStatement(sql: sql)
        let names = statement.columnNames.map { $0.lowercased() }
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        var batch: [StoreRow] = []
        while let row = try cursor.next() {
            batch.append(StoreRow(names: names, values: Self.values(row, names.count)))
            if batch.count * names.count >= cells {
                try await body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await body(batch) }
    }

    static func values(_ row: Row, _ count: Int) -> [SQLValue] {
        var values: [SQLValue] = []
        values.reserveCapacity(count)
        for i in 0..<count {
            let value: DatabaseValue = row[i]
            switch value.storage {
            case .null: values.append(.null)
            case let .int64(v): values.append(.integer(v))
            case let .double(v): values.append(.real(v))
            case let .string(v): values.append(.text(v))
            case let .blob(v): values.append(.blob(Array(v)))
            }
        }
        return values
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { value -> DatabaseValue in
            switch value {
            case .null: .null
            case let .integer(v): v.databaseValue
            case let .real(v): v.databaseValue
            case let .text(v): v.databaseValue
            case let .blob(v): Data(v).databaseValue
            case let .date(v): v.databaseValue
            }
        })
    }
}
