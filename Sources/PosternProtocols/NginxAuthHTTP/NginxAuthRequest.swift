/// nginx mail proxy's auth_http request: one GET per login attempt, everything in headers.
public struct NginxAuthRequest: Equatable, Sendable {
    public var user: String
    public var password: [UInt8]
    /// `imap`, `pop3` or `smtp`: the service the scopes are checked against.
    public var proto: String
    public var attempt: Int
    public var clientIP: String?

    public init(user: String, password: [UInt8], proto: String, attempt: Int, clientIP: String?) {
        self.user = user
        self.password = password
        self.proto = proto
        self.attempt = attempt
        self.clientIP = clientIP
    }

    public enum DecodeError: Error, Equatable, Sendable {
        case missingHeader(String)
        case badEscape(String)
        case unsupportedMethod(String)
        case unsupportedProtocol(String)
    }

    /// Decodes the request from a header lookup (names case-insensitive, as HTTP has them).
    public static func decode(header: (String) -> String?) throws(DecodeError) -> NginxAuthRequest {
        func required(_ name: String) throws(DecodeError) -> String {
            guard let value = header(name) else { throw .missingHeader(name) }
            return value
        }
        let methodName = try required("Auth-Method").lowercased()
        // apop, cram-md5 and external need what a stored digest cannot give: only plain (also used for LOGIN).
        guard methodName == "plain" else { throw .unsupportedMethod(String(methodName.prefix(32))) }
        let proto = try required("Auth-Protocol").lowercased()
        guard ["imap", "pop3", "smtp"].contains(proto) else { throw .unsupportedProtocol(String(proto.prefix(32))) }
        guard let user = String(validating: try percentDecode(required("Auth-User"), field: "Auth-User"), as: UTF8.self) else {
            throw .badEscape("Auth-User")
        }
        let password = try percentDecode(header("Auth-Pass") ?? "", field: "Auth-Pass")
        return NginxAuthRequest(user: user, password: password, proto: proto,
                                attempt: Int(header("Auth-Login-Attempt") ?? "1") ?? 1,
                                clientIP: header("Client-IP").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// nginx escapes only `%`, space and control bytes as `%XX`; UTF-8 arrives raw and `+` is a plus.
    static func percentDecode(_ text: String, field: String) throws(DecodeError) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let hi = hex(bytes[bytes.startIndex]), let lo = hex(bytes[bytes.startIndex + 1]) else {
                throw .badEscape(field)
            }
            out.append(hi << 4 | lo)
            bytes = bytes.dropFirst(2)
        }
        return out
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x57
        case 0x41...0x46: c - 0x37
        default: nil
        }
    }
}

/// The answer to nginx: headers only (the HTTP status is ignored by nginx).
public enum NginxAuthResponse: Equatable, Sendable {
    /// Log in; nginx proxies to this back end (an IP literal and a port).
    case ok(server: String, port: Int)
    /// Refused; with `wait`, nginx lets the client try again after that many seconds, else it closes.
    case fail(status: String, wait: Int?)
    /// Temporary trouble: SMTP clients get 451 4.3.0.
    case tempFail(status: String, wait: Int?)

    public var headers: [(String, String)] {
        switch self {
        case let .ok(server, port):
            [("Auth-Status", "OK"), ("Auth-Server", server), ("Auth-Port", String(port))]
        case let .fail(status, wait):
            [("Auth-Status", status)] + (wait.map { [("Auth-Wait", String($0))] } ?? [])
        case let .tempFail(status, wait):
            [("Auth-Status", status), ("Auth-Error-Code", "451 4.3.0")] + (wait.map { [("Auth-Wait", String($0))] } ?? [])
        }
    }
}
