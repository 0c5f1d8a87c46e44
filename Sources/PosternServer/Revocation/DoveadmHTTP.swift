import Foundation
import PosternCore

/// Dovecot's doveadm HTTP API (PROTOCOLS.md §3), as posternd calls it to flush the auth cache and
/// kick sessions without root: `POST /doveadm/v1` with `Authorization: X-Dovecot-API <base64 key>`,
/// one command per request (2.3.19 answers invalid JSON for several). The key is never logged.
public struct DoveadmHTTP: Sendable, Equatable {
    /// `http://127.0.0.1:PORT/doveadm/v1`.
    public var url: String
    public var apiKey: String

    public init(url: String, apiKey: String) {
        self.url = url
        self.apiKey = apiKey
    }

    public var authorization: String { "X-Dovecot-API " + Data(apiKey.utf8).base64EncodedString() }

    /// The request body of an action: `[["kick",{"mask":["alice@example.org","192.0.2.7/32"]},"tag"]]`.
    public static func body(_ action: RevocationAction, tag: String) -> [UInt8] {
        let command: [Any] = switch action {
        case let .flushCache(user): ["authCacheFlush", ["user": [user]], tag]
        case let .kick(user, ip): ["kick", ["mask": [user] + (ip.map { [RevocationAction.network($0)] } ?? [])], tag]
        }
        // Only strings and arrays of them: serialization cannot fail.
        return Array(try! JSONSerialization.data(withJSONObject: [command], options: [.sortedKeys]))
    }

    /// What an answer means.
    public enum Answer: Sendable, Equatable, CustomStringConvertible {
        /// Done: `[["doveadmResponse",[…],"tag"]]`, or exit code 68 (no session matched).
        case done(String)
        case failed(String)

        public var description: String {
            switch self {
            case let .done(what), let .failed(what): what
            }
        }
    }

    public static func decode(status: Int, body: [UInt8], tag: String) -> Answer {
        guard status == 200 else {
            return .failed(status == 401 ? "HTTP 401: doveadm refused the API key (doveadm_api_key)" : "HTTP \(status)")
        }
        guard let outer = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any], outer.count == 1,
              let reply = outer[0] as? [Any], reply.count == 3, let kind = reply[0] as? String,
              reply[2] as? String == tag else {
            return .failed("not a doveadm answer: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        switch kind {
        case "doveadmResponse":
            let result = (reply[1] as? [[String: Any]])?.first
            if let entries = result?["entries"] as? String { return .done("\(entries) cache entries flushed") }
            return .done("done")
        case "error":
            let error = reply[1] as? [String: Any]
            if let code = error?["exitCode"] as? Int {
                return code == 68 ? .done("no session matched") : .failed("exit code \(code)")
            }
            return .failed("error \(error?["type"] as? String ?? "?")")
        default:
            return .failed("unexpected answer \(kind)")
        }
    }
}
