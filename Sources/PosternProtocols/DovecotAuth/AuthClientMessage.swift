/// A line a client (Postfix, doveadm, Dovecot's Lua passdb) sends to Postern's auth socket.
public enum AuthClientMessage: Equatable, Sendable {
    case version(major: Int, minor: Int)
    case cpid(String)
    case auth(AuthRequest)
    case cont(id: UInt32, response: [UInt8])
    case cancel(id: UInt32)
    /// A well-formed command this server does not know; ignored, for newer clients.
    case unknown(command: String)
}

/// An `AUTH` request: the mechanism, the service and the connection facts a client passes along.
public struct AuthRequest: Equatable, Sendable {
    public var id: UInt32
    /// Mechanism name, uppercased (`plain` arrives from some clients).
    public var mechanism: String
    public var service: String
    public var localIP: String?
    public var remoteIP: String?
    public var secured: Bool
    /// The base64 initial response, `resp=`; `[]` for `resp=` or `resp==` (an empty response).
    public var initialResponse: [UInt8]?

    public init(id: UInt32, mechanism: String, service: String, localIP: String? = nil, remoteIP: String? = nil,
                secured: Bool = false, initialResponse: [UInt8]? = nil) {
        self.id = id
        self.mechanism = mechanism
        self.service = service
        self.localIP = localIP
        self.remoteIP = remoteIP
        self.secured = secured
        self.initialResponse = initialResponse
    }
}

/// Why a client line was refused; the connection is closed, as Dovecot does.
public enum AuthProtocolError: Error, Equatable, Sendable {
    case emptyLine
    case malformed(String)
    case badID(String)
    case missingService(id: UInt32)
    case unsupportedVersion(Int)
    case lineTooLong(limit: Int)
}

extension AuthClientMessage {
    /// Decodes one line (without its LF).
    public static func decode(_ line: ArraySlice<UInt8>) throws(AuthProtocolError) -> AuthClientMessage {
        var fields = line.split(separator: 0x09, omittingEmptySubsequences: false)
        guard let command = fields.first, !command.isEmpty else { throw .emptyLine }
        fields.removeFirst()
        switch String(decoding: command, as: UTF8.self) {
        case "AUTH":
            return .auth(try decodeAuth(fields))
        case "CONT":
            guard fields.count >= 1 else { throw .malformed("CONT without an id") }
            let id = try parseID(fields[0])
            return .cont(id: id, response: fields.count >= 2 ? Array(fields[1]) : [])
        case "CANCEL":
            guard fields.count >= 1 else { throw .malformed("CANCEL without an id") }
            return .cancel(id: try parseID(fields[0]))
        case "VERSION":
            guard fields.count >= 2, let major = Int(ascii: fields[0]), let minor = Int(ascii: fields[1]) else {
                throw .malformed("VERSION needs a major and a minor number")
            }
            return .version(major: major, minor: minor)
        case "CPID":
            guard fields.count >= 1, let pid = UInt64(ascii: fields[0]), pid > 0 else {
                throw .malformed("CPID needs a positive process id")
            }
            return .cpid(String(pid))
        case let other:
            // A newer client's command (uppercase letters, digits, "-") is ignored; anything else is garbage.
            guard command.count <= 32, command.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
                throw .malformed("not a command")
            }
            return .unknown(command: other)
        }
    }

    static func parseID(_ field: ArraySlice<UInt8>) throws(AuthProtocolError) -> UInt32 {
        guard let id = UInt32(ascii: field), id > 0 else {
            throw .badID(String(decoding: field.prefix(16), as: UTF8.self))
        }
        return id
    }

    private static func decodeAuth(_ fields: [ArraySlice<UInt8>]) throws(AuthProtocolError) -> AuthRequest {
        guard fields.count >= 2 else { throw .malformed("AUTH needs an id and a mechanism") }
        let id = try parseID(fields[0])
        guard !fields[1].isEmpty else { throw .malformed("AUTH with an empty mechanism") }
        var request = AuthRequest(id: id, mechanism: String(decoding: fields[1], as: UTF8.self).uppercased(), service: "")
        var sawService = false
        for field in fields.dropFirst(2) {
            guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else {
                if field.elementsEqual("secured".utf8) { request.secured = true }
                continue  // other flags (nologin, debug, no-penalty, …) change nothing here
            }
            let key = field[field.startIndex..<eq]
            let value = field[(eq + 1)...]
            if key.elementsEqual("resp".utf8) {
                // resp= must be the last field; a lone "=" is an empty response.
                request.initialResponse = value.elementsEqual("=".utf8) ? [] : Array(value)
                break
            } else if key.elementsEqual("service".utf8) {
                request.service = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
                sawService = true
            } else if key.elementsEqual("rip".utf8) {
                request.remoteIP = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
            } else if key.elementsEqual("lip".utf8) {
                request.localIP = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
            } else if key.elementsEqual("secured".utf8) {
                request.secured = true
            }
        }
        guard sawService, !request.service.isEmpty else { throw .missingService(id: id) }
        return request
    }
}

extension FixedWidthInteger {
    /// Parses a plain decimal number (no sign, no spaces), as the protocol writes numbers.
    init?(ascii digits: ArraySlice<UInt8>) {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: Self = 0
        for byte in digits {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Self(byte - 0x30))
            guard !o1, !o2 else { return nil }
            value = s
        }
        self = value
    }
}
