import PosternCore
import Testing

@Suite struct PasswdFileTests {
    static let sha512 = "{SHA512-CRYPT}$6$vCkbG2Zx/tXVGp23$f04PVOhiZ6/HzxEelyVEG9yc6fNB4B6gji7iMBA3Qr0qHkwPC.oP.GTUpWBO5YMF4k6ZHqDEGPXC1zRqaMXUX0"

    @Test func goodLinesBecomeEntriesAndBadLinesAreReportedByNumber() {
        let file = PasswdFile.decode("""
            # users of example.org

            alice@example.org:\(Self.sha512):1000:1000::/home/alice::
            bob@Example.org:{BLF-CRYPT}$2y$05$W0Rvi8rfAPIEfxckwasEy.uHCh66qkXkJT/3HGpaxcgc4SFA7rStG
            carol@example.org:{NOPE}abc
            no-colon-here
            not an address:{SHA512-CRYPT}$6$x$y
            dave@example.org:
            erin@example.org:{SHA256-CRYPT}$6$wrongprefix
            alice@example.org:\(Self.sha512)
            frank@example.org:$y$j9T$sy6CFKiHNr6Qe51GMB6Hm.$t60YY33pXVKBKOL9vNJS90IM4KB7Fm5p8NDLg1Evn/7
            """)
        #expect(file.entries.map(\.line) == [3, 4, 11])
        #expect(file.entries.map(\.address.description) == ["alice@example.org", "bob@example.org", "frank@example.org"])
        #expect(file.entries[1].password.scheme == .blfCrypt)
        #expect(file.entries[2].password.scheme == .crypt)
        #expect(file.errors.map(\.line) == [5, 6, 7, 8, 9, 10])
        #expect(file.errors.map(\.code) == ["unknown_scheme", "invalid_line", "invalid_address", "missing_password", "invalid_hash", "duplicate_user"])
        #expect(file.errors.allSatisfy { $0.message.hasPrefix("line \($0.line): ") })
    }

    @Test func errorsNeverEchoTheHash() {
        let file = PasswdFile.decode("x@example.org:{SHA256-CRYPT}$6$secretsalt$secrethash\n")
        #expect(file.errors.count == 1)
        #expect(!file.errors[0].message.contains("secrethash"))
    }

    @Test func crlfLineEndingsAreAccepted() {
        let file = PasswdFile.decode("a@example.org:\(Self.sha512)\r\nb@example.org:\(Self.sha512)\r\n")
        #expect(file.entries.count == 2)
        #expect(file.errors.isEmpty)
    }

    @Test func schemesParseCaseInsensitivelyAndStoreInDovecotForm() throws {
        let p = try GenericPassword(parsing: "{sha512-crypt}$6$a$b")
        #expect(p.scheme == .sha512Crypt)
        #expect(p.stored == "{SHA512-CRYPT}$6$a$b")
    }
}
