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
        var fields = Fields(line)
        guard let command = fields.next(), !command.isEmpty else { throw .emptyLine }
        if command.equals("AUTH") {
            return .auth(try decodeAuth(&fields))
        } else if command.equals("CONT") {
            guard let idField = fields.next() else { throw .malformed("CONT without an id") }
            let id = try parseID(idField)
            return .cont(id: id, response: fields.next().map { Array($0) } ?? [])
        } else if command.equals("CANCEL") {
            guard let idField = fields.next() else { throw .malformed("CANCEL without an id") }
            return .cancel(id: try parseID(idField))
        } else if command.equals("VERSION") {
            guard let a = fields.next(), let b = fields.next(), let major = Int(ascii: a), let minor = Int(ascii: b) else {
                throw .malformed("VERSION needs a major and a minor number")
            }
            return .version(major: major, minor: minor)
        } else if command.equals("CPID") {
            guard let field = fields.next(), let pid = UInt64(ascii: field), pid > 0 else {
                throw .malformed("CPID needs a positive process id")
            }
            return .cpid(String(pid))
        }
        // A newer client's command (uppercase letters, digits, "-") is ignored; anything else is garbage.
        guard command.count <= 32, command.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw .malformed("not a command")
        }
        return .unknown(command: String(decoding: command, as: UTF8.self))
    }

    /// The TAB-separated fields of a line, in order, without collecting them in an array.
    struct Fields {
        let line: ArraySlice<UInt8>
        var position: Int
        var done = false

        init(_ line: ArraySlice<UInt8>) {
            self.line = line
            position = line.startIndex
        }

        mutating func next() -> ArraySlice<UInt8>? {
            guard !done else { return nil }
            let end = line[position...].firstIndex(of: 0x09) ?? line.endIndex
            let field = line[position..<end]
            if end == line.endIndex { done = true } else { position = end + 1 }
            return field
        }
    }

    static func parseID(_ field: ArraySlice<UInt8>) throws(AuthProtocolError) -> UInt32 {
        guard let id = UInt32(ascii: field), id > 0 else {
            throw .badID(String(decoding: field.prefix(16), as: UTF8.self))
        }
        return id
    }

    private static func decodeAuth(_ fields: inout Fields) throws(AuthProtocolError) -> AuthRequest {
        guard let idField = fields.next(), let mechanism = fields.next() else { throw .malformed("AUTH needs an id and a mechanism") }
        let id = try parseID(idField)
        guard !mechanism.isEmpty else { throw .malformed("AUTH with an empty mechanism") }
        var request = AuthRequest(id: id, mechanism: uppercased(mechanism), service: "")
        var sawService = false
        while let field = fields.next() {
            guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else {
                if field.equals("secured") { request.secured = true }
                continue  // other flags (nologin, debug, no-penalty, …) change nothing here
            }
            let key = field[field.startIndex..<eq]
            let value = field[(eq + 1)...]
            if key.equals("resp") {
                // resp= must be the last field; a lone "=" is an empty response.
                request.initialResponse = value.equals("=") ? [] : Array(value)
                break
            } else if key.equals("service") {
                request.service = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
                sawService = true
            } else if key.equals("rip") {
                request.remoteIP = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
            } else if key.equals("lip") {
                request.localIP = String(decoding: TabEscaping.unescape(value), as: UTF8.self)
            } else if key.equals("secured") {
                request.secured = true
            }
        }
        guard sawService, !request.service.isEmpty else { throw .missingService(id: id) }
        return request
    }

    /// ASCII uppercase (mechanism names), without going through Unicode case mapping.
    private static func uppercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { out in
            for (i, b) in bytes.enumerated() { out[i] = b >= 0x61 && b <= 0x7A ? b - 0x20 : b }
            return bytes.count
        }
    }
}

extension ArraySlice<UInt8> {
    /// Byte-wise equality with an ASCII literal.
    @inline(__always)
    func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        var i = 0
        for b in self {
            guard b == p[i] else { return false }
            i += 1
        }
        return true
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
