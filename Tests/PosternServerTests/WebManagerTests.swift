import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
@testable import PosternStore
import Testing

/// The web manager's pages and forms through its router: sign-in, cookies, CSRF, headers, devices.
@Suite struct WebManagerTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../web").standardized.path

    /// alice@example.org with cole (collaborator, devices) and ezra (external, history only).
    static func world() async throws -> Planes {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        for (login, role, permissions) in [("cole@corp.test", Role.collaborator, MailboxPermission.devices), ("ezra@corp.test", .external, .history),
                                           ("adam@corp.test", .administrator, [])] {
            _ = try await plane.people.addUser(login: login, displayName: "", password: "password of \(login)", actor: .op)
            _ = try await plane.people.setMember(organization: "Example Ltd", login: login, role: role, displayName: nil, password: nil, actor: .op)
            _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: login, permissions: permissions, password: nil, actor: .op)
        }
        return plane
    }

    /// A client with a cookie jar, as a browser keeps one.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var cookie: String? { cookies[WebManager.cookie].map { "\(WebManager.cookie)=\($0)" } }

        init(client: any TestClientProtocol) { self.client = client }

        func keep(_ headers: HTTPFields) {
            for line in headers[values: .setCookie] {
                let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = pair.count == 2 ? String(pair[1]) : ""
                cookies[String(pair[0])] = value.isEmpty || line.contains("Max-Age=0") ? nil : value
            }
        }

        var cookieHeader: HTTPFields {
            cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")]
        }

        func get(_ uri: String) async throws -> (status: Int, headers: HTTPFields, body: String) {
            let answer = try await client.execute(uri: uri, method: .get, headers: cookieHeader) { ($0.status.code, $0.headers, String(buffer: $0.body)) }
            keep(answer.1)
            return (Int(answer.0), answer.1, answer.2)
        }

        func post(_ uri: String, _ form: [(String, String)]) async throws -> (status: Int, headers: HTTPFields, body: String) {
            var headers = cookieHeader
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = form.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                .joined(separator: "&")
            let answer = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
                ($0.status.code, $0.headers, String(buffer: $0.body))
            }
            keep(answer.1)
            return (Int(answer.0), answer.1, answer.2)
        }

        /// Signs in through the form: its cookie and its token.
        func signIn(_ login: String) async throws {
            let form = try await get("/signin")
            let answer = try await post("/signin", [("csrf", csrf(form.body)), ("login", login), ("password", "password of \(login)")])
            #expect(answer.status == 303)
            let cookie = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix(WebManager.cookie + "=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
        }

        func csrf(_ page: String) -> String { Self.token(in: page) }

        static func token(in page: String) -> String {
            guard let range = page.range(of: #"name="csrf" value="([0-9a-f]+)""#, options: .regularExpression) else { return "" }
            return String(page[range].split(separator: "\"")[3])
        }
    }

    static func app(_ plane: Planes) async throws -> some ApplicationProtocol {
        var settings = WebSettings()
        settings.directory = directory
        settings.imapHost = "imap.example.org"
        return Application(router: try await WebManager.router(plane, settings: settings, signIns: Throttle()))
    }

    @Test func aCollaboratorSignsInAddsAndRotatesADeviceAndTheFormsNeedTheirToken() async throws {
        let plane = try await Self.world()
        try await Self.app(plane).test(.router) { client in
            let browser = Browser(client: client)
            let first = try await browser.get("/")
            #expect(first.status == 303 && first.headers[.location] == "/signin", "signed out: to the sign-in page")
            let signin = try await browser.get("/signin")
            #expect(signin.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(signin.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            let form = try await browser.get("/signin")
            #expect(try await browser.post("/signin", [("csrf", browser.csrf(form.body)), ("login", "cole@corp.test"), ("password", "nope")]).status == 401)
            try await browser.signIn("cole@corp.test")

            let home = try await browser.get("/")
            #expect(home.body.contains("alice@example.org") && home.body.contains("/mailboxes/alice@example.org/devices"))
            let page = try await browser.get("/mailboxes/alice@example.org/devices")
            #expect(page.status == 200)
            let token = browser.csrf(page.body)
            #expect(token.count == 36)

            let before = try await plane.devices.devices("alice@example.org", actor: .op).count
            #expect(try await browser.post("/mailboxes/alice@example.org/devices", [("name", "Phone")]).status == 403, "no token")
            #expect(try await browser.post("/mailboxes/alice@example.org/devices", [("csrf", String(repeating: "0", count: 36)), ("name", "Phone")]).status == 403)
            #expect(try await plane.devices.devices("alice@example.org", actor: .op).count == before, "refused forms change nothing")

            let added = try await browser.post("/mailboxes/alice@example.org/devices", [("csrf", token), ("name", "Phone"), ("scopes[]", "imap")])
            #expect(added.status == 200 && added.headers[.cacheControl] == "no-store")
            let shown = try #require(added.body.range(of: #"data-secret="([a-z2-9-]+)""#, options: .regularExpression))
            let password = String(added.body[shown].split(separator: "\"")[1])
            #expect(added.body.contains("imap.example.org"))
            let check = plane.check
            #expect(await check.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "imap", remoteIP: nil)) != .fail)
            let device = try #require(try await plane.devices.devices("alice@example.org", actor: .op).first { $0.name == "Phone" })

            let rotated = try await browser.post("/mailboxes/alice@example.org/devices/\(device.id)/rotate", [("csrf", token)])
            #expect(rotated.status == 200)
            #expect(await check.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "imap", remoteIP: nil)) == .fail)
            let list = try await browser.get("/mailboxes/alice@example.org/devices")
            #expect(!list.body.contains(password), "a device list never shows a password")

            let confirm = try await browser.get("/mailboxes/alice@example.org/disconnect-all")
            #expect(confirm.body.contains("Phone") && confirm.body.contains("Disconnect all"))
            let done = try await browser.post("/mailboxes/alice@example.org/disconnect-all", [("csrf", token)])
            #expect(done.status == 303)
            #expect(try await plane.devices.devices("alice@example.org", actor: .op).isEmpty)

            #expect(try await browser.post("/signout", [("csrf", token)]).status == 303)
            #expect(try await browser.get("/").status == 303, "signed out")
        }
    }

    @Test func whatAUserLacksThePageDoesNotOfferAndTheServerRefuses() async throws {
        let plane = try await Self.world()
        try await Self.app(plane).test(.router) { client in
            let ezra = Browser(client: client)
            try await ezra.signIn("ezra@corp.test")
            let home = try await ezra.get("/")
            #expect(home.body.contains("alice@example.org") && !home.body.contains("/devices"), "no devices link without the permission")
            let direct = try await ezra.get("/mailboxes/alice@example.org/devices")
            #expect(direct.status == 403 && direct.body.contains("devices"))
            let token = ezra.csrf(home.body)
            let post = try await ezra.post("/mailboxes/alice@example.org/devices", [("csrf", token), ("name", "Sneaky")])
            #expect(post.status == 403)
            #expect(try await plane.devices.devices("alice@example.org", actor: .op).isEmpty)
            #expect(try await ezra.get("/mailboxes/bob@example.org/devices").status == 404)
            #expect(home.body.contains("/mailboxes/alice@example.org/history"), "ezra holds history")
            let history = try await ezra.get("/mailboxes/alice@example.org/history?kind=access")
            #expect(history.status == 200 && history.body.contains("access.grant") && !history.body.contains("mailbox.add"))
            #expect(try await ezra.get("/mailboxes/alice@example.org/history?since=2099-01-01").body.contains("Nothing in this range"))

            let cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let colePage = try await cole.get("/mailboxes/alice@example.org/devices")
            #expect(try await cole.get("/mailboxes/alice@example.org/history").status == 403, "cole lacks history")
            let other = try await cole.post("/mailboxes/alice@example.org/devices", [("csrf", ezra.csrf(home.body)), ("name", "X")])
            #expect(other.status == 403, "another session's token does not fit")
            #expect(!colePage.body.isEmpty)
        }
    }

    @Test func anAdministratorChangesARoleWithTheirPasswordAndRemovesAMemberAfterThePreview() async throws {
        let plane = try await Self.world()
        try await Self.app(plane).test(.router) { client in
            let adam = Browser(client: client)
            try await adam.signIn("adam@corp.test")
            let home = try await adam.get("/")
            #expect(home.body.contains("/organizations/Example%20Ltd/members"))
            let page = try await adam.get("/organizations/Example%20Ltd/members")
            #expect(page.status == 200 && page.body.contains("ezra@corp.test") && page.body.contains("/members/ezra@corp.test/role"))
            let token = adam.csrf(page.body)
            let wrong = try await adam.post("/organizations/Example%20Ltd/members/ezra@corp.test/role",
                                           [("csrf", token), ("role", "collaborator"), ("password", "not mine")])
            #expect(wrong.status == 403 && wrong.body.contains("not your account password"))
            #expect(try await plane.people.members(organization: "Example Ltd", actor: .op).first { $0.login == "ezra@corp.test" }?.role == .external)
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
            #expect(try await plane.people.members(organization: "Example Ltd", actor: .op).allSatisfy { $0.login != "ezra@corp.test" })

            let cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let seen = try await cole.get("/organizations/Example%20Ltd/members")
            #expect(seen.status == 200 && !seen.body.contains("/role\""), "a collaborator sees the members, not the forms")
            #expect(try await cole.post("/organizations/Example%20Ltd/members/adam@corp.test/role",
                                        [("csrf", cole.csrf(seen.body)), ("role", "external"), ("password", "password of cole@corp.test")]).status == 403)
        }
    }

    @Test func aSignInFormPostedFromElsewhereSignsNoOneIn() async throws {
        let plane = try await Self.world()
        try await Self.app(plane).test(.router) { client in
            let attacker = Browser(client: client)
            let theirs = try await attacker.get("/signin")
            let victim = Browser(client: client)
            // The attacker's page posts the attacker's login to the victim's browser: no sign-in cookie.
            let forged = try await victim.post("/signin", [("csrf", attacker.csrf(theirs.body)), ("login", "cole@corp.test"),
                                                           ("password", "password of cole@corp.test")])
            #expect(forged.status == 403 && forged.body.contains("stale or not from this site"))
            #expect(victim.cookies[WebManager.cookie] == nil)
            // With the victim's own sign-in cookie but the attacker's token: refused too.
            _ = try await victim.get("/signin")
            let mixed = try await victim.post("/signin", [("csrf", attacker.csrf(theirs.body)), ("login", "cole@corp.test"),
                                                          ("password", "password of cole@corp.test")])
            #expect(mixed.status == 403 && victim.cookies[WebManager.cookie] == nil)
            let sessions = try await plane.store.read { db in try await Int.fetchOne(db, sql: "SELECT count(*) FROM apiToken WHERE kind = 'session'") }
            #expect(sessions == 0)
            let cookie = try #require(theirs.headers[values: .setCookie].first)
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/signin"))
        }
    }

    @Test func anAdministratorSetsAMailboxsPermissionsAndAppliesTheGlobalConfiguration() async throws {
        let plane = try await Self.world()
        _ = try await plane.people.addUser(login: "nina@corp.test", displayName: "Nina", password: "password of nina@corp.test", actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "nina@corp.test", role: .collaborator, displayName: nil, password: nil, actor: .op)
        @Sendable func held(_ login: String) async throws -> MailboxPermission? {
            try await plane.people.access(mailbox: "alice@example.org", actor: .op).first { $0.login == login }?.permissions
        }
        try await Self.app(plane).test(.router) { client in
            let adam = Browser(client: client)
            try await adam.signIn("adam@corp.test")
            let home = try await adam.get("/")
            #expect(home.body.contains("/mailboxes/alice@example.org/access") && home.body.contains("/services/example/defaults"))
            let page = try await adam.get("/mailboxes/alice@example.org/access")
            #expect(page.status == 200 && page.body.contains("cole@corp.test") && page.body.contains("configure devices"))
            #expect(page.body.components(separatedBy: "name=\"permissions[]\"").count - 1 == 11 * 4, "eleven boxes for cole, ezra, adam, and the new access")
            #expect(page.body.contains("<option value=\"nina@corp.test\">"), "a member without access can be given it")
            let token = adam.csrf(page.body)

            let unconfirmed = try await adam.post("/mailboxes/alice@example.org/access",
                                                  [("csrf", token), ("login", "cole@corp.test"), ("permissions[]", "history"), ("do", "save")])
            #expect(unconfirmed.status == 403 && unconfirmed.body.contains("your own account password") && unconfirmed.body.contains("cole@corp.test"))
            #expect(try await held("cole@corp.test") == .devices, "unchanged")
            let saved = try await adam.post("/mailboxes/alice@example.org/access",
                [("csrf", token), ("login", "cole@corp.test"), ("permissions[]", "devices"), ("permissions[]", "history"), ("do", "save"),
                 ("password", "password of adam@corp.test")])
            #expect(saved.status == 200 && saved.body.contains("cole@corp.test: devices, history."))
            #expect(try await held("cole@corp.test") == [.devices, .history])
            let unknown = try await adam.post("/mailboxes/alice@example.org/access",
                [("csrf", token), ("login", "cole@corp.test"), ("permissions[]", "root"), ("do", "save"), ("password", "password of adam@corp.test")])
            #expect(unknown.status == 400 && unknown.body.contains("unknown permission"))

            let given = try await adam.post("/mailboxes/alice@example.org/access",
                                            [("csrf", token), ("login", "nina@corp.test"), ("do", "defaults")])
            #expect(given.status == 200 && given.body.contains("(the global configuration)"))
            #expect(try await held("nina@corp.test") == .devices, "the service's defaults (devices) without a password: a grant, not a change")

            let defaults = try await adam.get("/services/example/defaults")
            #expect(defaults.status == 200 && defaults.body.contains("alice@example.org"))
            let set = try await adam.post("/services/example/defaults",
                                          [("csrf", token), ("permissions[]", "history"), ("permissions[]", "folders"), ("do", "save")])
            #expect(set.status == 200 && set.body.contains("is now: history, folders"))
            #expect(try await plane.people.defaults(service: "example", actor: .op).permissions == [.history, .folders])
            #expect(try await held("cole@corp.test") == [.devices, .history], "saving the defaults changes no one's access")

            let applied = try await adam.post("/mailboxes/alice@example.org/access/defaults",
                                              [("csrf", token), ("password", "password of adam@corp.test")])
            #expect(applied.status == 200 && applied.body.contains("applied to 4 user(s)"))
            for login in ["cole@corp.test", "ezra@corp.test", "adam@corp.test", "nina@corp.test"] {
                #expect(try await held(login) == [.history, .folders], "\(login) has the global configuration")
            }
            let removed = try await adam.post("/mailboxes/alice@example.org/access",
                [("csrf", token), ("login", "nina@corp.test"), ("do", "remove"), ("password", "password of adam@corp.test")])
            #expect(removed.status == 200 && removed.body.contains("nina@corp.test no longer has access"))
            #expect(try await held("nina@corp.test") == nil)
            let history = try await plane.directory.history("alice@example.org", page: .first(50), since: nil, until: nil, kind: "access", actor: .op)
            #expect(history.contains { $0.action == "access.revoke" } && history.contains { $0.detail.contains("(defaults of example)") })

            let cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let coleHome = try await cole.get("/")
            #expect(!coleHome.body.contains("/access\"") && !coleHome.body.contains("/defaults\""), "no permissions or defaults links")
            #expect(try await cole.get("/mailboxes/alice@example.org/access").status == 403)
            #expect(try await cole.get("/services/example/defaults").status == 404)
            let sneaky = try await cole.post("/services/example/defaults", [("csrf", cole.csrf(coleHome.body)), ("permissions[]", "devices"), ("do", "save")])
            #expect(sneaky.status == 404)
            #expect(try await plane.people.defaults(service: "example", actor: .op).permissions == [.history, .folders])
        }
    }

    @Test func aliasesAndARedirectionAreManagedOnTheirPagesAndALoopIsShownNotMade() async throws {
        let plane = try await Self.world()
        _ = try await plane.directory.addMailbox("bob@example.org", actor: .op)
        _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: "cole@corp.test", permissions: [.devices, .aliases, .redirections],
                                password: nil, actor: .op)
        try await Self.app(plane).test(.router) { client in
            let cole = Browser(client: client)
            try await cole.signIn("cole@corp.test")
            let home = try await cole.get("/")
            #expect(home.body.contains("/mailboxes/alice@example.org/aliases") && home.body.contains("/mailboxes/alice@example.org/redirection"))
            let page = try await cole.get("/mailboxes/alice@example.org/aliases")
            #expect(page.status == 200 && page.body.contains("No alias yet") && page.body.contains("@example.org</option>"))
            let token = cole.csrf(page.body)
            let added = try await cole.post("/mailboxes/alice@example.org/aliases", [("csrf", token), ("alias", "Info"), ("domain", "example.org")])
            #expect(added.status == 200 && added.body.contains("info@example.org now delivers to alice@example.org"))
            #expect(plane.routingIndex.lookup(.virtual, "info@example.org") == "alice@example.org")
            let taken = try await cole.post("/mailboxes/alice@example.org/aliases", [("csrf", token), ("alias", "bob"), ("domain", "example.org")])
            #expect(taken.status == 409 && taken.body.contains("it is the mailbox bob@example.org") && taken.body.contains("info@example.org"),
                    "the page again, with why")

            let redirect = try await cole.get("/mailboxes/alice@example.org/redirection")
            #expect(redirect.status == 200 && redirect.body.contains("it is not redirected"))
            let set = try await cole.post("/mailboxes/alice@example.org/redirection",
                                          [("csrf", token), ("targets", "bob@example.org\r\nout@elsewhere.test"), ("keepCopy", "on")])
            #expect(set.status == 200 && set.body.contains("now goes to bob@example.org, out@elsewhere.test, with a copy kept"))
            #expect(plane.routingIndex.lookup(.virtual, "alice@example.org") == "alice@example.org,bob@example.org,out@elsewhere.test")
            _ = try await plane.routing.setRedirection(mailbox: "bob@example.org", targets: ["out@elsewhere.test"], keepCopy: false, actor: .op)
            _ = try await plane.people.setAccess(mailbox: "bob@example.org", login: "cole@corp.test", permissions: [.redirections], password: nil, actor: .op)
            let loop = try await cole.post("/mailboxes/bob@example.org/redirection", [("csrf", token), ("targets", "info@example.org")])
            #expect(loop.status == 409 && loop.body.contains("bob@example.org → info@example.org → alice@example.org → bob@example.org"))
            #expect(plane.routingIndex.lookup(.virtual, "bob@example.org") == "out@elsewhere.test", "nothing was changed")
            let cleared = try await cole.post("/mailboxes/alice@example.org/redirection/clear", [("csrf", token)])
            #expect(cleared.status == 200 && cleared.body.contains("lands in it again"))
            let removed = try await cole.post("/mailboxes/alice@example.org/aliases/remove", [("csrf", token), ("alias", "info@example.org")])
            #expect(removed.status == 200 && removed.body.contains("info@example.org was removed"))
            #expect(plane.routingIndex.lookup(.virtual, "info@example.org") == nil && plane.routingIndex.lookup(.virtual, "alice@example.org") == nil)
            let history = try await cole.get("/mailboxes/alice@example.org/history?kind=alias")
            #expect(history.status == 403, "cole has no history permission")
            let kinds = try await plane.directory.history("alice@example.org", page: .first(10), kind: "alias", actor: .op).map(\.action)
            #expect(kinds == ["alias.remove", "alias.add"])

            let ezra = Browser(client: client)
            try await ezra.signIn("ezra@corp.test")
            let theirs = try await ezra.get("/")
            #expect(!theirs.body.contains("/aliases\"") && !theirs.body.contains("/redirection\""))
            #expect(try await ezra.get("/mailboxes/alice@example.org/aliases").status == 403)
            let sneaky = try await ezra.post("/mailboxes/alice@example.org/aliases", [("csrf", ezra.csrf(theirs.body)), ("alias", "x")])
            #expect(sneaky.status == 403 && plane.routingIndex.lookup(.virtual, "x@example.org") == nil)
        }
    }
}
