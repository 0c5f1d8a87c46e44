import NIOCore
import PosternProtocols
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
    }

    @Test(arguments: ["Zg", "Zg=", "Z===", "Zm9v!", "Zg==Zg==", "Zm=v", "Zm9v\n", "====", "Zm 9"])
    func invalidInputIsRefused(text: String) {
        #expect(Base64.decode(Array(text.utf8)) == nil)
    }

    @Test func decodesASliceOfALongerLine() {
        let line = Array("resp=Zm9vYmE=\tx".utf8)
        #expect(Base64.decode(line[5..<13]) == Array("fooba".utf8))
        #expect(Base64.decode(line[5..<12]) == nil)
    }

    @Test func allBytesRoundTrip() {
        let bytes = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
    }
}

@Suite struct TabEscapingTests {
    @Test func escapesTheFiveSpecialBytesAndRoundTrips() {
        let raw: [UInt8] = [0x61, 0x01, 0x09, 0x0D, 0x0A, 0x00, 0x62]
        var escaped: [UInt8] = []
        TabEscaping.escape(raw, into: &escaped)
        #expect(escaped == [0x61, 1, 0x31, 1, 0x74, 1, 0x72, 1, 0x6E, 1, 0x30, 0x62])
        #expect(Array(TabEscaping.unescape(escaped[...])) == raw)
    }

    @Test func aFailReasonWithATabIsEscapedOnTheWire() {
        let line = AuthServerReply.fail(id: 1, user: "alice@example.org", code: nil, reason: "a\tb").encoded
        #expect(line == Array("FAIL\t1\tuser=alice@example.org\treason=a\u{01}tb\n".utf8))
    }
}

@Suite struct LineFrameDecoderTests {
    @Test func linesSplitAcrossReadsAreReassembled() throws {
        var decoder = LineFrameDecoder(maxLength: 64)
        var buffer = ByteBuffer()
        var lines: [String] = []
        for byte in Array("VERSION\t1\t0\r\nCPID\t1\nAU".utf8) {
            buffer.writeInteger(byte)
            while let line = try decoder.next(&buffer) { lines.append(String(buffer: line)) }
        }
        #expect(lines == ["VERSION\t1\t0", "CPID\t1"])
        buffer.writeString("TH\n")
        #expect(try decoder.next(&buffer).map { String(buffer: $0) } == "AUTH")
    }

    @Test func aLineOfExactlyTheLimitPassesAndOneMoreByteFails() throws {
        var decoder = LineFrameDecoder(maxLength: 8)
        var buffer = ByteBuffer(string: "1234567\n")
        #expect(try decoder.next(&buffer).map { String(buffer: $0) } == "1234567")
        buffer.writeString("12345678\n")
        #expect(throws: LineFrameDecoder.LineTooLong.self) { try decoder.next(&buffer) }
    }

    @Test func anEndlessLineWithoutLFFailsOnceItPassesTheLimit() throws {
        var decoder = LineFrameDecoder(maxLength: 16384)
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(0x41, count: 16383)
        #expect(try decoder.next(&buffer) == nil)
        buffer.writeInteger(UInt8(0x41))
        #expect(throws: LineFrameDecoder.LineTooLong.self) { try decoder.next(&buffer) }
    }
}

@Suite struct AuthClientCodecTests {
    @Test func plainRequestLooksLikePostfixs() {
        let line = AuthClientCodec.plain(id: 1, service: "smtp", login: "alice@example.org", password: Array("s3cret".utf8), remoteIP: "127.0.0.1")
        #expect(String(decoding: line, as: UTF8.self) == "AUTH\t1\tPLAIN\tservice=smtp\tnologin\trip=127.0.0.1\tresp=AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldA==\n")
    }

    @Test func serverLinesDecode() {
        #expect(AuthClientCodec.decode(Array("OK\t3\tuser=alice@example.org".utf8)[...]) == .ok(id: 3, fields: ["user": "alice@example.org"]))
        #expect(AuthClientCodec.decode(Array("FAIL\t1\tuser=a\tcode=temp_fail".utf8)[...]) == .fail(id: 1, fields: ["user": "a", "code": "temp_fail"]))
        #expect(AuthClientCodec.decode(Array("CONT\t2\tVXNlcm5hbWU6".utf8)[...]) == .cont(id: 2, challenge: Array("Username:".utf8)))
        #expect(AuthClientCodec.decode(Array("DONE".utf8)[...]) == .done)
    }
}
