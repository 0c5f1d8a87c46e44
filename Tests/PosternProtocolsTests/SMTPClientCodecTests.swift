import PosternProtocols
import Testing

@Suite struct SMTPClientCodecTests {
    @Test func multilineRepliesEndOnTheLineWithoutAHyphen() throws {
        var partial: [String] = []
        #expect(try SMTPClientCodec.decode("250-mail.example", into: &partial) == nil)
        #expect(try SMTPClientCodec.decode("250-PIPELINING", into: &partial) == nil)
        let reply = try #require(try SMTPClientCodec.decode("250 8BITMIME", into: &partial))
        #expect(reply.code == 250 && reply.lines == ["mail.example", "PIPELINING", "8BITMIME"] && reply.isPositive)
        #expect(partial.isEmpty)
        #expect(try SMTPClientCodec.decode("354", into: &partial)?.code == 354)
        #expect(try SMTPClientCodec.decode("550 5.1.1 no such user", into: &partial)?.isPositive == false)
    }

    @Test func garbageAndMixedCodesAreErrors() {
        var partial: [String] = []
        #expect(throws: SMTPClientCodec.DecodeError.malformed("hello")) { try SMTPClientCodec.decode("hello", into: &partial) }
        #expect(throws: SMTPClientCodec.DecodeError.self) { try SMTPClientCodec.decode("25", into: &partial) }
        #expect(throws: SMTPClientCodec.DecodeError.self) { try SMTPClientCodec.decode("250x", into: &partial) }
        _ = try? SMTPClientCodec.decode("250-a", into: &partial)
        #expect(throws: SMTPClientCodec.DecodeError.mixedCodes) { try SMTPClientCodec.decode("251 b", into: &partial) }
    }

    @Test func dataDoublesLeadingDotsAndEndsWithADot() {
        let bytes = SMTPClientCodec.data("Subject: x\n\n.hidden\nline\r\n..two\n")
        #expect(String(decoding: bytes, as: UTF8.self) == "Subject: x\r\n\r\n..hidden\r\nline\r\n...two\r\n.\r\n")
        #expect(String(decoding: SMTPClientCodec.data(""), as: UTF8.self) == "\r\n.\r\n")
    }

    @Test func commandsCannotCarryALineBreak() {
        #expect(SMTPClientCodec.command("MAIL", "FROM:<a@b.example>").map { String(decoding: $0, as: UTF8.self) } == "MAIL FROM:<a@b.example>\r\n")
        #expect(SMTPClientCodec.command("RCPT", "TO:<a@b.example>\r\nDATA") == nil)
    }
}
