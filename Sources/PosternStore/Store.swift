import Foundation
import GRDB
import PosternCore

/// The durable record: one SQLite file in WAL mode with `synchronous = FULL`, so a write
/// acknowledged to a client survives a crash or power loss.
public final class Store: Sendable {
    public let pool: DatabasePool
    /// True when this open created the database (seeds are loaded then).
    public let isNew: Bool

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        isNew = !FileManager.default.fileExists(atPath: path)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets the writer to synchronous = NORMAL when it enables WAL: make it FULL again.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Schema.migrator.migrate(pool)
    }

    /// Runs `body` in one write transaction, then `afterCommit` with its result while still holding the
    /// writer, so that the in-memory index sees changes in the order the store committed them.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T,
                                   afterCommit: @Sendable (T) -> Void = { _ in }) throws -> T {
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
