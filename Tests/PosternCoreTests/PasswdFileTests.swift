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

    // MARK: streaming

    static func pieces(_ chunks: [[UInt8]], maxLineBytes: Int = PasswdFile.maxLineBytes) -> [PasswdFile.LineSplitter.Piece] {
        var splitter = PasswdFile.LineSplitter(maxLineBytes: maxLineBytes)
        var out: [PasswdFile.LineSplitter.Piece] = []
        for chunk in chunks { splitter.push(chunk) { out.append($0) } }
        splitter.finish { out.append($0) }
        return out
    }

    @Test func linesComeOutTheSameWhereverTheChunksAreCut() {
        let text = Array("a@example.org:{PLAIN}x\n\n# c\r\nb@example.org:{PLAIN}y\nlast".utf8)
        let whole = Self.pieces([text])
        #expect(whole == [.line(number: 1, bytes: Array("a@example.org:{PLAIN}x".utf8)), .line(number: 2, bytes: []),
                          .line(number: 3, bytes: Array("# c\r".utf8)), .line(number: 4, bytes: Array("b@example.org:{PLAIN}y".utf8)),
                          .line(number: 5, bytes: Array("last".utf8))])
        for cut in 0...text.count {
            #expect(Self.pieces([Array(text[..<cut]), Array(text[cut...])]) == whole, "cut at \(cut)")
        }
        #expect(Self.pieces(text.map { [$0] }) == whole, "one byte at a time")
    }

    @Test func aLineLongerThanTheLimitIsReportedAndSkippedUnread() {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 25)
        let text = Array("ok\n".utf8) + long + Array("\nnext\n".utf8)
        let expected: [PasswdFile.LineSplitter.Piece] = [.line(number: 1, bytes: Array("ok".utf8)), .tooLong(number: 2),
                                                         .line(number: 3, bytes: Array("next".utf8))]
        for cut in 0...text.count {
            #expect(Self.pieces([Array(text[..<cut]), Array(text[cut...])], maxLineBytes: 10) == expected, "cut at \(cut)")
        }
        // A line of exactly the limit is a line; a last line over it, with no line break, is reported once.
        #expect(Self.pieces([Array("0123456789".utf8)], maxLineBytes: 10) == [.line(number: 1, bytes: Array("0123456789".utf8))])
        #expect(Self.pieces([long, long], maxLineBytes: 10) == [.tooLong(number: 1)])
    }

    @Test func aBadLineIsAnErrorOfItsOwn() {
        #expect(PasswdFile.parse([0x61, 0xFF, 0x3A], number: 7)
                == .error(.init(line: 7, code: .invalidEncoding, message: "line 7: the line is not UTF-8 text")))
        #expect(PasswdFile.parse(Array("   ".utf8), number: 1) == .skipped)
        #expect(PasswdFile.parse(Array("\t# x".utf8), number: 1) == .skipped)
        guard case let .entry(entry) = PasswdFile.parse(Array("a@Example.ORG:{PLAIN}pw:1000\r".utf8), number: 3) else {
            Issue.record("a good line is an entry")
            return
        }
        #expect(entry.address.description == "a@example.org")
        #expect(entry.password.stored == "{PLAIN}pw")
        let decoded = PasswdFile.decode(String(repeating: "z", count: PasswdFile.maxLineBytes + 1) + "\nb@example.org:{PLAIN}y\n")
        #expect(decoded.errors.map(\.code) == ["line_too_long"])
        #expect(decoded.entries.map(\.line) == [2])
    }

    @Test func theReportListsTheFirstErrorsByLineAndCountsThemAll() {
        var report = ImportReport()
        var part = ImportReport()
        for line in stride(from: 1000, to: 0, by: -3) { report.add(error: .init(line: line, code: .invalidLine, message: "m")) }
        for line in 1...150 { part.add(warning: .init(line: line, code: .plainPassword, message: "m")) }
        part.add(error: .init(line: 2, code: .duplicateUser, message: "m"))
        report.merge(part)
        report.finish()
        #expect(report.errorCount == 334 + 1)
        #expect(report.errors.count == ImportReport.maxListed)
        #expect(report.errors.first?.line == 1 && report.errors[1].line == 2)
        #expect(report.errors.map(\.line) == report.errors.map(\.line).sorted())
        #expect(report.errors.last?.line == 1 + 3 * 98)
        #expect(report.warningCount == 150 && report.warnings.map(\.line) == Array(1...100))
    }
}

