import Foundation
import GRDB

extension Store {
    /// Copies the database, consistently and while it is in use, to a new SQLite file at `path`
    /// (SQLite's online backup API from a read snapshot; writers are not blocked). The file is
    /// created readable by its owner only. Returns the number of device rows copied.
    @discardableResult
    public func backup(to path: String) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw StoreFileError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        let devices = try destination.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM device") ?? 0 }
        try destination.close()
        return devices
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
