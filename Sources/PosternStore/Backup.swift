import Foundation
import GRDB
import PosternCore

extension Store {
    /// Copies the database, consistently and while it is in use, to a new SQLite file at `path`
    /// (SQLite's online backup API from a read snapshot; writers are not blocked). The file is
    /// created readable by its owner only. Returns the number of device rows copied. PostgreSQL's
    /// record is backed up with PostgreSQL's tools (pg_dump, base backups), not by posternd.
    @discardableResult
    public func backup(to path: String) throws -> Int {
        guard case let .sqlite(sqlite) = engine else {
            throw PosternError(.backupPostgres,
                               "posternd backs up SQLite only: back PostgreSQL up with pg_dump or a base backup, and the server key with it")
        }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw StoreFileError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        Glibc.close(fd)
        let destination = try DatabaseQueue(path: path)
        try sqlite.pool.backup(to: destination)
        let devices = try destination.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM device") ?? 0 }
        try destination.close()
        return devices
    }

    /// The SQLite pool, for tests that look under the store (`@testable import`; nil on PostgreSQL).
    var sqlitePool: DatabasePool? {
        if case let .sqlite(sqlite) = engine { return sqlite.pool }
        return nil
    }
}

public enum StoreFileError: Error, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "cannot create \(path): \(reason)"
        }
    }
}
