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

    func write<T>(_ body: (StoreTransaction) throws -> T, afterCommit: (T) -> Void) throws -> T {
        try Self.mapped {
            try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction {
                    result = try body(StoreTransaction(SQLiteConnection(db: db)))
                    return .commit
                }
                afterCommit(result!)
                return result!
            }
        }
    }

    func read<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try Self.mapped { try pool.read { db in try body(StoreTransaction(SQLiteConnection(db: db))) } }
    }

    /// GRDB's errors as the store's; the planes' own errors pass through.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
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
        while let row = try cursor.next() {
            var values: [SQLValue] = []
            values.reserveCapacity(names.count)
            for i in 0..<names.count {
                let value: DatabaseValue = row[i]
                switch value.storage {
                case .null: values.append(.null)
                case let .int64(v): values.append(.integer(v))
                case let .double(v): values.append(.real(v))
                case let .string(v): values.append(.text(v))
                case let .blob(v): values.append(.blob(Array(v)))
                }
            }
            try body(StoreRow(names: names, values: values))
        }
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
