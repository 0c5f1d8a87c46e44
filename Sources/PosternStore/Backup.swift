import Foundation
import GRDB
import PosternCore

extension Store {
    /// Copies the database, consistently and while it is in use, to a new SQLite file at `path`
    /// (SQLite's online backup API from a read snapshot; writers are not blocked). The file is
    /// created readable by its owner only. Returns the number of device rows copied. On PostgreSQL,
    /// `pg_dump --format=custom` into `path` (`PostgresDump`), and 0: the caller counts the devices.
    @discardableResult
    public func backup(to path: String) throws -> Int {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw StoreFileError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        Glibc.close(fd)
        let sqlite: SQLiteEngine
        switch engine {
        case let .sqlite(engine): sqlite = engine
        case let .postgres(postgres):
            do {
                try PostgresDump.dump(postgres.settings, to: path)
            } catch {
                unlink(path)
                throw PosternError(.storeUnavailable, "the backup of PostgreSQL failed (\(error)); nothing was written")
            }
            return 0
        }
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
