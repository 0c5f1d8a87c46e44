import Foundation
import NIOCore
import PosternProtocols
import Testing

/// The socketmap codec: netstrings both ways, requests, replies, and what real Postfix sent
/// (captures of postmap, smtpd and cleanup talking to a socketmap stand-in).
@Suite struct SocketmapTests {
    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func aNetstringIsDecodedWholeAndByteByByte() throws {
        let wire = Array("25:virtual alias@example.org,19:senders a@b.example,".utf8)
        var whole = ByteBuffer(bytes: wire)
        #expect(try SocketmapRequest.decode(&whole) == SocketmapRequest(map: "virtual", key: "alias@example.org"))
        #expect(try SocketmapRequest.decode(&whole) == SocketmapRequest(map: "senders", key: "a@b.example"))
        #expect(try SocketmapRequest.decode(&whole) == nil && whole.readableBytes == 0)

        var fed = ByteBuffer()
        var decoded: [SocketmapRequest] = []
        for byte in wire {
            fed.writeInteger(byte)
            while let request = try SocketmapRequest.decode(&fed) { decoded.append(request) }
        }
        #expect(decoded.map(\.key) == ["alias@example.org", "a@b.example"])
    }

    @Test func brokenFramingIsAnError() throws {
        for (wire, error) in [("x:virtual a@b.c,", Netstring.DecodeError.badLength), (":virtual,", .badLength),
                              ("5:abcdeX", .missingComma), ("99999:", .tooLarge(limit: SocketmapRequest.maxSize)),
                              ("12345678", .tooLarge(limit: SocketmapRequest.maxSize)), ("4097:", .tooLarge(limit: SocketmapRequest.maxSize))] {
            var buffer = Self.buffer(wire)
            #expect(throws: SocketmapRequest.DecodeError.framing(error), "\(wire)") { try SocketmapRequest.decode(&buffer) }
        }
        var partial = Self.buffer("4096")
        #expect(try SocketmapRequest.decode(&partial) == nil, "a length within the limit waits for the rest")
    }

    @Test func aWellFramedRequestThatSaysNothingSensibleIsMalformed() {
        let cases: [([UInt8], String)] = [(Array("virtual".utf8), "no space"), (Array(" a@b.c".utf8), "map name is empty"),
                                          (Array("virtual ".utf8), "key is empty"), ([0x76, 0x20, 0xFF, 0xFE], "not UTF-8"),
                                          (Array("virtual a\tb@c.d".utf8), "control characters")]
        for (payload, why) in cases {
            var buffer = ByteBuffer()
            Netstring.encode(payload, into: &buffer)
            #expect(performing: { try SocketmapRequest.decode(&buffer) }, throws: { error in
                guard case let SocketmapRequest.DecodeError.malformed(message) = error else { return false }
                return message.contains(why)
            })
            #expect(buffer.readableBytes == 0, "a malformed request is consumed: the next one can be read")
        }
    }

    @Test func repliesAreEncodedAsPostfixReadsThem() {
        #expect(SocketmapReply.ok("alice@example.org").encoded == Array("20:OK alice@example.org,".utf8))
        #expect(SocketmapReply.notFound.encoded == Array("9:NOTFOUND ,".utf8))
        #expect(SocketmapReply.temp("database down").encoded == Array("18:TEMP database down,".utf8))
        #expect(SocketmapReply.perm("bad config").encoded == Array("15:PERM bad config,".utf8))
        #expect(SocketmapReply.timeout("slow").encoded == Array("12:TIMEOUT slow,".utf8))
        let huge = SocketmapReply.ok(String(repeating: "a", count: SocketmapReply.maxPayload))
        var decoded = ByteBuffer(bytes: huge.encoded)
        guard case let .perm(why)? = try? SocketmapReply.decode(&decoded) else { Issue.record("a value Postfix would refuse"); return }
        #expect(why.contains("longer than Postfix accepts"))
        #expect(SocketmapReply.ok("é@x.test").encoded == Array("12:OK é@x.test,".utf8), "lengths count bytes, not characters")
    }

    /// Each request Postfix sent, and each reply the stand-in gave, through the codec.
    @Test(arguments: ["socketmap-postmap.log", "socketmap-smtp.log", "socketmap-smtp2.log"])
    func whatRealPostfixSentDecodes(capture: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Captures/\(capture)")
        var seen = 0
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            guard let c = line.range(of: "C->S b'"), let s = line.range(of: "'  S->C b'") else { continue }
            let request = String(line[c.upperBound..<s.lowerBound])
            let reply = String(line[s.upperBound..<line.index(before: line.endIndex)])
            var wire = ByteBuffer()
            Netstring.encode(Array(request.utf8), into: &wire)
            let sent = Array(wire.readableBytesView)
            let decoded = try #require(try SocketmapRequest.decode(&wire))
            #expect("\(decoded.map) \(decoded.key)" == request)
            #expect(["virtual", "senders"].contains(decoded.map))
            #expect(decoded.encoded == sent)
            var answer = ByteBuffer(string: reply)
            if reply.hasSuffix("HUH?,") {
                #expect(throws: SocketmapReply.DecodeError.unknownStatus("HUH?")) { try SocketmapReply.decode(&answer) }
            } else {
                let parsed = try #require(try SocketmapReply.decode(&answer))
                if reply != "8:NOTFOUND," { #expect(parsed.encoded == Array(reply.utf8), "\(reply) re-encodes byte for byte") }
                else { #expect(parsed == .notFound, "the space after NOTFOUND is optional") }
            }
            seen += 1
        }
        #expect(seen >= 7)
    }

    /// Random bytes from an alphabet that makes near-netstrings: every input ends in a request,
    /// an error, or a wait for more bytes, and a wait never holds more than the limit allows.
    @Test func randomBytesNeverTrapAndAlwaysEnd() {
        var rng = SplitMix(seed: 42)
        let alphabet = Array("0123456789::,, abc@.".utf8) + [0x00, 0xFF, 0x0A]
        for _ in 0..<20_000 {
            var buffer = ByteBuffer(bytes: (0..<Int(rng.next() % 48)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            var steps = 0
            while steps < 100 {
                steps += 1
                do {
                    guard try SocketmapRequest.decode(&buffer) != nil else { break }
                } catch .malformed {
                    continue
                } catch {
                    break
                }
            }
            #expect(steps < 100)
        }
    }
}

/// A small deterministic generator, so a failing input can be found again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
