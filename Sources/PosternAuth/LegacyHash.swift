import CArgon2
import CCrypt
@preconcurrency import Crypto
import Foundation
import PosternCore

/// Verifies imported generic passwords in every scheme `GenericPassword` parses: the crypt family
/// through libxcrypt's `crypt_r`, Argon2 through libargon2, the SHA family through swift-crypto.
/// The slow ones (`Scheme.isSlow`) take milliseconds: call them on a thread pool, never on an event loop.
public enum LegacyHash {
    public static func verify(password: [UInt8], against generic: GenericPassword) -> Bool {
        guard !password.contains(0) else { return false }
        switch generic.scheme {
        case .sha512Crypt, .sha256Crypt, .blfCrypt, .md5Crypt, .crypt:
            return cryptVerify(password, generic.hash)
        case .argon2i, .argon2id:
            let type = generic.scheme == .argon2i ? Argon2_i : Argon2_id
            return password.withUnsafeBytes { pwd in
                argon2_verify(generic.hash, pwd.baseAddress, pwd.count, type) == ARGON2_OK.rawValue
            }
        case .sha512, .sha256, .sha1:
            guard let stored = generic.digestBytes else { return false }
            return constantTimeEqual(digest(generic.scheme, password), stored)
        case .ssha512, .ssha256, .ssha:
            guard let stored = generic.digestBytes, let length = generic.scheme.digestLength, stored.count > length else { return false }
            let salt = stored[length...]
            return constantTimeEqual(digest(generic.scheme, password + salt), Array(stored[..<length]))
        case .plain:
            return constantTimeEqual(password, Array(generic.hash.utf8))
        }
    }

    static func digest(_ scheme: GenericPassword.Scheme, _ bytes: [UInt8]) -> [UInt8] {
        switch scheme.digestLength {
        case 64: Array(SHA512.hash(data: bytes))
        case 32: Array(SHA256.hash(data: bytes))
        default: Array(Insecure.SHA1.hash(data: bytes))
        }
    }

    static func cryptVerify(_ password: [UInt8], _ hash: String) -> Bool {
        guard let result = crypt(password, setting: hash) else { return false }
        return constantTimeEqual(Array(result.utf8), Array(hash.utf8))
    }

    /// crypt_r(3) of `password` with `setting` (a whole hash, or its `$id$salt` prefix); nil when
    /// libxcrypt refuses the setting.
    static func crypt(_ password: [UInt8], setting: String) -> String? {
        guard !password.contains(0) else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        let size = MemoryLayout<crypt_data>.size
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            // Wipe the work area: it held the password.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: size)
            data.deallocate()
        }
        var phrase = password
        phrase.append(0)
        defer { for i in phrase.indices { phrase[i] = 0 } }
        let result: [UInt8]? = phrase.withUnsafeBufferPointer { phrasePtr -> [UInt8]? in
            setting.withCString { settingPtr -> [UInt8]? in
                phrasePtr.baseAddress!.withMemoryRebound(to: CChar.self, capacity: phrasePtr.count) { p -> [UInt8]? in
                    guard let out = crypt_r(p, settingPtr, data) else { return nil }
                    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(out).assumingMemoryBound(to: UInt8.self), count: strlen(out)))
                }
            }
        }
        guard let result, result.first != UInt8(ascii: "*") else { return nil }
        return String(decoding: result, as: UTF8.self)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
