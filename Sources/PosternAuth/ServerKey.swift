@preconcurrency import Crypto
import Foundation

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
            guard text.count == 64, let bytes = hexBytes(text) else { throw ServerKeyError.malformed(path: path) }
            return ServerKey(key: SymmetricKey(data: bytes))
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        let hex = bytes.map { String(format: "%02x", $0) }.joined() + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ServerKeyError.cannotCreate(path: path, errno: errno) }
        defer { close(fd) }
        let written = hex.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == hex.utf8.count, fsync(fd) == 0 else { throw ServerKeyError.cannotCreate(path: path, errno: errno) }
        return ServerKey(key: SymmetricKey(data: bytes))
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let hi = iterator.next(), let lo = iterator.next() {
            guard let h = nibble(hi), let l = nibble(lo) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
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
