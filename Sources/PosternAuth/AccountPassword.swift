import CArgon2
import PosternCore

/// A user's account password (the web manager, re-confirmations): Argon2id, never a mail password.
public enum AccountPassword {
    /// OWASP's Argon2id floor: 19 MiB, 2 passes, 1 lane; about 30 ms here.
    static let memoryKiB: UInt32 = 19 * 1024
    static let passes: UInt32 = 2

    /// Checks a new password: 10 to 1024 bytes of text.
    public static func validate(_ password: String) throws(PosternError) {
        let count = password.utf8.count
        guard count >= 10 else {
            throw PosternError(.weakPassword, "an account password needs at least 10 characters")
        }
        guard count <= 1024, !password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw PosternError(.invalidPassword, "an account password is at most 1024 bytes of text, without control characters")
        }
    }

    /// The encoded hash (`$argon2id$v=19$m=…`), with a fresh random salt.
    public static func hash(_ password: String) throws(PosternError) -> String {
        try validate(password)
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: .min ... .max, using: &rng) }
        let bytes = Array(password.utf8)
        let length = argon2_encodedlen(passes, memoryKiB, 1, UInt32(salt.count), 32, Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let result = argon2id_hash_encoded(passes, memoryKiB, 1, bytes, bytes.count, salt, salt.count, 32, &encoded, length)
        guard result == ARGON2_OK.rawValue else {
            throw PosternError(.hashFailed, "could not hash the password (argon2 error \(result))")
        }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A hash no password matches, verified in place of a user's that does not exist, so that an
    /// unknown login takes as long to refuse as a wrong password.
    public static let decoy: String = (try? hash("decoy \(UInt64.random(in: .min ... .max)) password")) ?? ""

    public static func verify(_ password: String, against encoded: String) -> Bool {
        let bytes = Array(password.utf8)
        return argon2_verify(encoded, bytes, bytes.count, Argon2_id) == ARGON2_OK.rawValue
    }
}
