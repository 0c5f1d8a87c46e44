import Crypto
import Foundation
import PosternCore
import PosternStore

/// How a backup's files are written and checked: private (0600, created new, synced) and
/// summed with SHA-256 for the manifest `postern restore` reads.
enum BackupRules {
    static func writePrivate(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StoreFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else { throw StoreFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
    }

    static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreFileError.cannotCreate(path: path, reason: "cannot read it back") }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return Hex.encode(hash.finalize())
    }
}
