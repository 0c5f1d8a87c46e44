/// The client side of SMTP as the notifier speaks it (RFC 5321): replies read line by line, and
/// the message made safe for DATA. Pure: the socket is the caller's.
public enum SMTPClientCodec {
    /// One reply: its code and text lines; `final` once the line without a hyphen arrived.
    public struct Reply: Sendable, Equatable {
        public var code: Int
        public var lines: [String]
        public var isPositive: Bool { (200..<400).contains(code) }
    }

    public enum DecodeError: Error, Equatable {
        case malformed(String)
        case mixedCodes
    }

    /// Adds one reply line (without CRLF); returns the reply once it is complete.
    public static func decode(_ line: String, into partial: inout [String]) throws(DecodeError) -> Reply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") else {
            throw .malformed(String(line.prefix(80)))
        }
        if let first = partial.first, first.prefix(3) != line.prefix(3) { throw .mixedCodes }
        partial.append(line)
        guard bytes.count == 3 || bytes[3] == UInt8(ascii: " ") else { return nil }
        defer { partial = [] }
        return Reply(code: Int(line.prefix(3))!, lines: partial.map { String($0.dropFirst(4)) })
    }

    /// The message as DATA sends it: CRLF line ends, a leading "." doubled, then "." alone.
    public static func data(_ message: String) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(message.utf8)  // bytes, not Characters: "\r\n" is one Character
        if bytes.last == 10 { bytes.removeLast() }
        for var line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            if line.last == 13 { line.removeLast() }
            if line.first == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(contentsOf: line)
            out.append(contentsOf: [13, 10])
        }
        out.append(contentsOf: Array(".\r\n".utf8))
        return out
    }

    /// A command line; refuses CR and LF inside (no command can be smuggled in an address).
    public static func command(_ verb: String, _ argument: String? = nil) -> [UInt8]? {
        let text = argument.map { "\(verb) \($0)" } ?? verb
        guard !text.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { return nil }
        return Array((text + "\r\n").utf8)
    }
}
