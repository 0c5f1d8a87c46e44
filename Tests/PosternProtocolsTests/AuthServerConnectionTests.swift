import PosternProtocols
import Testing

extension AuthServerConnection {
    /// `receive` for use inside #expect, which cannot call mutating members.
    mutating func receiving(_ line: ArraySlice<UInt8>) -> Action { receive(line: line) }
}

@Suite struct AuthServerConnectionTests {
    static func ready() -> AuthServerConnection {
        var c = AuthServerConnection()
        _ = c.receive(line: line("VERSION\t1\t0"))
        _ = c.receive(line: line("CPID\t42"))
        return c
    }

    static func line(_ s: String) -> ArraySlice<UInt8> { Array(s.utf8)[...] }
    static func b64(_ s: String) -> String { Base64.encode(Array(s.utf8)) }

    @Test func plainWithInitialResponseAsksForACheck() {
        var c = Self.ready()
        let action = c.receive(line: Self.line("AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.7\tsecured\tresp=\(Self.b64("\0alice@example.org\0pw"))"))
        guard case let .check(attempt) = action else { Issue.record("\(action)"); return }
        #expect(attempt == AuthAttempt(id: 1, login: "alice@example.org", password: Array("pw".utf8), service: "smtp",
                                       remoteIP: "192.0.2.7", localIP: "127.0.0.1", secured: true))
        let first = c.finish(id: 1), second = c.finish(id: 1)
        #expect(first)
        #expect(!second)
    }

    @Test func doveadmStyleAuthzidEqualToAuthcidIsANormalLogin() {
        var c = Self.ready()
        guard case .check = c.receive(line: Self.line("AUTH\t1\tPLAIN\tservice=doveadm\tdebug\tresp=\(Self.b64("a@example.org\0a@example.org\0pw"))")) else {
            Issue.record("expected a check"); return
        }
    }

    @Test func aMasterUserLoginFails() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("AUTH\t1\tPLAIN\tservice=smtp\tresp=\(Self.b64("boss@example.org\0a@example.org\0pw"))")) == .reply(.fail(id: 1, user: "a@example.org", code: nil, reason: nil)))
    }

    @Test func plainWithoutResponseGetsAnEmptyChallengeThenReadsCont() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("AUTH\t4\tPLAIN\tservice=smtp\tnologin")) == .reply(.cont(id: 4, challenge: [])))
        guard case let .check(attempt) = c.receive(line: Self.line("CONT\t4\t\(Self.b64("\0a@example.org\0pw"))")) else {
            Issue.record("expected a check"); return
        }
        #expect(attempt.login == "a@example.org")
    }

    @Test func loginAsksForUsernameThenPassword() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("AUTH\t2\tLOGIN\tservice=smtp")) == .reply(.cont(id: 2, challenge: Array("Username:".utf8))))
        #expect(c.receiving(Self.line("CONT\t2\t\(Self.b64("a@example.org"))")) == .reply(.cont(id: 2, challenge: Array("Password:".utf8))))
        guard case let .check(attempt) = c.receive(line: Self.line("CONT\t2\t\(Self.b64("pw"))")) else { Issue.record("expected a check"); return }
        #expect(attempt.login == "a@example.org" && attempt.password == Array("pw".utf8))
    }

    @Test func loginWithInitialResponseSkipsToPassword() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("AUTH\t3\tlogin\tservice=smtp\tresp=\(Self.b64("a@example.org"))")) == .reply(.cont(id: 3, challenge: Array("Password:".utf8))))
    }

    @Test func badBase64GetsInvalidBase64() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("AUTH\t1\tPLAIN\tservice=smtp\tresp=!!!!")) ==
                .reply(.fail(id: 1, user: nil, code: .invalidBase64, reason: "Invalid base64 data in initial response")))
        _ = c.receive(line: Self.line("AUTH\t2\tPLAIN\tservice=smtp"))
        #expect(c.receiving(Self.line("CONT\t2\tabc")) ==
                .reply(.fail(id: 2, user: nil, code: .invalidBase64, reason: "Invalid base64 data in continued response")))
    }

    @Test func malformedPlainResponsesFail() {
        for response in ["", "nonul", "\0\0pw", "\0user", "\0user\0pw\0extra", "\0\u{FF}\0pw"] {
            var c = Self.ready()
            let bytes: [UInt8] = response == "\0\u{FF}\0pw" ? [0, 0xFF, 0, 0x70] : Array(response.utf8)
            #expect(c.receiving(Self.line("AUTH\t1\tPLAIN\tservice=smtp\tresp=\(Base64.encode(bytes))")) ==
                    .reply(.fail(id: 1, user: nil, code: nil, reason: nil)), "\(response.debugDescription)")
        }
    }

    @Test func aContinuationNobodyAskedForFails() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("CONT\t9\tYWJj")) == .reply(.fail(id: 9, user: nil, code: nil, reason: "Unexpected continuation")))
    }

    @Test func pipelinedRequestsAreIndependentAndCancelDropsTheAnswer() {
        var c = Self.ready()
        guard case .check = c.receive(line: Self.line("AUTH\t1\tPLAIN\tservice=smtp\tresp=\(Self.b64("\0a@x.org\0p"))")),
              case .check = c.receive(line: Self.line("AUTH\t2\tPLAIN\tservice=smtp\tresp=\(Self.b64("\0b@x.org\0p"))")) else {
            Issue.record("expected two checks"); return
        }
        _ = c.receive(line: Self.line("CANCEL\t1"))
        let cancelled = c.finish(id: 1), answered = c.finish(id: 2)
        #expect(!cancelled)
        #expect(answered)
    }

    @Test(arguments: [
        "AUTH\t1\tPLAIN\tservice=smtp",            // before VERSION/CPID (sent on a fresh connection)
    ])
    func authBeforeHandshakeCloses(line: String) {
        var c = AuthServerConnection()
        guard case .close = c.receive(line: Self.line(line)) else { Issue.record("expected close"); return }
    }

    @Test(arguments: [
        "VERSION\t2\t0", "CPID\t0", "CPID\tabc", "AUTH\t0\tPLAIN\tservice=smtp", "AUTH\tx\tPLAIN\tservice=smtp",
        "AUTH\t1\tCRAM-MD5\tservice=smtp", "AUTH\t1\tPLAIN\tnologin", "AUTH\t1\tPLAIN\tservice=", "AUTH\t1", "",
        "AUTH\t99999999999\tPLAIN\tservice=smtp", "CONT", "CANCEL\t-1",
    ])
    func malformedLinesClose(line: String) {
        var c = Self.ready()
        guard case .close = c.receive(line: Self.line(line)) else { Issue.record("expected close for \(line.debugDescription)"); return }
    }

    @Test func aDuplicateIdWhileThe_firstIsPendingCloses() {
        var c = Self.ready()
        _ = c.receive(line: Self.line("AUTH\t1\tLOGIN\tservice=smtp"))
        guard case .close = c.receive(line: Self.line("AUTH\t1\tLOGIN\tservice=smtp")) else { Issue.record("expected close"); return }
    }

    @Test func unknownCommandsAndFlagsAreIgnored() {
        var c = Self.ready()
        #expect(c.receiving(Self.line("FUTURE\tthing")) == .none)
        guard case let .check(a) = c.receive(line: Self.line("AUTH\t1\tPLAIN\tservice=imap\tno-penalty\tsession=abc\tlport=143\tfoo=bar\t\tresp=\(Self.b64("\0a@x.org\0p"))")) else {
            Issue.record("expected check"); return
        }
        #expect(a.service == "imap")
    }

    @Test func tooManyRequestsInFlightClose() {
        var c = Self.ready()
        for id in 1...AuthServerConnection.maxPending { _ = c.receive(line: Self.line("AUTH\t\(id)\tLOGIN\tservice=smtp")) }
        guard case .close = c.receive(line: Self.line("AUTH\t999999\tLOGIN\tservice=smtp")) else { Issue.record("expected close"); return }
    }
}
