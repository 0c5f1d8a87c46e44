import PosternProtocols
import Testing

/// Requests as nginx 1.22 sends them (captures/auth_http*.log).
@Suite struct NginxAuthTests {
    static func headers(_ pairs: [String: String]) -> (String) -> String? {
        { name in pairs.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    static let captured = ["Host": "127.0.0.1", "Auth-Method": "plain", "Auth-User": "alice@example.org", "Auth-Pass": "s3cret",
                           "Auth-Protocol": "smtp", "Auth-Login-Attempt": "1", "Client-IP": "127.0.0.1", "Client-Host": "[UNAVAILABLE]"]

    @Test func decodesTheCapturedRequest() throws {
        let r = try NginxAuthRequest.decode(header: Self.headers(Self.captured))
        #expect(r == NginxAuthRequest(user: "alice@example.org", password: Array("s3cret".utf8), proto: "smtp", attempt: 1, clientIP: "127.0.0.1"))
    }

    @Test func onlyPercentEscapesAreDecodedAndPlusStaysAPlus() throws {
        var h = Self.captured
        h["Auth-Pass"] = "a%20b%25c+d%0A"
        h["Auth-User"] = "j%C3%BCrgen@example.org"
        let r = try NginxAuthRequest.decode(header: Self.headers(h))
        #expect(r.password == Array("a b%c+d\n".utf8))
        #expect(r.user == "jürgen@example.org")
    }

    @Test(arguments: [("Auth-Pass", "bad%2"), ("Auth-Pass", "bad%zz"), ("Auth-User", "x%FF@example.org")])
    func badEscapesAreRefused(header: String, value: String) {
        var h = Self.captured
        h[header] = value
        #expect(throws: NginxAuthRequest.DecodeError.self) { try NginxAuthRequest.decode(header: Self.headers(h)) }
    }

    @Test func missingHeadersAndUnsupportedMethodsAreRefused() {
        var h = Self.captured
        h["Auth-Method"] = "cram-md5"
        #expect(throws: NginxAuthRequest.DecodeError.unsupportedMethod("cram-md5")) { try NginxAuthRequest.decode(header: Self.headers(h)) }
        h = Self.captured
        h.removeValue(forKey: "Auth-User")
        #expect(throws: NginxAuthRequest.DecodeError.missingHeader("Auth-User")) { try NginxAuthRequest.decode(header: Self.headers(h)) }
        h = Self.captured
        h["Auth-Protocol"] = "ftp"
        #expect(throws: NginxAuthRequest.DecodeError.unsupportedProtocol("ftp")) { try NginxAuthRequest.decode(header: Self.headers(h)) }
    }

    @Test func responsesAreTheHeadersNginxReads() {
        #expect(NginxAuthResponse.ok(server: "127.0.0.1", port: 14300).headers.map { "\($0.0): \($0.1)" } ==
                ["Auth-Status: OK", "Auth-Server: 127.0.0.1", "Auth-Port: 14300"])
        #expect(NginxAuthResponse.fail(status: "Invalid login or password", wait: 2).headers.map { "\($0.0): \($0.1)" } ==
                ["Auth-Status: Invalid login or password", "Auth-Wait: 2"])
        #expect(NginxAuthResponse.tempFail(status: "Temporary failure", wait: nil).headers.map { "\($0.0): \($0.1)" } ==
                ["Auth-Status: Temporary failure", "Auth-Error-Code: 451 4.3.0"])
    }
}
