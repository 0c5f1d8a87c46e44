import NIOCore
import PosternProtocols
import Testing

/// Vectors from captures/saslauthd-*.log (testsaslauthd and libsasl2 through Postfix).
@Suite struct SaslauthdTests {
    static let postfixRequest: [UInt8] = [0, 5] + Array("alice".utf8) + [0, 6] + Array("s3cret".utf8) + [0, 4] + Array("smtp".utf8)
        + [0, 11] + Array("example.org".utf8)

    @Test func decodesWhatLibsasl2SendsAndJoinsLoginAndRealm() throws {
        var buffer = ByteBuffer(bytes: Self.postfixRequest)
        let request = try #require(try SaslauthdRequest.decode(&buffer))
        #expect(request == SaslauthdRequest(login: "alice", password: Array("s3cret".utf8), service: "smtp", realm: "example.org"))
        #expect(request.address == "alice@example.org")
        #expect(buffer.readableBytes == 0)
        #expect(request.encoded == Self.postfixRequest)
    }

    @Test func testsaslauthdSendsTheWholeAddressAsLogin() {
        #expect(SaslauthdRequest(login: "alice@example.org", password: [], service: "imap", realm: "").address == "alice@example.org")
        #expect(SaslauthdRequest(login: "alice@example.org", password: [], service: "imap", realm: "other.org").address == "alice@example.org")
        #expect(SaslauthdRequest(login: "carol", password: [], service: "smtp", realm: "").address == "carol")
    }

    @Test func everySplitPointNeedsMoreBytesUntilTheLast() throws {
        for cut in 0..<Self.postfixRequest.count {
            var buffer = ByteBuffer(bytes: Self.postfixRequest[..<cut])
            #expect(try SaslauthdRequest.decode(&buffer) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut, "nothing consumed before the request is whole")
        }
    }

    @Test func oversizedRequestsAreRefused() {
        var huge = ByteBuffer(bytes: [0xFF, 0xFF])
        huge.writeRepeatingByte(0x41, count: SaslauthdRequest.maxSize)
        #expect(throws: SaslauthdRequest.DecodeError.tooLarge(limit: SaslauthdRequest.maxSize)) { try SaslauthdRequest.decode(&huge) }
        let big = SaslauthdRequest(login: "a", password: [UInt8](repeating: 0x41, count: 9000), service: "smtp", realm: "")
        var buffer = ByteBuffer(bytes: big.encoded)
        #expect(throws: SaslauthdRequest.DecodeError.self) { try SaslauthdRequest.decode(&buffer) }
    }

    @Test func aLoginThatIsNotUTF8IsRefused() {
        var buffer = ByteBuffer(bytes: [0, 1, 0xFF, 0, 1, 0x41, 0, 0, 0, 0])
        #expect(throws: SaslauthdRequest.DecodeError.notUTF8(field: "login")) { try SaslauthdRequest.decode(&buffer) }
    }

    @Test func repliesAreCountedStrings() {
        #expect(SaslauthdReply.ok.encoded == [0, 2, 0x4F, 0x4B])
        #expect(SaslauthdReply.no.encoded == [0, 2, 0x4E, 0x4F])
    }
}
