import Crypto
import PosternAuth
import PosternCore
import Testing

/// Vectors from `doveadm pw -s SCHEME -p 'correct horse'` (Dovecot 2.3.19) and libxcrypt's crypt_gensalt:
/// every scheme Postern verifies.
@Suite struct LegacyHashTests {
    static let vectors = [
        "{SHA512-CRYPT}$6$vCkbG2Zx/tXVGp23$f04PVOhiZ6/HzxEelyVEG9yc6fNB4B6gji7iMBA3Qr0qHkwPC.oP.GTUpWBO5YMF4k6ZHqDEGPXC1zRqaMXUX0",
        "{SHA256-CRYPT}$5$qMCGldF3IppIw0QO$CKWvJeCRMpZgP8r9WM1svzeeWRZmRQ1VNc2vJOV9ea5",
        "{BLF-CRYPT}$2y$05$W0Rvi8rfAPIEfxckwasEy.uHCh66qkXkJT/3HGpaxcgc4SFA7rStG",
        "{CRYPT}$2y$05$eiiAXgyBQMlTcZvwb/gny.qezM0uPbxosJw8LbqlzGyzAGfwHJMqu",
        "{MD5-CRYPT}$1$7uERo17j$Rm1B2G07GBVzXDuA9GFNk/",
        "{CRYPT}$y$j9T$sy6CFKiHNr6Qe51GMB6Hm.$t60YY33pXVKBKOL9vNJS90IM4KB7Fm5p8NDLg1Evn/7",
        "{CRYPT}$2b$05$Rsyqw6ZczZ7TiX7Q7AxcxOrPf/YxMatZIQKzGyNg41zUUMd7hOJGu",
        "{CRYPT}$6$FVPzh4RFLrtaWyxa$45nq8e/pvXkq7zeq9tl6Tn3VnZoBP4Gd6VUwcVlUcx1GVOxFtqy8IHLfA5lMHnSYXey684G0ur8R6rxV1znvP.",
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$+WizGzUSSF5SO6cUR9PrIw$INWUbQ041g3vaMY4uW35eFofRUb1R7X9zSOI8hjaxCk",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$DV75KuHxfh8QxVtNX3j+fQ$4pc5r7bDH2iDNUc4QLaJaSjdmGbf2HLeW/urofznJ04",
        "{SSHA512}dxAE1Yp4dCCQAbvf1jJFT69dkIq/mXR65EStpcv3cN8miFeFZZi+C3pCwvvfc0rx51jNuRhvLMZJEp3BHhx2Yt9A04E=",
        "{SSHA256}vp8sqW9SPpLNkgnH5TG8udeboa2xxDaqyMZU6skCodCTxN3k",
        "{SSHA}uiBxI83QD0FseNhXkisjdvk50gbMuL1p",
        "{SHA512}VraY3v7bWkNbY0r+MyC7rz/c2SC2xQOkRvx7endrKY1HnRumqLYXgI6wv1ec6aldZoNHvKtxSQhayTyyeZUZew==",
        "{SHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=",
        "{SHA256.HEX}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9203187b5631",
        "{SHA1}L55TUjtiq8FBorTWAZ0jy6g129A=",
        "{PLAIN}correct horse",
        "{MD5}$1$j/PGO2dC$4ZAdVVR9C1nOMxjBBTHyp.",
    ]

    @Test(arguments: vectors)
    func theRightPasswordVerifiesAndAWrongOneDoesNot(stored: String) throws {
        let generic = try GenericPassword(parsing: stored)
        #expect(LegacyHash.verify(password: Array("correct horse".utf8), against: generic))
        #expect(!LegacyHash.verify(password: Array("correct horsf".utf8), against: generic))
        #expect(!LegacyHash.verify(password: [], against: generic))
        #expect(!LegacyHash.verify(password: Array("correct\0horse".utf8), against: generic))
    }

    @Test func fastSchemesAreMarkedSoTheyCanStayOnTheEventLoop() throws {
        #expect(try GenericPassword(parsing: Self.vectors[0]).scheme.isSlow)
        #expect(try GenericPassword(parsing: "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$DV75KuHxfh8QxVtNX3j+fQ$4pc5r7bDH2iDNUc4QLaJaSjdmGbf2HLeW/urofznJ04").scheme.isSlow)
        #expect(try !GenericPassword(parsing: "{SSHA256}vp8sqW9SPpLNkgnH5TG8udeboa2xxDaqyMZU6skCodCTxN3k").scheme.isSlow)
    }

    @Test(arguments: ["{SHA256}QQTTb42iwlQ0n4WDZ5Pr4Cng", "{SSHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=", "{SHA256}!!!!",
                      "{SHA256.HEX}4104xx", "{ARGON2ID}$argon2i$v=19$x", "{PLAIN}", "{SHA512-CRYPT}$5$abc$def"])
    func malformedValuesAreRefusedAtImport(text: String) {
        #expect(throws: PosternError.self) { try GenericPassword(parsing: text) }
    }

    @Test func plainIsParsedInItsOwnForm() throws {
        let plain = try GenericPassword(parsing: "{plain}correct horse")
        #expect(plain.stored == "{PLAIN}correct horse")
        #expect(try GenericPassword(parsing: "{CLEARTEXT}correct horse").scheme == .plain)
        #expect(try GenericPassword(parsing: "{SHA256.HEX}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9203187b5631").stored.hasPrefix("{SHA256.HEX}"))
    }

    @Test func clearTextIsStoredAsSHA512CryptSaltedByTheKeyAndTheAddress() throws {
        let key = ServerKey(key: SymmetricKey(size: .bits256))
        let other = ServerKey(key: SymmetricKey(size: .bits256))
        let plain = try GenericPassword(parsing: "{PLAIN}correct horse")
        let hashed = try PlainImport.hashed(plain, address: "a@example.org", key: key)
        #expect(hashed.scheme == .sha512Crypt && hashed.stored.hasPrefix("{SHA512-CRYPT}$6$"))
        #expect(!hashed.stored.contains("correct horse"))
        #expect(LegacyHash.verify(password: Array("correct horse".utf8), against: hashed))
        #expect(!LegacyHash.verify(password: Array("correct horsf".utf8), against: hashed))
        // The same line imported again gives the same value (found unchanged); another mailbox or key, another salt.
        #expect(try PlainImport.hashed(plain, address: "A@Example.org", key: key) == hashed)
        #expect(try PlainImport.hashed(plain, address: "b@example.org", key: key) != hashed)
        #expect(try PlainImport.hashed(plain, address: "a@example.org", key: other) != hashed)
        // Dovecot reads it back: the value parses as the {SHA512-CRYPT} it says it is.
        #expect(try GenericPassword(parsing: hashed.stored) == hashed)
        let crypt = try GenericPassword(parsing: Self.vectors[0])
        #expect(try PlainImport.hashed(crypt, address: "a@example.org", key: key) == crypt)
    }

    @Test func aHashCryptCannotReadNeverVerifies() throws {
        let generic = try GenericPassword(parsing: "{CRYPT}$9$notarealscheme$xxxxxxxxxxxx")
        #expect(!LegacyHash.verify(password: Array("correct horse".utf8), against: generic))
    }
}
