/// The client side of the Dovecot auth protocol, for `postern auth test`, tests and benchmarks.
public enum AuthClientCodec {
    /// A line from the server, as a client sees it.
    public enum ServerLine: Equatable, Sendable {
        case version(major: Int, minor: Int)
        case mechanism(String)
        case done
        case ok(id: UInt32, fields: [String: String])
        case fail(id: UInt32, fields: [String: String])
        case cont(id: UInt32, challenge: [UInt8])
        /// SPID, CUID, COOKIE and anything newer: nothing a simple client needs.
        case other(String)
    }

    /// What a client says first: `VERSION 1 2` and its process id.
    public static func hello(pid: UInt32) -> [UInt8] {
        Array("VERSION\t1\t2\nCPID\t\(pid)\n".utf8)
    }

    /// A PLAIN request with the initial response, as Postfix sends it (plus `rip=` when known).
    public static func plain(id: UInt32, service: String, login: String, password: [UInt8], remoteIP: String? = nil) -> [UInt8] {
        var out = Array("AUTH\t\(id)\tPLAIN\tservice=".utf8)
        TabEscaping.escape(service.utf8, into: &out)
        out.append(contentsOf: "\tnologin".utf8)
        if let remoteIP {
            out.append(contentsOf: "\trip=".utf8)
            TabEscaping.escape(remoteIP.utf8, into: &out)
        }
        out.append(contentsOf: "\tresp=".utf8)
        var response: [UInt8] = [0]
        response.append(contentsOf: login.utf8)
        response.append(0)
        response.append(contentsOf: password)
        Base64.encode(response, into: &out)
        out.append(0x0A)
        return out
    }

    public static func decode(_ line: ArraySlice<UInt8>) -> ServerLine {
        let fields = line.split(separator: 0x09, omittingEmptySubsequences: false)
        guard let command = fields.first else { return .other("") }
        let name = String(decoding: command, as: UTF8.self)
        func keyValues() -> [String: String] {
            var out: [String: String] = [:]
            for field in fields.dropFirst(2) {
                let unescaped = TabEscaping.unescape(field)
                if let eq = unescaped.firstIndex(of: UInt8(ascii: "=")) {
                    out[String(decoding: unescaped[..<eq], as: UTF8.self)] = String(decoding: unescaped[(eq + 1)...], as: UTF8.self)
                } else {
                    out[String(decoding: unescaped, as: UTF8.self)] = ""
                }
            }
            return out
        }
        let id = fields.count > 1 ? UInt32(ascii: fields[1]) : nil
        switch name {
        case "VERSION" where fields.count >= 3:
            return .version(major: Int(ascii: fields[1]) ?? 0, minor: Int(ascii: fields[2]) ?? 0)
        case "MECH" where fields.count >= 2:
            return .mechanism(String(decoding: fields[1], as: UTF8.self))
        case "DONE":
            return .done
        case "OK" where id != nil:
            return .ok(id: id!, fields: keyValues())
        case "FAIL" where id != nil:
            return .fail(id: id!, fields: keyValues())
        case "CONT" where id != nil:
            return .cont(id: id!, challenge: fields.count > 2 ? Base64.decode(fields[2]) ?? [] : [])
        default:
            return .other(name)
        }
    }
}
