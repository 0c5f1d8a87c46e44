import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PosternCore
import PosternProtocols

/// The pages of a mailbox: its devices (the "devices" permission) and its action history ("history").
extension Pages {
    // MARK: mailboxes and devices

    /// The home page: the actor's organizations (the first 500) and a page of their mailboxes, with a search box.
    func home(_ context: WebContext, query: [String: String] = [:]) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let request = Pager.request(query)
            // Two reads at once: on PostgreSQL each is its own round trips, on a connection of the pool.
            async let mailboxes = plane.directory.mailboxesWithPermissions(page: request, actor: actor)
            async let organizations = plane.directory.organizationsWithRights(page: .first(PageRequest.maxLimit), actor: actor)
            let (boxes, orgs) = try await (mailboxes, organizations.items)
            return page("home", HomeView(title: "Your mailboxes", organizations: orgs.map { org in
                HomeView.Organization(name: org.organization.name, path: Self.segment(org.organization.name), role: org.role?.label ?? "operator",
                                      members: org.seesMembers, services: org.managedServices.map { Link(name: $0, path: Self.segment($0)) })
            }, mailboxes: boxes.items.map { box in
                let held = box.permissions
                return HomeView.Mailbox(address: box.mailbox.address.description, path: Self.segment(box.mailbox.address.description),
                                        devices: held.contains(.devices), history: held.contains(.history), aliases: held.contains(.aliases),
                                        redirections: held.contains(.redirections), rules: held.contains(.rules), filters: held.contains(.filters),
                                        responders: held.contains(.responders), security: held.contains(.security), folders: held.contains(.folders),
                                        signatures: held.contains(.signatures), permissions: box.managesAccess)
            }, pager: Pager(boxes, path: "/", search: request.search, searchable: true)), context)
        }
    }

    func devices(_ request: Request, _ context: WebContext, notice: String? = nil) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let wanted = Pager.request(request.queryValues)
            let list = try await plane.devices.devices(address, page: wanted, actor: actor)
            var view = DevicesView(title: "Devices", address: address, path: Self.segment(address), devices: list.items.map { Self.row($0, address) },
                                   services: ServiceScope.Service.allCases.map(\.rawValue),
                                   pager: Pager(list, path: "/mailboxes/\(Self.segment(address))/devices"))
            if let done = request.uri.queryParameters.get("done").flatMap(Self.notices.index(forKey:)) { view.notice = Self.notices[done].value }
            if let notice { view.notice = notice }
            return page("devices", view, context)
        }
    }

    static let historyKinds = [("device", "devices"), ("generic", "generic password"), ("access", "access and permissions"),
                               ("login", "failed logins"), ("mailbox", "the mailbox"), ("revocation", "revocations"),
                               ("alias", "aliases"), ("redirection", "redirections"), ("rules", "rules"), ("spam", "spam filter"),
                               ("responder", "automatic reply"), ("senders", "senders"), ("folder", "folders"), ("script", "Sieve script"), ("signature", "signatures")]

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
            let wanted = Pager.request(request.queryValues)
            let entries = try await plane.directory.history(address, page: wanted, since: since.date, until: until.date.map { $0 + 86_400 }, kind: kind, actor: actor)
            return page("history", HistoryView(title: "History", address: address, path: Self.segment(address), since: since.text, until: until.text,
                                               kinds: Self.historyKinds.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == kind) },
                                               entries: entries.items.map { .init(at: Output.date($0.at), actor: $0.actor, origin: $0.origin ?? "",
                                                                                  action: $0.action, detail: $0.detail) },
                                               pager: Pager(entries, path: "/mailboxes/\(Self.segment(address))/history",
                                                            keeping: [("kind", kind ?? ""), ("since", since.text), ("until", until.text)])), context)
        }
    }

    static let notices = ["disconnected": "The device was disconnected: its password no longer works.",
                          "all": "Every device was disconnected."]

    static func row(_ device: Device, _ address: String) -> DeviceRow {
        var use = "never"
        if let last = device.lastUse {
            use = Output.date(last.at) + (last.ip.map { " from \($0)" } ?? "") + (last.service.isEmpty ? "" : " (\(last.service))")
        }
        return DeviceRow(id: "\(device.id)", name: device.name, generic: device.kind == .generic,
                         label: device.kind == .generic ? "Password from your old server" : device.name, created: Output.date(device.createdAt),
                         lastUse: use, scopes: device.scope.stored?.replacingOccurrences(of: ",", with: ", ") ?? "all", path: segment(address))
    }

    func addDevice(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let name: String; let scopes: [String]? }
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let input = try await form(Form.self, request, context)
            let scope = try ServiceScope(names: input.scopes ?? [])
            let made = try await plane.devices.addDevice(address, name: input.name, scope: scope, actor: actor)
            return password(made, address, heading: "New device: \(made.device.name)", context)
        }
    }

    func rotate(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let (address, id) = (try context.parameters.decoded("address"), try context.parameters.decoded("id"))
            _ = try await form(Form.self, request, context)
            let made = try await plane.devices.rotateDevice(address, device: "#" + id, actor: actor)
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
        return page("password", PasswordView(
            title: heading, heading: heading, device: made.device.name, address: address, path: Self.segment(address),
            profile: "data:application/x-apple-aspen-config;base64," + Data(profile.utf8).base64EncodedString(),
            profileName: "\(address.replacingOccurrences(of: "@", with: "-at-"))-\(made.device.id).mobileconfig",
            autoconfig: "/mail/config-v1.1.xml?emailaddress=" + (address.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""),
            domain: domain, password: made.password, groups: made.password.split(separator: "-").map(String.init),
            imapHost: settings.imapHost, imapPort: settings.imapPort, smtpHost: settings.smtpHost, smtpPort: settings.smtpPort), context)
    }

    func disconnect(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let (address, id) = (try context.parameters.decoded("address"), try context.parameters.decoded("id"))
            _ = try await form(Form.self, request, context)
            _ = try await plane.devices.disconnectDevice(address, device: "#" + id, actor: actor)
            return Self.redirect("/mailboxes/\(Self.segment(address))/devices?done=disconnected")
        }
    }

    func confirmDisconnectAll(_ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            // What the confirmation lists: the first 500 (a mailbox holds fewer; the count says how many go).
            let list = try await plane.devices.devices(address, page: .first(PageRequest.maxLimit), actor: actor)
            return page("disconnect-all", DisconnectAllView(title: "Disconnect all devices", address: address, path: Self.segment(address),
                                                            devices: list.items.map { Self.row($0, address) }, count: list.items.count), context)
        }
    }

    func disconnectAll(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let csrf: String? }
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            _ = try await form(Form.self, request, context)
            _ = try await plane.devices.disconnectAll(address, confirmed: true, actor: actor)
            return Self.redirect("/mailboxes/\(Self.segment(address))/devices?done=all")
        }
    }

    /// Thunderbird's autoconfig for a domain we serve (from `emailaddress`, else the Host header).
    func autoconfig(_ request: Request, _ context: WebContext) async throws -> Response {
        let fromAddress = request.uri.queryParameters.get("emailaddress").flatMap { try? MailAddress(String($0)) }?.domain
        let host = request.head.authority.map { String($0.split(separator: ":")[0]).lowercased() }
        let candidates = [fromAddress, host, host.map { $0.hasPrefix("autoconfig.") ? String($0.dropFirst(11)) : $0 }].compactMap { $0 }
        let plane = plane
        for domain in candidates where try await plane.directory.servesDomain(domain) {
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8", .cacheControl: "public, max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(string: clientSettings.autoconfig(domain: domain))))
        }
        return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "no mail domain of ours here\n")))
    }
}
