@testable import PosternProtocols
import Testing

/// A body that cannot fit is refused as soon as its size is declared, whatever the bytes' split.
@Suite struct HTTPBodyGuardTests {
    static let post = "POST /v1/mailboxes HTTP/1.1\r\nHost: x\r\n"

    /// Fed whole, and fed one byte at a time: the same verdict.
    func verdict(_ text: String, limit: Int = 100, streamed: [String] = []) -> HTTPBodyGuard.Verdict {
        var whole = HTTPBodyGuard(limit: limit, streamedPaths: streamed, streamedLimit: 1000)
        let once = whole.feed(Array(text.utf8))
        var bytewise = HTTPBodyGuard(limit: limit, streamedPaths: streamed, streamedLimit: 1000)
        var each = HTTPBodyGuard.Verdict.pass
        for byte in text.utf8 where each == .pass { each = bytewise.feed([byte]) }
        #expect(once == each, "\(text.debugDescription): whole \(once), byte by byte \(each)")
        return once
    }

    @Test func aChunkSizeOverTheLimitIsRefusedAtItsLine() {
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n") == .tooLarge(declared: .max, limit: 100))
        #expect(verdict(Self.post + "transfer-encoding:  Chunked \r\n\r\n65\r\n") == .tooLarge(declared: 101, limit: 100))
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\n64;ext=1\r\n") == .pass, "100 bytes fit")
    }

    @Test func chunksAddUp() {
        let body = "32\r\n" + String(repeating: "a", count: 50) + "\r\n"
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\n" + body + body + "0\r\n\r\n") == .pass)
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\n" + body + body + "1\r\n") == .tooLarge(declared: 101, limit: 100))
    }

    @Test func manySmallChunksDoNotSwitchTheGuardOff() {
        let small = String(repeating: "1\r\na\r\n", count: 30_000)  // 180 KB of framing, over maxHead in all
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\n" + small + "FFFFFFFFFFFFFFFF\r\n", limit: 1 << 30)
                == .tooLarge(declared: .max, limit: 1 << 30))
    }

    @Test func aContentLengthOverTheLimitIsRefusedAtTheHead() {
        #expect(verdict(Self.post + "Content-Length: 101\r\n\r\n") == .tooLarge(declared: 101, limit: 100))
        #expect(verdict(Self.post + "Content-Length: 100\r\n\r\n") == .pass)
    }

    @Test func theNextRequestsOnTheConnectionAreFollowed() {
        let first = Self.post + "Content-Length: 5\r\n\r\nhello"
        let second = Self.post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let third = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(verdict(first + second + third + Self.post + "Content-Length: 1000\r\n\r\n") == .tooLarge(declared: 1000, limit: 100))
        // A body's bytes are skipped, never read as a head: "Content-Length: 999" inside it is data.
        let tricky = "Content-Length: 999\r\n\r\n"
        #expect(verdict(Self.post + "Content-Length: \(tricky.utf8.count)\r\n\r\n" + tricky) == .pass)
    }

    @Test func streamedPathsGetTheirOwnLimit() {
        let importing = "POST /v1/import/passwd-file?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(verdict(importing + "3E8\r\n", streamed: ["/v1/import/passwd-file"]) == .pass, "1000 fit a streamed body")
        #expect(verdict(importing + "3E9\r\n", streamed: ["/v1/import/passwd-file"]) == .tooLarge(declared: 1001, limit: 1000))
    }

    @Test func whatItCannotFollowIsLeftToTheDecoder() {
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\nxyz\r\nFFFFFFFFFFFF\r\n") == .pass)
        #expect(verdict(Self.post + "Transfer-Encoding: chunked\r\n\r\n1FFFFFFFFFFFFFFFF\r\n") == .pass, "17 digits: the decoder refuses it")
        #expect(verdict(Self.post + "Content-Length: lots\r\n\r\n") == .pass)
        #expect(verdict("GET / HTTP/1.1\r\n" + String(repeating: "h", count: HTTPBodyGuard.maxHead + 1)) == .pass)
    }

    @Test(arguments: [("1a", UInt64(26)), ("1A;name=v", 26), ("0", 0), ("ffffffffffffffff", .max)])
    func chunkSizes(_ line: String, _ size: UInt64) {
        #expect(HTTPBodyGuard.chunkSize(Array(line.utf8)) == size)
    }

    @Test(arguments: ["", ";x", "g", "-1", "10000000000000000"])
    func notChunkSizes(_ line: String) {
        #expect(HTTPBodyGuard.chunkSize(Array(line.utf8)) == nil)
    }
}
