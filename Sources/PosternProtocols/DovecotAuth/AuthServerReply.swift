/// A line Postern writes on the auth socket.
public enum AuthServerReply: Equatable, Sendable {
    /// The greeting, written at accept time without waiting for the client.
    case handshake(mechanisms: [String], serverPID: UInt32, connectionID: UInt32, cookie: String)
    case cont(id: UInt32, challenge: [UInt8])
    case ok(id: UInt32, user: String)
    case fail(id: UInt32, user: String?, code: FailCode?, reason: String?)

    /// `code=` values of a FAIL.
    public enum FailCode: String, Sendable {
        case tempFail = "temp_fail"
        case invalidBase64 = "invalid_base64"
    }

    /// The wire bytes, LF included.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case let .handshake(mechanisms, pid, cuid, cookie):
            out.append(contentsOf: "VERSION\t1\t2\n".utf8)
            for mech in mechanisms {
                out.append(contentsOf: "MECH\t\(mech)\tplaintext\n".utf8)
            }
            out.append(contentsOf: "SPID\t\(pid)\nCUID\t\(cuid)\nCOOKIE\t\(cookie)\nDONE\n".utf8)
        case let .cont(id, challenge):
            out.append(contentsOf: "CONT\t".utf8)
            Self.appendDecimal(id, to: &out)
            out.append(0x09)
            Base64.encode(challenge, into: &out)
            out.append(0x0A)
        case let .ok(id, user):
            out.append(contentsOf: "OK\t".utf8)
            Self.appendDecimal(id, to: &out)
            out.append(contentsOf: "\tuser=".utf8)
            TabEscaping.escape(user.utf8, into: &out)
            out.append(0x0A)
        case let .fail(id, user, code, reason):
            out.append(contentsOf: "FAIL\t".utf8)
            Self.appendDecimal(id, to: &out)
            if let user {
                out.append(contentsOf: "\tuser=".utf8)
                TabEscaping.escape(user.utf8, into: &out)
            }
            if let code { out.append(contentsOf: "\tcode=\(code.rawValue)".utf8) }
            if let reason {
                out.append(contentsOf: "\treason=".utf8)
                TabEscaping.escape(reason.utf8, into: &out)
            }
            out.append(0x0A)
        }
    }

    /// A request id in decimal, without building a String (this runs once per answer).
    @inline(__always)
    static func appendDecimal(_ value: UInt32, to out: inout [UInt8]) {
        var divisor: UInt32 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }
}
