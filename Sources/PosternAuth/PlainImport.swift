@preconcurrency import Crypto
import Foundation
import PosternCore

/// What an imported `{PLAIN}` (or `{CLEARTEXT}`) generic password becomes before it is stored:
/// `{SHA512-CRYPT}`, Dovecot's default scheme (libxcrypt, 5,000 rounds). The clear text is kept
/// nowhere: not in the database, not in the change log the other nodes read, not in a backup.
///
/// The salt is the server key's HMAC of the address, 16 characters of crypt's alphabet: unique
/// per mailbox and unknown without the key, and the same at every import of the same line, so
/// that importing a file again finds the mailbox unchanged instead of refusing a different hash.
public enum PlainImport {
    /// The scheme a clear-text password is stored in.
    public static let scheme = GenericPassword.Scheme.sha512Crypt

    /// `generic` itself unless it is clear text; else its `{SHA512-CRYPT}` (slow: milliseconds,
    /// run it on a thread pool).
    public static func hashed(_ generic: GenericPassword, address: String, key: ServerKey) throws(PosternError) -> GenericPassword {
        guard generic.scheme == .plain else { return generic }
        let setting = "$6$" + salt(for: address, key: key)
        guard let hash = LegacyHash.crypt(Array(generic.hash.utf8), setting: setting), hash.hasPrefix(setting + "$") else {
            throw PosternError(.invalidHash, "the {PLAIN} value of \(address) could not be hashed as {SHA512-CRYPT}; it was not imported")
        }
        return GenericPassword(trusted: scheme, encoding: .base64, hash: hash)
    }

    /// crypt's salt alphabet.
    static let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func salt(for address: String, key: ServerKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("postern plain import salt\0\(address.lowercased())".utf8), using: key.key)
        return String(decoding: Array(mac).prefix(16).map { alphabet[Int($0) % 64] }, as: UTF8.self)
    }
}
