import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import PosternAuth
import PosternControl
import PosternCore

/// The web manager: pages rendered on the server from `web/templates`, working without
/// JavaScript. Signed in with the account password (a session in an HttpOnly, SameSite=Strict
/// cookie); every form that changes something carries the session's CSRF token.
public enum WebManager {
    static let cookie = "postern_session"
    /// Set with the sign-in form, for its CSRF token (there is no session yet).
    static let signInCookie = "postern_signin"

    public static func router(_ plane: Planes, settings: WebSettings, signIns: any Lockout) async throws -> Router<WebContext> {
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
        for group in pageGroups { router.addRoutes(collection(group.routes, web)) }
        return router
    }

    /// One plane's pages as a route collection.
    static func collection(_ routes: [WebRoute], _ web: Pages) -> RouteCollection<WebContext> {
        let collection = RouteCollection(context: WebContext.self)
        for route in routes {
            collection.on(RouterPath(route.path), method: route.method) { request, context in try await route.handle(web, request, context) }
        }
        return collection
    }
}

/// One page or form of the web manager. The table is what the rights test walks: a route
/// added here without a row there fails it.
struct WebRoute: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let handle: @Sendable (Pages, Request, WebContext) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String, _ handle: @escaping @Sendable (Pages, Request, WebContext) async throws -> Response) {
        (self.method, self.path, self.handle) = (method, path, handle)
    }
}

extension WebManager {
    /// The pages, one group per plane (each becomes a route collection). The rights test walks
    /// `routes`: a page added to a group without a row there fails it.
    static let pageGroups: [(plane: String, routes: [WebRoute])] = [
        ("sign-in", sessionPages), ("devices", devicePages), ("routing", routingPages), ("mail settings", mailSettingsPages), ("people", peoplePages),
    ]

    static var routes: [WebRoute] { pageGroups.flatMap(\.routes) }

