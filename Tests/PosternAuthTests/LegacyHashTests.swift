import PosternAuth
import PosternCore
import Testing

/// Vectors from `doveadm pw -s SCHEME -p 'correct horse'` (Dovecot 2.3.19) and libxcrypt's crypt_gensalt.
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
    ]

    @Test(arguments: vectors)
    func theRightPasswordVerifiesAndAWrongOneDoesNot(stored: String) throws {
        let generic = try GenericPassword(parsing: stored)
        #expect(LegacyHash.verify(password: Array("correct horse".utf8), against: generic))
        #expect(!LegacyHash.verify(password: Array("correct horsf".utf8), against: generic))
        #expect(!LegacyHash.verify(password: [], against: generic))
        #expect(!LegacyHash.verify(password: Array("correct\0horse".utf8), against: generic))
    }

    @Test func aHashCryptCannotReadNeverVerifies() throws {
        let generic = try GenericPassword(parsing: "{CRYPT}$9$notarealscheme$xxxxxxxxxxxx")
        #expect(!LegacyHash.verify(password: Array("correct horse".utf8), against: generic))
    }
}
