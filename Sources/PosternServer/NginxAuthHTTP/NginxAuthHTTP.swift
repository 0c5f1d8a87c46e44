import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PosternAuth
import PosternProtocols

/// Where nginx's mail proxy sends each protocol once a login is accepted.
public struct MailBackends: Sendable {
    public var imap: (host: String, port: Int)?
    public var pop3: (host: String, port: Int)?
    public var smtp: (host: String, port: Int)?

    public init(imap: (host: String, port: Int)? = nil, pop3: (host: String, port: Int)? = nil, smtp: (host: String, port: Int)? = nil) {
        self.imap = imap
        self.pop3 = pop3
        self.smtp = smtp
    }

    func backend(for proto: String) -> (host: String, port: Int)? {
        switch proto {
        case "imap": imap
        case "pop3": pop3
        case "smtp": smtp
        default: nil
        }
    }
}

/// nginx mail auth_http: `mail { auth_http 127.0.0.1:PORT/auth; }`. Every path answers.
public enum NginxAuthHTTP {
    /// nginx sends no body with its auth requests: a few KiB is already more than any needs.
    static let maxBodyBytes = 16 << 10
    public static func router(check: PasswordCheck, backends: MailBackends, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("**") { request, _ -> Response in
            let answer = await respond(to: request, check: check, backends: backends, logger: logger)
            var headers = HTTPFields()
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(status: .ok, headers: headers)
        }
        return router
    }

    static func respond(to request: Request, check: PasswordCheck, backends: MailBackends, logger: Logger) async -> NginxAuthResponse {
        let auth: NginxAuthRequest
        do {
            auth = try NginxAuthRequest.decode { name in request.headers[HTTPField.Name(name)!] }
        } catch NginxAuthRequest.DecodeError.unsupportedMethod {
            // apop and cram-md5 need the clear password on the server: disable them in nginx.
            return .fail(status: "Unsupported authentication method", wait: nil)
        } catch {
            LogLimiter.shared.log(logger, .notice, kind: "bad auth_http request", "bad auth_http request: \(error)")
            return .fail(status: "Invalid login or password", wait: nil)
        }
        guard let backend = backends.backend(for: auth.proto) else {
            logger.error("auth_http: no back end configured for \(auth.proto) (authHTTP.\(auth.proto)Backend)")
            return .tempFail(status: "Temporary failure", wait: nil)
        }
        let (result, wait) = await check.checkReportingWait(
            CheckRequest(login: auth.user, password: auth.password, service: auth.proto, remoteIP: auth.clientIP, mechanism: "PLAIN"))
        let seconds = wait.map { max(1, Int(($0.components.seconds)) + ($0.components.attoseconds > 0 ? 1 : 0)) }
        switch result {
        case .ok:
            // Auth-Wait is only for failures: a delayed success is held here (at most maxDelay).
            if let wait { try? await Task.sleep(for: wait) }
            return .ok(server: backend.host, port: backend.port)
        case .fail:
            return .fail(status: "Invalid login or password", wait: seconds)
        case .tempFail:
            return .tempFail(status: "Temporary failure, try again later", wait: seconds)
        }
    }
}