    /// Signing in and out, the home page, and mail clients' autoconfig.
    static let sessionPages: [WebRoute] = [
        WebRoute(.get, "/.well-known/autoconfig/mail/config-v1.1.xml") { web, request, context in try await web.autoconfig(request, context) },
        WebRoute(.get, "/mail/config-v1.1.xml") { web, request, context in try await web.autoconfig(request, context) },
        WebRoute(.get, "/signin") { web, request, context in web.signInPage(request, context) },
        WebRoute(.post, "/signin") { web, request, context in try await web.signIn(request, context) },
        WebRoute(.post, "/signout") { web, request, context in try await web.signOut(request, context) },
        WebRoute(.get, "/") { web, request, context in try await web.home(context, query: request.queryValues) },
    ]
    /// The devices plane: a mailbox's devices and its history.
    static let devicePages: [WebRoute] = [
        WebRoute(.get, "/mailboxes/:address/devices") { web, request, context in try await web.devices(request, context) },
        WebRoute(.post, "/mailboxes/:address/devices") { web, request, context in try await web.addDevice(request, context) },
        WebRoute(.post, "/mailboxes/:address/devices/:id/rotate") { web, request, context in try await web.rotate(request, context) },
        WebRoute(.post, "/mailboxes/:address/devices/:id/disconnect") { web, request, context in try await web.disconnect(request, context) },
        WebRoute(.get, "/mailboxes/:address/disconnect-all") { web, _, context in try await web.confirmDisconnectAll(context) },
        WebRoute(.post, "/mailboxes/:address/disconnect-all") { web, request, context in try await web.disconnectAll(request, context) },
        WebRoute(.get, "/mailboxes/:address/history") { web, request, context in try await web.history(request, context) },
    ]
    /// The routing plane: aliases and redirection.
    static let routingPages: [WebRoute] = [
        WebRoute(.get, "/mailboxes/:address/aliases") { web, request, context in try await web.aliases(context, query: request.queryValues) },
        WebRoute(.post, "/mailboxes/:address/aliases") { web, request, context in try await web.addAlias(request, context) },
        WebRoute(.post, "/mailboxes/:address/aliases/remove") { web, request, context in try await web.removeAlias(request, context) },
        WebRoute(.get, "/mailboxes/:address/redirection") { web, _, context in try await web.redirection(context) },
        WebRoute(.post, "/mailboxes/:address/redirection") { web, request, context in try await web.setRedirection(request, context) },
        WebRoute(.post, "/mailboxes/:address/redirection/clear") { web, request, context in try await web.clearRedirection(request, context) },
    ]
    /// The mail-settings plane: rules, spam filter, responder, senders, folders, signature.
    static let mailSettingsPages: [WebRoute] = [
        WebRoute(.get, "/mailboxes/:address/rules") { web, _, context in try await web.rulesPage(context) },
        WebRoute(.post, "/mailboxes/:address/rules") { web, request, context in try await web.changeRules(request, context) },
        WebRoute(.get, "/mailboxes/:address/spam") { web, _, context in try await web.spamPage(context) },
        WebRoute(.post, "/mailboxes/:address/spam") { web, request, context in try await web.saveSpam(request, context) },
        WebRoute(.get, "/mailboxes/:address/responder") { web, _, context in try await web.responderPage(context) },
        WebRoute(.post, "/mailboxes/:address/responder") { web, request, context in try await web.saveResponder(request, context) },
        WebRoute(.get, "/mailboxes/:address/senders") { web, _, context in try await web.sendersPage(context) },
        WebRoute(.post, "/mailboxes/:address/senders") { web, request, context in try await web.saveSenders(request, context) },
        WebRoute(.get, "/mailboxes/:address/folders") { web, _, context in try await web.foldersPage(context) },
        WebRoute(.post, "/mailboxes/:address/folders") { web, request, context in try await web.changeFolders(request, context) },
        WebRoute(.get, "/mailboxes/:address/signature") { web, _, context in try await web.signaturePage(context) },
        WebRoute(.post, "/mailboxes/:address/signature") { web, request, context in try await web.saveSignature(request, context) },
    ]
    /// The people plane: mailbox permissions, a service's defaults, members and roles.
    static let peoplePages: [WebRoute] = [
        WebRoute(.get, "/mailboxes/:address/access") { web, request, context in try await web.access(context, query: request.queryValues) },
        WebRoute(.post, "/mailboxes/:address/access") { web, request, context in try await web.changeAccess(request, context) },
        WebRoute(.post, "/mailboxes/:address/access/defaults") { web, request, context in try await web.applyDefaultsToMailbox(request, context) },
        WebRoute(.get, "/services/:service/defaults") { web, request, context in try await web.defaults(context, query: request.queryValues) },
        WebRoute(.post, "/services/:service/defaults") { web, request, context in try await web.changeDefaults(request, context) },
        WebRoute(.get, "/organizations/:organization/members") { web, request, context in try await web.members(context, query: request.queryValues) },
        WebRoute(.post, "/organizations/:organization/members/:login/role") { web, request, context in try await web.changeRole(request, context) },
        WebRoute(.get, "/organizations/:organization/members/:login/remove") { web, _, context in try await web.confirmRemoval(context) },
        WebRoute(.post, "/organizations/:organization/members/:login/remove") { web, request, context in try await web.removeMember(request, context) },
    ]
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
    let plane: Planes
    let settings: WebSettings

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var context = context
        if let secret = request.cookies[WebManager.cookie]?.value, secret.hasPrefix("ps_") {
            let (plane, idle, ip) = (plane, settings.idle, Pages.clientIP(request, context, settings))
            if let actor = try? await plane.people.actor(bearer: secret, ip: ip, idle: idle) {
                context.actor = actor
                context.session = secret
                context.csrf = CSRF.token(session: secret, key: plane.serverKey.key)
            }
        }
        return try await next(request, context)
    }
}
