import CCrypt
import Foundation
import PosternCore

/// Verifies imported generic passwords with libxcrypt's `crypt_r`: {SHA512-CRYPT}, {SHA256-CRYPT},
/// {BLF-CRYPT}, {MD5-CRYPT} and {CRYPT} (yescrypt, and whatever else libxcrypt knows).
/// Deliberately slow (milliseconds): call it on a thread pool, never on an event loop.
public enum LegacyHash {
    public static func verify(password: [UInt8], against generic: GenericPassword) -> Bool {
        guard !password.contains(0) else { return false }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // Wipe the work area: it held the password.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        var phrase = password
        phrase.append(0)
        defer { for i in phrase.indices { phrase[i] = 0 } }
        let hash = generic.hash
        let result: [UInt8]? = phrase.withUnsafeBufferPointer { phrasePtr -> [UInt8]? in
            hash.withCString { settingPtr -> [UInt8]? in
                phrasePtr.baseAddress!.withMemoryRebound(to: CChar.self, capacity: phrasePtr.count) { p -> [UInt8]? in
                    guard let out = crypt_r(p, settingPtr, data) else { return nil }
                    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(out).assumingMemoryBound(to: UInt8.self), count: strlen(out)))
                }
            }
        }
        guard let result, result.first != UInt8(ascii: "*") else { return false }
        return constantTimeEqual(result, Array(hash.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
