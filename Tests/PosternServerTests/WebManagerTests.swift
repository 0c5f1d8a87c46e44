import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PosternAuth
import PosternCore
@testable import PosternServer
import Testing

/// The web manager's pages and forms through its router: sign-in, cookies, CSRF, headers, devices.
@Suite struct WebManagerTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../web").standardized.path

    /// alice@example.org with cole (collaborator, devices) and ezra (external, history only).
    static func world() throws -> ControlPlane {
        let plane = try makePlane()
        _ = try plane.addMailbox("alice@example.org", actor: .op)
        for (login, role, permissions) in [("cole@corp.test", Role.collaborator, MailboxPermission.devices), ("ezra@corp.test", .external, .history),
                                           ("adam@corp.test", .administrator, [])] {
            _ = try plane.addUser(login: login, displayName: "", password: "password of \(login)", actor: .op)
            _ = try plane.setMember(organization: "Example Ltd", login: login, role: role, displayName: nil, password: nil, actor: .op)
            _ = try plane.setAccess(mailbox: "alice@example.org", login: login, permissions: permissions, password: nil, actor: .op)
        }
        return plane
    }

    struct Browser {
        let client: any TestClientProtocol
        var cookie: String?

        func get(_ uri: String) async throws -> (status: Int, headers: HTTPFields, body: String) {
            var headers: HTTPFields = [:]
            if let cookie { headers[.cookie] = cookie }
            return try await client.execute(uri: uri, method: .get, headers: headers) { ($0.status.code, $0.headers, String(buffer: $0.body)) }
        }

        func post(_ uri: String, _ form: [(String, String)]) async throws -> (status: Int, headers: HTTPFields, body: String) {
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            if let cookie { headers[.cookie] = cookie }
            let body = form.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                .joined(separator: "&")
            return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
                ($0.status.code, $0.headers, String(buffer: $0.body))
            }
        }

        mutating func signIn(_ login: String) async throws {
            let answer = try await post("/signin", [("login", login), ("password", "password of \(login)")])
            #expect(answer.status == 303)
            let cookie = try #require(answer.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
            self.cookie = String(cookie.split(separator: ";")[0])
        }

        func csrf(_ page: String) -> String {
            guard let range = page.range(of: #"name="csrf" value="([0-9a-f]+)""#, options: .regularExpression) else { return "" }
            return String(page[range].split(separator: "\"")[3])
        }
    }

    static func app(_ plane: ControlPlane) async throws -> some ApplicationProtocol {
        var settings = WebSettings()
        settings.directory = directory
        settings.imapHost = "imap.example.org"
        return Application(router: try await WebManager.router(plane, settings: settings, signIns: Throttle()))
    }

    @Test func aCollaboratorSignsInAddsAndRotatesADeviceAndTheFormsNeedTheirToken() async throws {
        let plane = try Self.world()
        try await Self.app(plane).test(.router) { client in
            var browser = Browser(client: client)
            let first = try await browser.get("/")
            #expect(first.status == 303 && first.headers[.location] == "/signin", "signed out: to the sign-in page")
            let signin = try await browser.get("/signin")
            #expect(signin.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(signin.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(try await browser.post("/signin", [("login", "cole@corp.test"), ("password", "nope")]).status == 401)
            try await browser.signIn("cole@corp.test")

            let home = try await browser.get("/")
            #expect(home.body.contains("alice@example.org") && home.body.contains("/mailboxes/alice@example.org/devices"))
            let page = try await browser.get("/mailboxes/alice@example.org/devices")
            #expect(page.status == 200)
            let token = browser.csrf(page.body)
            #expect(token.count == 36)

            let before = try plane.devices("alice@example.org", actor: .op).count
            #expect(try await browser.post("/mailboxes/alice@example.org/devices", [("name", "Phone")]).status == 403, "no token")
            #expect(try await browser.post("/mailboxes/alice@example.org/devices", [("csrf", String(repeating: "0", count: 36)), ("name", "Phone")]).status == 403)
            #expect(try plane.devices("alice@example.org", actor: .op).count == before, "refused forms change nothing")

            let added = try await browser.post("/mailboxes/alice@example.org/devices", [("csrf", token), ("name", "Phone"), ("scopes[]", "imap")])
            #expect(added.status == 200 && added.headers[.cacheControl] == "no-store")
            let shown = try #require(added.body.range(of: #"data-secret="([a-z2-9-]+)""#, options: .regularExpression))
            let password = String(added.body[shown].split(separator: "\"")[1])
            #expect(added.body.contains("imap.example.org"))
            let check = plane.check
            #expect(await check.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "imap", remoteIP: nil)) != .fail)
            let device = try #require(try plane.devices("alice@example.org", actor: .op).first { $0.name == "Phone" })

            let rotated = try await browser.post("/mailboxes/alice@example.org/devices/\(device.id)/rotate", [("csrf", token)])
            #expect(rotated.status == 200)
            #expect(await check.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "imap", remoteIP: nil)) == .fail)
            let list = try await browser.get("/mailboxes/alice@example.org/devices")
            #expect(!list.body.contains(password), "a device list never shows a password")

            let confirm = try await browser.get("/mailboxes/alice@example.org/disconnect-all")
            #expect(confirm.body.contains("Phone") && confirm.body.contains("Disconnect all"))
            let done = try await browser.post("/mailboxes/alice@example.org/disconnect-all", [("csrf", token)])
            #expect(done.status == 303)
            #expect(try plane.devices("alice@example.org", actor: .op).isEmpty)

            #expect(try await browser.post("/signout", [("csrf", token)]).status == 303)
            #expect(try await browser.get("/").status == 303, "signed out")
        }
    }

    @Test func whatAUserLacksThePageDoesNotOfferAndTheServerRefuses() async throws {
        let plane = try Self.world()
        try await Self.app(plane).test(.router) { client in
            var ezra = Browser(client: client)
            try await ezra.signIn("ezra@corp.test")
            let home = try await ezra.get("/")
            #expect(home.body.contains("alice@example.org") && !home.body.contains("/devices"), "no devices link without the permission")
            let direct = try await ezra.get("/mailboxes/alice@example.org/devices")
            #expect(direct.status == 403 && direct.body.contains("devices"))
            let token = ezra.csrf(home.body)
            let post = try await ezra.post("/mailboxes/alice@example.org/devices", [("csrf", token), ("name", "Sneaky")])
            #expect(post.status == 403)
            #expect(try plane.devices("alice@example.org", actor: .op).isEmpty)
            #expect(try await ezra.get("/mailboxes/bob@example.org/devices").status == 404)
            #expect(home.body.contains("/mailboxes/alice@example.org/history"), "ezra holds history")
            let history = try await ezra.get("/mailboxes/alice@example.org/history?kind=access")
            #expect(history.status == 200 && history.body.contains("access.grant") && !history.body.contains("mailbox.add"))
            #expect(try await ezra.get("/mailboxes/alice@example.org/history?since=2099-01-01").body.contains("Nothing in this range"))

            var cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let colePage = try await cole.get("/mailboxes/alice@example.org/devices")
            #expect(try await cole.get("/mailboxes/alice@example.org/history").status == 403, "cole lacks history")
            let other = try await cole.post("/mailboxes/alice@example.org/devices", [("csrf", ezra.csrf(home.body)), ("name", "X")])
            #expect(other.status == 403, "another session's token does not fit")
            #expect(!colePage.body.isEmpty)
        }
    }

    @Test func anAdministratorChangesARoleWithTheirPasswordAndRemovesAMemberAfterThePreview() async throws {
        let plane = try Self.world()
        try await Self.app(plane).test(.router) { client in
            var adam = Browser(client: client)
            try await adam.signIn("adam@corp.test")
            let home = try await adam.get("/")
            #expect(home.body.contains("/organizations/Example%20Ltd/members"))
            let page = try await adam.get("/organizations/Example%20Ltd/members")
            #expect(page.status == 200 && page.body.contains("ezra@corp.test") && page.body.contains("/members/ezra@corp.test/role"))
            let token = adam.csrf(page.body)
            let wrong = try await adam.post("/organizations/Example%20Ltd/members/ezra@corp.test/role",
                                           [("csrf", token), ("role", "collaborator"), ("password", "not mine")])
            #expect(wrong.status == 403 && wrong.body.contains("not your account password"))
            #expect(try plane.members(organization: "Example Ltd", actor: .op).first { $0.login == "ezra@corp.test" }?.role == .external)
            let changed = try await adam.post("/organizations/Example%20Ltd/members/ezra@corp.test/role",
                                             [("csrf", token), ("role", "collaborator"), ("password", "password of adam@corp.test")])
            #expect(changed.status == 200 && changed.body.contains("ezra@corp.test is now collaborator"))
            let preview = try await adam.get("/organizations/Example%20Ltd/members/ezra@corp.test/remove")
            #expect(preview.body.contains("alice@example.org") && preview.body.contains("history"))
            #expect(preview.body.contains("Remove ezra@corp.test from Example Ltd?"), "the member's login, not the signed-in one")
            let untyped = try await adam.post("/organizations/Example%20Ltd/members/ezra@corp.test/remove",
                                             [("csrf", token), ("confirm", "someone"), ("password", "password of adam@corp.test")])
            #expect(untyped.status == 400)
            let removed = try await adam.post("/organizations/Example%20Ltd/members/ezra@corp.test/remove",
                                             [("csrf", token), ("confirm", "ezra@corp.test"), ("password", "password of adam@corp.test")])
            #expect(removed.status == 200 && removed.body.contains("ezra@corp.test was removed"))
            #expect(try plane.members(organization: "Example Ltd", actor: .op).allSatisfy { $0.login != "ezra@corp.test" })

            var cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let seen = try await cole.get("/organizations/Example%20Ltd/members")
            #expect(seen.status == 200 && !seen.body.contains("/role\""), "a collaborator sees the members, not the forms")
            #expect(try await cole.post("/organizations/Example%20Ltd/members/adam@corp.test/role",
                                        [("csrf", cole.csrf(seen.body)), ("role", "external"), ("password", "password of cole@corp.test")]).status == 403)
        }
    }
}
