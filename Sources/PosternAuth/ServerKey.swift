@preconcurrency import Crypto
import Foundation
import PosternCore

/// The secret key device-password digests are taken under. Created at first start in a 0600 file;
/// losing it invalidates every device password (generic passwords keep working).
public struct ServerKey: Sendable {
    public let key: SymmetricKey
    /// HMAC-SHA-256 (RFC 2104) keyed once: SHA-256 already fed the inner and the outer padded
    /// key. Each digest copies both instead of re-deriving them.
    let inner: SHA256, outer: SHA256

    public init(key: SymmetricKey) {
        self.key = key
        var block = [UInt8](repeating: 0, count: 64)  // SHA-256's block size
        key.withUnsafeBytes { bytes in
            if bytes.count > 64 {
                for (i, b) in SHA256.hash(data: bytes).enumerated() { block[i] = b }
            } else {
                for (i, b) in bytes.enumerated() { block[i] = b }
            }
        }
        var inner = SHA256(), outer = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// Reads the key file, or creates it (32 random bytes, hex, mode 0600) when it does not exist.
    public static func loadOrCreate(at path: String) throws -> ServerKey {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            let attributes = try fm.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                throw ServerKeyError.tooOpen(path: path, mode: mode)
            }
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.count == 64, let bytes = Hex.decode(text) else { throw ServerKeyError.malformed(path: path) }
            return ServerKey(key: SymmetricKey(data: bytes))
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        let hex = Hex.encode(bytes) + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ServerKeyError.cannotCreate(path: path, errno: errno) }
        defer { close(fd) }
        let written = hex.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == hex.utf8.count, fsync(fd) == 0 else { throw ServerKeyError.cannotCreate(path: path, errno: errno) }
        return ServerKey(key: SymmetricKey(data: bytes))
    }
}

public enum ServerKeyError: Error, CustomStringConvertible {
    case tooOpen(path: String, mode: Int)
    case malformed(path: String)
    case cannotCreate(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .tooOpen(path, mode):
            "the server key \(path) has mode \(String(mode, radix: 8)); it must be readable by its owner only: chmod 600 \(path)"
        case let .malformed(path):
            "the server key \(path) is not 64 hex characters; restore it from backup (without it no device password verifies)"
        case let .cannotCreate(path, err):
            "cannot create the server key \(path): \(String(cString: strerror(err)))"
        }
    }
}
