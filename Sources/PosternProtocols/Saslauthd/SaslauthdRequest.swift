import NIOCore

/// One saslauthd request: four counted strings (2-byte big-endian length, then the bytes) —
/// login, password, service, realm. One request per connection; the answer is one counted
/// string, `OK` or `NO`, then the server closes.
public struct SaslauthdRequest: Equatable, Sendable {
    public var login: String
    public var password: [UInt8]
    public var service: String
    public var realm: String

    /// The largest request saslauthd itself accepts.
    public static let maxSize = 8192

    public init(login: String, password: [UInt8], service: String, realm: String) {
        self.login = login
        self.password = password
        self.service = service
        self.realm = realm
    }

    public enum DecodeError: Error, Equatable, Sendable {
        case tooLarge(limit: Int)
        case notUTF8(field: String)
    }

    /// The mailbox address to check. libsasl2 (Postfix) splits `alice@example.org` into login
    /// `alice` and realm `example.org`; testsaslauthd sends the whole address as the login.
    public var address: String {
        if login.contains("@") || realm.isEmpty { return login }
        return login + "@" + realm
    }

    /// Decodes a request from the front of `buffer`; nil while bytes are missing.
    public static func decode(_ buffer: inout ByteBuffer) throws(DecodeError) -> SaslauthdRequest? {
        var view = buffer
        var fields: [[UInt8]] = []
        for _ in 0..<4 {
            guard let length = view.readInteger(as: UInt16.self) else { return try incomplete(buffer) }
            guard let bytes = view.readBytes(length: Int(length)) else { return try incomplete(buffer) }
            fields.append(bytes)
        }
        guard view.readerIndex - buffer.readerIndex <= maxSize else { throw .tooLarge(limit: maxSize) }
        func text(_ i: Int, _ name: String) throws(DecodeError) -> String {
            guard let s = String(validating: fields[i], as: UTF8.self) else { throw .notUTF8(field: name) }
            return s
        }
        let request = SaslauthdRequest(login: try text(0, "login"), password: fields[1], service: try text(2, "service"),
                                       realm: try text(3, "realm"))
        buffer.moveReaderIndex(to: view.readerIndex)
        return request
    }

    private static func incomplete(_ buffer: ByteBuffer) throws(DecodeError) -> SaslauthdRequest? {
        guard buffer.readableBytes < maxSize else { throw .tooLarge(limit: maxSize) }
        return nil
    }

    /// The request's wire bytes (for clients, tests and the benchmark).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for field in [Array(login.utf8), password, Array(service.utf8), Array(realm.utf8)] {
            out.append(UInt8(field.count >> 8))
            out.append(UInt8(field.count & 0xFF))
            out.append(contentsOf: field)
        }
        return out
    }
}

/// saslauthd's answer: anything starting with `OK` is success.
public enum SaslauthdReply: Equatable, Sendable {
    case ok
    case no

    public var encoded: [UInt8] {
        switch self {
        case .ok: [0, 2, UInt8(ascii: "O"), UInt8(ascii: "K")]
        case .no: [0, 2, UInt8(ascii: "N"), UInt8(ascii: "O")]
        }
    }
}
