/// Follows the framing of HTTP/1.1 requests on one connection, byte by byte, to refuse a body
/// that cannot fit *as soon as its size is declared*: a `Content-Length`, or a chunk-size line
/// (`FFFFFFFFFFFFFFFF`), over the limit. An HTTP decoder only sees such a body fail once that
/// many bytes have arrived, so a client that declares one and sends nothing holds the request
/// open until it gives up. Anything it cannot follow (a malformed head or chunk line) it stops
/// following and lets the HTTP decoder refuse.
public struct HTTPBodyGuard: Sendable {
    /// The most a request body may hold; `streamedLimit` for requests to `streamedPaths` (whose
    /// body is read as it arrives, a passwd-file import): there only a chunk or length that no
    /// real client sends is refused.
    public let limit: Int
    public let streamedPaths: [String]
    public let streamedLimit: Int
    /// A head longer than this is the HTTP decoder's to refuse; the guard stops following.
    public static let maxHead = 128 * 1024

    public enum Verdict: Equatable, Sendable {
        case pass
        /// The body declared `declared` bytes (at least) where `limit` fit.
        case tooLarge(declared: UInt64, limit: Int)
    }

    enum State: Equatable, Sendable {
        case head
        case fixed(remaining: UInt64)
        case chunkSize
        case chunkData(remaining: UInt64)
        case trailers
        case off
    }

    var state = State.head
    var line: [UInt8] = []
    var headLines: [[UInt8]] = []
    var headBytes = 0
    var bodySoFar: UInt64 = 0
    var bodyLimit = 0

    public init(limit: Int, streamedPaths: [String] = [], streamedLimit: Int = 1 << 30) {
        self.limit = limit
        self.streamedPaths = streamedPaths
        self.streamedLimit = streamedLimit
    }

    /// Takes the next bytes the client sent; `.tooLarge` once a declared size cannot fit.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) -> Verdict where Bytes.Element == UInt8 {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            switch state {
            case .off:
                return .pass
            case let .fixed(remaining), let .chunkData(remaining):
                let available = UInt64(bytes.distance(from: index, to: bytes.endIndex))
                let skip = min(available, remaining)
                index = bytes.index(index, offsetBy: Int(skip))
                let left = remaining - skip
                if case .fixed = state {
                    state = left == 0 ? .head : .fixed(remaining: left)
                } else {
                    state = left == 0 ? .chunkSize : .chunkData(remaining: left)
                }
            case .head, .chunkSize, .trailers:
                let byte = bytes[index]
                index = bytes.index(after: index)
                if byte != UInt8(ascii: "\n") {
                    line.append(byte)
                    headBytes += 1
                    if headBytes > Self.maxHead { state = .off }
                    continue
                }
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                let text = line
                line.removeAll(keepingCapacity: true)
                if let verdict = endOfLine(text), verdict != .pass { return verdict }
            }
        }
        return .pass
    }

    private mutating func endOfLine(_ text: [UInt8]) -> Verdict? {
        switch state {
        case .head:
            if text.isEmpty {
                if headLines.isEmpty { return nil }  // a CRLF between requests
                defer { headLines.removeAll(); headBytes = 0 }
                return endOfHead()
            }
            headLines.append(text)
        case .chunkSize:
            headBytes = 0  // each chunk-size line is bounded on its own: many small chunks do not switch the guard off
            guard let size = Self.chunkSize(text) else { state = .off; return nil }
            if size == 0 { state = .trailers; return nil }
            let (total, overflow) = bodySoFar.addingReportingOverflow(size)
            if overflow || total > UInt64(bodyLimit) { return .tooLarge(declared: overflow ? .max : total, limit: bodyLimit) }
            bodySoFar = total
            state = .chunkData(remaining: size + 2)  // the data, then its CRLF
        case .trailers:
            if text.isEmpty { state = .head; headBytes = 0 }
        case .fixed, .chunkData, .off:
            break
        }
        return nil
    }

    private mutating func endOfHead() -> Verdict {
        guard let requestLine = headLines.first else { return .pass }
        let target = requestLine.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: true).dropFirst().first ?? []
        let path = String(decoding: target.prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self)
        bodyLimit = streamedPaths.contains(path) ? streamedLimit : limit
        bodySoFar = 0
        var chunked = false
        var length: UInt64?
        for header in headLines.dropFirst() {
            guard let colon = header.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: header[..<colon], as: UTF8.self).lowercased()
            let isSpace = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
            let raw = header[header.index(after: colon)...].drop(while: isSpace)
            let value = String(decoding: raw.reversed().drop(while: isSpace).reversed(), as: UTF8.self).lowercased()
            if name == "transfer-encoding", value.contains("chunked") { chunked = true }
            if name == "content-length" { guard let n = UInt64(value) else { state = .off; return .pass }; length = n }
        }
        if chunked { state = .chunkSize; return .pass }
        if let length {
            if length > UInt64(bodyLimit) { return .tooLarge(declared: length, limit: bodyLimit) }
            state = length == 0 ? .head : .fixed(remaining: length)
        }
        return .pass
    }

    /// The size of a chunk-size line (`1a`, `1A;name=value`); nil when it is not hex, or longer
    /// than 16 hex digits.
    static func chunkSize(_ line: [UInt8]) -> UInt64? {
        var size: UInt64 = 0
        var digits = 0
        for byte in line {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return digits > 0 ? size : nil
            default: return nil
            }
            digits += 1
            guard digits <= 16 else { return nil }
            size = size << 4 | UInt64(value)
        }
        return digits > 0 ? size : nil
    }
}
