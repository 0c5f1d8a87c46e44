import NIOCore

/// One socketmap lookup from Postfix: `NAME KEY` in a netstring, the table name as written in
/// `socketmap:unix:PATH:NAME`, the key as Postfix has it (smtpd lowercases it, cleanup does not).
public struct SocketmapRequest: Equatable, Sendable {
    public var map: String
    public var key: String

    /// Requests longer than this are refused: a key is an address (254 bytes at most).
    public static let maxSize = 4096

    public init(map: String, key: String) {
        self.map = map
        self.key = key
    }

    public enum DecodeError: Error, Equatable, Sendable {
        /// The framing is broken: answer PERM and close, the next request cannot be found.
        case framing(Netstring.DecodeError)
        /// A well-framed request that says nothing sensible: answer PERM and go on.
        case malformed(String)
    }

    /// Decodes one request from the front of `buffer`; nil while bytes are missing.
    public static func decode(_ buffer: inout ByteBuffer) throws(DecodeError) -> SocketmapRequest? {
        let payload: ByteBuffer?
        do { payload = try Netstring.decode(&buffer, limit: maxSize) } catch { throw .framing(error) }
        guard let payload else { return nil }
        let bytes = payload.readableBytesView
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { throw .malformed("no space between the map name and the key") }
        guard let map = String(validating: bytes[..<space], as: UTF8.self),
              let key = String(validating: bytes[bytes.index(after: space)...], as: UTF8.self) else {
            throw .malformed("the request is not UTF-8")
        }
        guard !map.isEmpty, !key.isEmpty else { throw .malformed(map.isEmpty ? "the map name is empty" : "the key is empty") }
        guard !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { throw .malformed("the key holds control characters") }
        return SocketmapRequest(map: map, key: key)
    }

    /// The request's wire bytes (for tests and the benchmark's load generator).
    public var encoded: [UInt8] {
        var buffer = ByteBuffer()
        Netstring.encode(Array("\(map) \(key)".utf8), into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

/// The answer to one lookup.
public enum SocketmapReply: Equatable, Sendable {
    case ok(String)
    case notFound
    /// A temporary failure: smtpd answers 451 4.3.0 and the client retries.
    case temp(String)
    case timeout(String)
    /// A permanent failure: the request was wrong.
    case perm(String)

    /// Postfix refuses reply payloads longer than this.
    public static let maxPayload = 100_000

    /// Writes the reply; a value Postfix would refuse as too long becomes a PERM that says so.
    public func encode(into buffer: inout ByteBuffer) {
        let (status, text): (StaticString, String) = switch self {
        case let .ok(value): ("OK ", value)
        case .notFound: ("NOTFOUND ", "")
        case let .temp(why): ("TEMP ", why)
        case let .timeout(why): ("TIMEOUT ", why)
        case let .perm(why): ("PERM ", why)
        }
        let length = status.utf8CodeUnitCount + text.utf8.count
        guard length <= Self.maxPayload else {
            SocketmapReply.perm("the value is longer than Postfix accepts (\(Self.maxPayload) bytes)").encode(into: &buffer)
            return
        }
        buffer.writeString(String(length))
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeStaticString(status)
        buffer.writeString(text)
        buffer.writeInteger(UInt8(ascii: ","))
    }

    public var encoded: [UInt8] {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    public enum DecodeError: Error, Equatable, Sendable {
        case framing(Netstring.DecodeError)
        case unknownStatus(String)
    }

    /// Decodes a reply, as Postfix's client does (for tests and the benchmark).
    public static func decode(_ buffer: inout ByteBuffer) throws(DecodeError) -> SocketmapReply? {
        let payload: ByteBuffer?
        do { payload = try Netstring.decode(&buffer, limit: maxPayload) } catch { throw .framing(error) }
        guard let payload else { return nil }
        let text = String(decoding: payload.readableBytesView, as: UTF8.self)
        let (status, rest) = text.firstIndex(of: " ").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
        switch status {
        case "OK": return .ok(rest)
        case "NOTFOUND": return .notFound
        case "TEMP": return .temp(rest)
        case "TIMEOUT": return .timeout(rest)
        case "PERM": return .perm(rest)
        default: throw .unknownStatus(String(status.prefix(32)))
        }
    }
}
