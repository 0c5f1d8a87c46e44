import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import PosternAuth
import PosternCore
import PosternProtocols

/// The pages and what their forms do. Each action goes through the control plane, which asks the
/// rule set: a page only leaves out what the server would refuse anyway.
struct Pages: Sendable {
    let plane: ControlPlane
    let library: MustacheLibrary
    let settings: WebSettings
    let signIns: Throttle

    // MARK: rendering

    func page(_ template: String, _ values: [String: Any], _ context: WebContext, status: HTTPResponse.Status = .ok) -> Response {
        var all = values
        if let actor = context.actor {
            all["signedIn"] = true
            all["signedInAs"] = actor.user?.login ?? "operator"
            all["csrf"] = context.csrf ?? ""
        }
        let html = library.render(all, withTemplate: template) ?? "<!doctype html><title>Postern</title><p>page \(template) is missing</p>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(_ error: any Error, _ context: WebContext) -> Response {
        guard let error = error as? PosternError else {
            return page("problem", ["title": "Something went wrong", "heading": "Something went wrong",
                                    "message": "The change could not be made; nothing was changed. See posternd's log."], context,
                        status: .internalServerError)
        }
        let status: HTTPResponse.Status = switch error.kind {
        case .notFound: .notFound
        case .forbidden: .forbidden
        case .unauthenticated: .unauthorized
        case .conflict: .conflict
        case .invalid: .badRequest
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
        let heading = status == .forbidden ? "Not allowed" : status == .notFound ? "Not found" : "That did not work"
        return page("problem", ["title": heading, "heading": heading, "message": error.message], context, status: status)
    }

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
            throw PosternError(.forbidden, code: "csrf", "this form is stale or not from this session; reload the page and try again")
        }
        return try URLEncodedFormDecoder().decode(Form.self, from: text)
    }

    struct Redirect: Error { let to: String }
    struct CSRFField: Decodable { let csrf: String? }

    func run(_ context: WebContext, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch let redirect as Redirect { return Self.redirect(redirect.to) } catch { return problem(error, context) }
    }

    // MARK: sign-in

    func signIn(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let login: String; let password: String }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard let form = try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body)) else {
            return page("signin", ["title": "Sign in", "problem": "Give your login and your account password."], context, status: .badRequest)
        }
        do {
            let session = try await plane.signIn(login: form.login, password: form.password, ip: Self.clientIP(request, context, settings),
                                                 throttle: signIns)
            let cookie = "\(WebManager.cookie)=\(session.secret); Path=/; HttpOnly; SameSite=Strict\(settings.secureCookies ? "; Secure" : "")"
            return Self.redirect("/", cookie: cookie)
        } catch let error as PosternError {
            let message = error.code == "sign_in_throttled" ? error.message : "Wrong login or password."
            return page("signin", ["title": "Sign in", "problem": message, "loginTyped": form.login], context,
                        status: error.code == "sign_in_throttled" ? .tooManyRequests : .unauthorized)
        }
    }

    func signOut(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            _ = try await form(Form.self, request, context)
            _ = try await ControlAPI.blocking { [plane] in try plane.signOut(actor: actor) }
            return Self.redirect("/signin", cookie: "\(WebManager.cookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        }
    }

    // MARK: mailboxes and devices

    func home(_ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let boxes = try await ControlAPI.blocking { [plane] in try plane.mailboxesWithPermissions(actor: actor) }
            let orgs = try await ControlAPI.blocking { [plane] in try plane.organizationsWithRights(actor: actor) }
            return page("home", ["title": "Your mailboxes",
                                 "organizations": orgs.map { ["name": $0.organization.name, "path": Self.segment($0.organization.name),
                                                              "role": $0.role?.label ?? "operator", "members": $0.seesMembers] as [String: Any] },
                                 "mailboxes": boxes.map { box, permissions in
                ["address": box.address.description, "path": Self.segment(box.address.description), "devices": permissions.contains(.devices),
                 "history": permissions.contains(.history)] as [String: Any]
            }], context)
        }
    }

    func devices(_ request: Request, _ context: WebContext, notice: String? = nil) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let list = try await ControlAPI.blocking { [plane] in try plane.devices(address, actor: actor) }
            var values: [String: Any] = ["title": "Devices", "address": address, "path": Self.segment(address),
                                         "devices": list.map { Self.row($0, address) },
                                         "services": ServiceScope.Service.allCases.map(\.rawValue)]
            if let done = request.uri.queryParameters.get("done").flatMap(Self.notices.index(forKey:)) { values["notice"] = Self.notices[done].value }
            if let notice { values["notice"] = notice }
            return page("devices", values, context)
        }
    }

    // MARK: members

    func members(_ context: WebContext, notice: String? = nil) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let organization = try context.parameters.decoded("organization")
            let list = try await ControlAPI.blocking { [plane] in try plane.members(organization: organization, actor: actor) }
            let manages = try await ControlAPI.blocking { [plane] in
                try plane.organizationsWithRights(actor: actor).first { $0.organization.name == organization }?.manages ?? false
            }
            var values: [String: Any] = ["title": "Members", "organization": organization, "manages": manages,
                "members": list.map { member in
                    ["login": member.login, "displayName": member.displayName, "roleLabel": member.role.label,
                     "orgPath": Self.segment(organization), "loginPath": Self.segment(member.login), "csrf": context.csrf ?? "",
                     "roles": Role.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == member.role] as [String: Any] }]
                        as [String: Any]
                }]
            if let notice { values["notice"] = notice }
            return page("members", values, context)
        }
    }

    func changeRole(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let role: String; let password: String? }
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try await form(Form.self, request, context)
            let role = try Role(parsing: input.role)
            let change = try await ControlAPI.blocking { [plane] in
                try plane.setMember(organization: organization, login: login, role: role, displayName: nil, password: input.password, actor: actor)
            }
            return try await members(context, notice: "\(change.member.login) is now \(change.member.role.label).")
        }
    }

    func confirmRemoval(_ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let preview = try await ControlAPI.blocking { [plane] in try plane.memberRemovalPreview(organization: organization, login: login, actor: actor) }
            return page("remove-member", ["title": "Remove a member", "organization": organization, "login": preview.member.login,
                "orgPath": Self.segment(organization), "loginPath": Self.segment(preview.member.login), "roleLabel": preview.member.role.label,
                "access": preview.mailboxAccess.map { ["mailbox": $0.mailbox, "permissions": $0.permissions.names.joined(separator: ", ")] },
                "services": preview.services,
                "tokens": preview.tokens.map { ["kind": $0.kind == .token ? "API token" : "session", "name": $0.name] },
                "anything": !(preview.mailboxAccess.isEmpty && preview.services.isEmpty && preview.tokens.isEmpty)], context)
        }
    }

    func removeMember(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let confirm: String?; let password: String? }
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try await form(Form.self, request, context)
            let removed = try await ControlAPI.blocking { [plane] in
                try plane.removeMember(organization: organization, login: login, confirm: input.confirm, password: input.password, actor: actor)
            }
            return try await members(context, notice: "\(removed.member.login) was removed, with \(removed.mailboxAccess.count) mailbox access(es).")
        }
    }

    static let historyKinds = [("device", "devices"), ("generic", "generic password"), ("access", "access and permissions"),
                               ("login", "failed logins"), ("mailbox", "the mailbox"), ("revocation", "revocations")]

    /// The mailbox's action history ("history" permission), filtered by kind and by day.
    func history(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let query = request.uri.queryParameters
            let kind = query.get("kind").map { String($0) }.flatMap { k in Self.historyKinds.contains { $0.0 == k } ? k : nil }
            func day(_ name: String) -> (text: String, date: Date?) {
                guard let text = query.get(name).map({ String($0) }), !text.isEmpty else { return ("", nil) }
                return (text, try? Date(text + "T00:00:00Z", strategy: .iso8601))
            }
            let (since, until) = (day("since"), day("until"))
            let entries = try await ControlAPI.blocking { [plane] in
                try plane.history(address, limit: 500, since: since.date, until: until.date.map { $0 + 86_400 }, kind: kind, actor: actor)
            }
            return page("history", ["title": "History", "address": address, "path": Self.segment(address),
                                    "since": since.text, "until": until.text,
                                    "kinds": Self.historyKinds.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == kind] as [String: Any] },
                                    "entries": entries.map { ["at": Output.date($0.at), "actor": $0.actor, "origin": $0.origin ?? "",
                                                             "action": $0.action, "detail": $0.detail] as [String: Any] }], context)
        }
    }

    static let notices = ["disconnected": "The device was disconnected: its password no longer works.",
                          "all": "Every device was disconnected."]

    static func row(_ device: Device, _ address: String) -> [String: Any] {
        var use = "never"
        if let last = device.lastUse {
            use = Output.date(last.at) + (last.ip.map { " from \($0)" } ?? "") + (last.service.isEmpty ? "" : " (\(last.service))")
        }
        return ["id": "\(device.id)", "name": device.name, "generic": device.kind == .generic,
                "label": device.kind == .generic ? "Password from your old server" : device.name, "created": Output.date(device.createdAt),
                "lastUse": use, "scopes": device.scope.stored?.replacingOccurrences(of: ",", with: ", ") ?? "all", "path": segment(address)]
    }

    func addDevice(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let name: String; let scopes: [String]? }
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let input = try await form(Form.self, request, context)
            let scope = try ServiceScope(names: input.scopes ?? [])
            let made = try await ControlAPI.blocking { [plane] in try plane.addDevice(address, name: input.name, scope: scope, actor: actor) }
            return password(made, address, heading: "New device: \(made.device.name)", context)
        }
    }

    func rotate(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let (address, id) = (try context.parameters.decoded("address"), try context.parameters.decoded("id"))
            _ = try await form(Form.self, request, context)
            let made = try await ControlAPI.blocking { [plane] in try plane.rotateDevice(address, device: "#" + id, actor: actor) }
            return password(made, address, heading: "New password for \(made.device.name)", context)
        }
    }

    var clientSettings: MailClientSettings {
        MailClientSettings(imapHost: settings.imapHost, imapPort: settings.imapPort, smtpHost: settings.smtpHost, smtpPort: settings.smtpPort)
    }

    /// The password page, with the Apple profile in the page itself (a data: link): once the user
    /// leaves, nothing anywhere can show the password again.
    func password(_ made: NewSecret, _ address: String, heading: String, _ context: WebContext) -> Response {
        let profile = clientSettings.mobileconfig(address: address, password: made.password, deviceName: made.device.name,
                                                  uuids: (UUID().uuidString, UUID().uuidString))
        let domain = address.split(separator: "@").last.map(String.init) ?? ""
        return page("password", ["title": heading, "heading": heading, "device": made.device.name, "address": address, "path": Self.segment(address),
                          "profile": "data:application/x-apple-aspen-config;base64," + Data(profile.utf8).base64EncodedString(),
                          "profileName": "\(address.replacingOccurrences(of: "@", with: "-at-"))-\(made.device.id).mobileconfig",
                          "autoconfig": "/mail/config-v1.1.xml?emailaddress=" + (address.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""),
                          "domain": domain,
                          "password": made.password, "groups": made.password.split(separator: "-").map(String.init),
                          "imapHost": settings.imapHost, "imapPort": settings.imapPort, "smtpHost": settings.smtpHost,
                          "smtpPort": settings.smtpPort], context)
    }

    func disconnect(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let (address, id) = (try context.parameters.decoded("address"), try context.parameters.decoded("id"))
            _ = try await form(Form.self, request, context)
            _ = try await ControlAPI.blocking { [plane] in try plane.disconnectDevice(address, device: "#" + id, actor: actor) }
            return Self.redirect("/mailboxes/\(Self.segment(address))/devices?done=disconnected")
        }
    }

    func confirmDisconnectAll(_ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let list = try await ControlAPI.blocking { [plane] in try plane.devices(address, actor: actor) }
            return page("disconnect-all", ["title": "Disconnect all devices", "address": address, "path": Self.segment(address),
                                           "devices": list.map { Self.row($0, address) }, "count": list.count], context)
        }
    }

    func disconnectAll(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            _ = try await form(Form.self, request, context)
            _ = try await ControlAPI.blocking { [plane] in try plane.disconnectAll(address, confirmed: true, actor: actor) }
            return Self.redirect("/mailboxes/\(Self.segment(address))/devices?done=all")
        }
    }

    /// Thunderbird's autoconfig for a domain we serve (from `emailaddress`, else the Host header).
    func autoconfig(_ request: Request, _ context: WebContext) async throws -> Response {
        let fromAddress = request.uri.queryParameters.get("emailaddress").flatMap { try? MailAddress(String($0)) }?.domain
        let host = request.head.authority.map { String($0.split(separator: ":")[0]).lowercased() }
        let candidates = [fromAddress, host, host.map { $0.hasPrefix("autoconfig.") ? String($0.dropFirst(11)) : $0 }].compactMap { $0 }
        let plane = plane
        for domain in candidates where try await ControlAPI.blocking({ try plane.servesDomain(domain) }) {
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8", .cacheControl: "public, max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(string: clientSettings.autoconfig(domain: domain))))
        }
        return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "no mail domain of ours here\n")))
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
