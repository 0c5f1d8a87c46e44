import NIOCore

/// D. J. Bernstein's netstrings, as Postfix's socketmap speaks them both ways: the payload's
/// length in decimal, a colon, the payload, a comma (`12:hello world!,`).
public enum Netstring {
    public enum DecodeError: Error, Equatable, Sendable {
        /// The length is not decimal digits followed by a colon (the stream cannot be resynchronised).
        case badLength
        /// The announced payload is longer than `limit`.
        case tooLarge(limit: Int)
        /// The payload is not followed by a comma.
        case missingComma
    }

    /// Decodes one netstring from the front of `buffer`: its payload, or nil while bytes are missing.
    /// A length that is too large is refused as soon as its digits are read, before any payload arrives.
    public static func decode(_ buffer: inout ByteBuffer, limit: Int) throws(DecodeError) -> ByteBuffer? {
        let maxDigits = String(limit).utf8.count
        var length = 0
        var digits = 0
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while true {
            guard index < end else {
                guard digits <= maxDigits else { throw .tooLarge(limit: limit) }
                return nil
            }
            let byte = buffer.getInteger(at: index, as: UInt8.self)!
            index += 1
            if byte == UInt8(ascii: ":") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .badLength }
            digits += 1
            guard digits <= maxDigits else { throw .tooLarge(limit: limit) }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard digits > 0 else { throw .badLength }
        guard length <= limit else { throw .tooLarge(limit: limit) }
        guard end - index >= length + 1 else { return nil }
        guard buffer.getInteger(at: index + length, as: UInt8.self) == UInt8(ascii: ",") else { throw .missingComma }
        let payload = buffer.getSlice(at: index, length: length)!
        buffer.moveReaderIndex(to: index + length + 1)
        return payload
    }

    /// Writes `payload` as a netstring.
    public static func encode(_ payload: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        buffer.writeString(String(payload.count))
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeBytes(payload)
        buffer.writeInteger(UInt8(ascii: ","))
    }
}
