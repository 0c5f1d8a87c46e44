import Foundation
import GRDB
import PosternCore
import Synchronization

/// The durable record: one SQLite file in WAL mode with `synchronous = FULL`, so a write
/// acknowledged to a client survives a crash or power loss.
public final class Store: Sendable {
    public let pool: DatabasePool
    /// True when this open created the database (seeds are loaded then).
    public let isNew: Bool

    /// The last write's failure, if the last write failed (health reports it).
    private let lastWriteFailure = Mutex<String?>(nil)

    public init(path: String) throws {
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

    /// nil when the last write went through; else what went wrong.
    public var writeFailure: String? { lastWriteFailure.withLock { $0 } }

    /// Runs `body` in one write transaction, then `afterCommit` with its result while still holding the
    /// writer, so that the in-memory index sees changes in the order the store committed them.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T,
                                   afterCommit: @Sendable (T) -> Void = { _ in }) throws -> T {
        do {
            let result = try unrecordedWrite(body, afterCommit: afterCommit)
            lastWriteFailure.withLock { $0 = nil }
            return result
        } catch let error as DatabaseError where Self.isStorageFailure(error) {
            lastWriteFailure.withLock { $0 = "\(error.resultCode)" }
            throw PosternError(.unavailable, code: "store_unavailable",
                               "the database cannot be written (\(error.resultCode)): free disk space or check the file; nothing was changed")
        }
    }

    /// Errors of the storage itself (disk full, I/O, corruption), as opposed to a refused change.
    static func isStorageFailure(_ error: DatabaseError) -> Bool {
        [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_CANTOPEN, .SQLITE_READONLY].contains(error.resultCode)
    }

    private func unrecordedWrite<T: Sendable>(_ body: @Sendable (Database) throws -> T,
                                              afterCommit: @Sendable (T) -> Void) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction {
                result = try body(db)
                return .commit
            }
            afterCommit(result!)
            return result!
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}

/// Why posternd will not open its database, with what to do.
public enum StoreOpenError: Error, CustomStringConvertible {
    case empty(path: String)
    case corrupt(path: String, detail: String)

    public var description: String {
        switch self {
        case let .empty(path):
            "the database \(path) is an empty file: restore it from a backup (postern restore), or remove it to start afresh"
        case let .corrupt(path, detail):
            "the database \(path) is damaged (\(detail)): restore it from a backup (postern restore)"
        }
    }
}
