import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import PosternAuth
import PosternCore

/// The web manager: pages rendered on the server from `web/templates`, working without
/// JavaScript. Signed in with the account password (a session in an HttpOnly, SameSite=Strict
/// cookie); every form that changes something carries the session's CSRF token.
public enum WebManager {
    static let cookie = "postern_session"

    public static func router(_ plane: ControlPlane, settings: WebSettings, signIns: Throttle) async throws -> Router<WebContext> {
        let pages = try await MustacheLibrary(directory: settings.directory + "/templates")
        let assets = try Dictionary(uniqueKeysWithValues: [("style.css", "text/css"), ("copy.js", "text/javascript")].map { name, type in
            (name, (type, try Data(contentsOf: URL(fileURLWithPath: settings.directory + "/static/" + name))))
        })
        let router = Router(context: WebContext.self)
        router.add(middleware: SecurityHeaders())
        router.add(middleware: WebSession(plane: plane, settings: settings))
        let web = Pages(plane: plane, library: pages, settings: settings, signIns: signIns)

        router.get("/static/:name") { _, context in
            guard let (type, data) = assets[try context.parameters.require("name")] else { throw HTTPError(.notFound) }
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/.well-known/autoconfig/mail/config-v1.1.xml") { request, context in try await web.autoconfig(request, context) }
        router.get("/mail/config-v1.1.xml") { request, context in try await web.autoconfig(request, context) }
        router.get("/signin") { _, context in web.page("signin", ["title": "Sign in"], context) }
        router.post("/signin") { request, context in try await web.signIn(request, context) }
        router.post("/signout") { request, context in try await web.signOut(request, context) }
        router.get("/") { _, context in try await web.home(context) }
        router.get("/mailboxes/:address/devices") { request, context in try await web.devices(request, context) }
        router.post("/mailboxes/:address/devices") { request, context in try await web.addDevice(request, context) }
        router.post("/mailboxes/:address/devices/:id/rotate") { request, context in try await web.rotate(request, context) }
        router.post("/mailboxes/:address/devices/:id/disconnect") { request, context in try await web.disconnect(request, context) }
        router.get("/organizations/:organization/members") { _, context in try await web.members(context) }
        router.post("/organizations/:organization/members/:login/role") { request, context in try await web.changeRole(request, context) }
        router.get("/organizations/:organization/members/:login/remove") { _, context in try await web.confirmRemoval(context) }
        router.post("/organizations/:organization/members/:login/remove") { request, context in try await web.removeMember(request, context) }
        router.get("/mailboxes/:address/history") { request, context in try await web.history(request, context) }
        router.get("/mailboxes/:address/disconnect-all") { _, context in try await web.confirmDisconnectAll(context) }
        router.post("/mailboxes/:address/disconnect-all") { request, context in try await web.disconnectAll(request, context) }
        return router
    }
}

/// Headers on every answer: no inline script, no framing, no caching (pages may show a password).
struct SecurityHeaders: RouterMiddleware {
    typealias Context = WebContext
    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Reads the session cookie: a valid, not idle session puts its user on the context.
struct WebSession: RouterMiddleware {
    typealias Context = WebContext
    let plane: ControlPlane
    let settings: WebSettings

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var context = context
        if let secret = request.cookies[WebManager.cookie]?.value, secret.hasPrefix("ps_") {
            let (plane, idle, ip) = (plane, settings.idle, Pages.clientIP(request, context, settings))
            if let actor = try? await ControlAPI.blocking({ try plane.actor(bearer: secret, ip: ip, idle: idle) }) {
                context.actor = actor
                context.session = secret
                context.csrf = CSRF.token(session: secret, key: plane.key.key)
            }
        }
        return try await next(request, context)
    }
}
