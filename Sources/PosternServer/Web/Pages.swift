import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import PosternAuth
import PosternControl
import PosternCore
import PosternProtocols

/// The pages and what their forms do. Each action goes through the control plane, which asks the
/// rule set: a page only leaves out what the server would refuse anyway.
struct Pages: Sendable {
    let plane: Planes
    let library: MustacheLibrary
    let settings: WebSettings
    let signIns: any Lockout

    // MARK: rendering

    /// A page from its template and its view model.
    func page(_ template: String, _ model: Any, _ context: WebContext, status: HTTPResponse.Status = .ok) -> Response {
        var frame = PageView.Frame()
        if let actor = context.actor {
            frame = .init(signedIn: true, signedInAs: actor.user?.login ?? "operator", csrf: context.csrf ?? "")
        }
        let html = library.render(PageView(model: model, frame: frame), withTemplate: template)
            ?? "<!doctype html><title>Postern</title><p>page \(template) is missing</p>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(_ error: any Error, _ context: WebContext) -> Response {
        guard let error = error as? PosternError else {
            return page("problem", ProblemView(title: "Something went wrong", heading: "Something went wrong",
                                               message: "The change could not be made; nothing was changed. See posternd's log."), context,
                        status: .internalServerError)
        }
        let status = Self.status(error)
        let heading = status == .forbidden ? "Not allowed" : status == .notFound ? "Not found" : "That did not work"
        var response = page("problem", ProblemView(title: heading, heading: heading, message: error.message), context, status: status)
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    /// The same status the control API gives for the same refusal.
    static func status(_ error: PosternError) -> HTTPResponse.Status { .init(code: error.kind.httpStatus) }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    static func clientIP(_ request: Request, _ context: WebContext, _ settings: WebSettings) -> String? {
        let peer = context.channel.remoteAddress?.ipAddress
        if let header = settings.clientIPHeader, let name = HTTPField.Name(header), peer == "127.0.0.1" || peer == "::1",
           let forwarded = request.headers[name]?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), !forwarded.isEmpty {
            return forwarded
        }
        return peer
    }

    /// The signed-in actor, or a redirect to the sign-in page.
    func signedIn(_ context: WebContext) throws -> Actor {
        guard let actor = context.actor else { throw Redirect(to: "/signin") }
        return actor
    }

    /// A form, once its CSRF token is this session's.
    func form<Form: Decodable>(_ type: Form.Type, _ request: Request, _ context: WebContext) async throws -> Form {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let text = String(buffer: body)
        let token = try? URLEncodedFormDecoder().decode(CSRFField.self, from: text)
        guard CSRF.matches(token?.csrf, context.csrf) else {
            throw PosternError(.csrf, "this form is stale or not from this session; reload the page and try again")
        }
        return try URLEncodedFormDecoder().decode(Form.self, from: text)
    }

    struct Redirect: Error { let to: String }
    struct CSRFField: Decodable { let csrf: String? }

    func run(_ context: WebContext, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch let redirect as Redirect { return Self.redirect(redirect.to) } catch { return problem(error, context) }
    }

    /// A form whose answer is its own page again: with the change's notice, or with why it was
    /// refused (a stale token or a hidden target gets the plain problem page).
    func submit<Form: Decodable>(_ type: Form.Type, _ request: Request, _ context: WebContext,
                                 redisplay: (_ notice: String?, _ problem: String?, _ status: HTTPResponse.Status) async throws -> Response,
                                 _ change: (Actor, Form) async throws -> String) async -> Response {
        let actor: Actor
        let input: Form
        do {
            actor = try signedIn(context)
            input = try await form(type, request, context)
        } catch { return await run(context) { throw error } }
        do {
            let notice = try await change(actor, input)
            return try await redisplay(notice, nil, .ok)
        } catch let error as PosternError where error.kind != .notFound {
            return (try? await redisplay(nil, error.message, Self.status(error))) ?? problem(error, context)
        } catch { return problem(error, context) }
    }

    // MARK: sign-in

    /// The sign-in form carries a token bound to a SameSite=Strict cookie set with the form: a
    /// form posted from another site has no cookie, so no one is signed in to an attacker's account.
    func signInPage(_ request: Request, _ context: WebContext, problem: String? = nil, login: String? = nil,
                    status: HTTPResponse.Status = .ok) -> Response {
        let form = request.cookies[WebManager.signInCookie]?.value.filter(\.isHexDigit).count == 32
            ? request.cookies[WebManager.signInCookie]!.value : Self.randomHex(16)
        let view = SignInView(title: "Sign in", signinToken: CSRF.token(session: "sign-in\u{0}" + form, key: plane.serverKey.key),
                              problem: problem, loginTyped: login)
        var response = page("signin", view, context, status: status)
        response.headers[.setCookie] = "\(WebManager.signInCookie)=\(form); Path=/signin; HttpOnly; SameSite=Strict\(settings.secureCookies ? "; Secure" : "")"
        return response
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    func signIn(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let login: String; let password: String; let csrf: String? }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard let form = try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body)) else {
            return signInPage(request, context, problem: "Give your login and your account password.", status: .badRequest)
        }
        let cookie = request.cookies[WebManager.signInCookie]?.value
        guard let cookie, CSRF.matches(form.csrf, CSRF.token(session: "sign-in\u{0}" + cookie, key: plane.serverKey.key)) else {
            return signInPage(request, context, problem: "This sign-in form is stale or not from this site; sign in again.", login: form.login,
                              status: .forbidden)
        }
        do {
            let session = try await plane.people.signIn(login: form.login, password: form.password, ip: Self.clientIP(request, context, settings),
                                                 throttle: signIns)
            let cookie = "\(WebManager.cookie)=\(session.secret); Path=/; HttpOnly; SameSite=Strict\(settings.secureCookies ? "; Secure" : "")"
            return Self.redirect("/", cookie: cookie)
        } catch let error as PosternError {
            let message = error.errorCode == .signInThrottled ? error.message : "Wrong login or password."
            var response = signInPage(request, context, problem: message, login: form.login, status: Self.status(error))
            // The same answer the API gives a throttled sign-in: 429 with Retry-After.
            if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
            return response
        }
    }

    func signOut(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            _ = try await form(Form.self, request, context)
            _ = try await plane.people.signOut(actor: actor)
            return Self.redirect("/signin", cookie: "\(WebManager.cookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        }
    }


    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Dates as pages show them.
enum Output {
    static func date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: date)
    }
}
