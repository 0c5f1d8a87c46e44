import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PosternAuth
import PosternCore
@testable import PosternControl
@testable import PosternServer
import Testing

/// Every page and form of the web manager × every kind of signed-in user, on the world of
/// RouteRightsTests: allowed (200 or 303), forbidden (403) or hidden (404); signed out, to the
/// sign-in page. A refused form leaves the database exactly as it was.
@Suite struct WebRightsTests {
    /// The columns of each row: RouteRightsTests' users (the web manager has no operator).
    static let users = Array(RouteRightsTests.actors.dropFirst())

    struct Row: Sendable {
        let method: HTTPRequest.Method
        let route: String
        let path: String
        /// A: allowed, F: 403, H: 404, for the six users in order.
        let expected: String
        /// Signed out: S (303 to /signin, nothing changed) or A (a public page).
        let signedOut: Character
        /// The form, for a user (their own password where a change needs it).
        let form: @Sendable (String) -> [(String, String)]

        init(_ method: HTTPRequest.Method, _ route: String, _ path: String, _ expected: String, signedOut: Character = "S",
             form: @escaping @Sendable (String) -> [(String, String)] = { _ in [] }) {
            (self.method, self.route, self.path, self.expected, self.signedOut, self.form) = (method, route, path, expected, signedOut, form)
        }
    }

    static func own(_ user: String) -> (String, String) { ("password", "password of \(user)") }

    static let rows: [Row] = [
        Row(.get, "/.well-known/autoconfig/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.org",
            "AAAAAA", signedOut: "A"),
        Row(.get, "/mail/config-v1.1.xml", "/mail/config-v1.1.xml?emailaddress=alice@example.org", "AAAAAA", signedOut: "A"),
        Row(.get, "/signin", "/signin", "AAAAAA", signedOut: "A"),
        Row(.post, "/signin", "/signin", "AAAAAA", signedOut: "A"),
        Row(.post, "/signout", "/signout", "AAAAAA"),
        Row(.get, "/", "/", "AAAAAA"),
        Row(.get, "/mailboxes/:address/devices", "/mailboxes/alice@example.org/devices", "AAAFFH"),
        Row(.post, "/mailboxes/:address/devices", "/mailboxes/alice@example.org/devices", "AAAFFH") { _ in [("name", "Laptop")] },
        Row(.post, "/mailboxes/:address/devices/:id/rotate", "/mailboxes/alice@example.org/devices/{phone}/rotate", "AAAFFH"),
        Row(.post, "/mailboxes/:address/devices/:id/disconnect", "/mailboxes/alice@example.org/devices/{phone}/disconnect", "AAAFFH"),
        Row(.get, "/mailboxes/:address/disconnect-all", "/mailboxes/alice@example.org/disconnect-all", "AAAFFH"),
        Row(.post, "/mailboxes/:address/disconnect-all", "/mailboxes/alice@example.org/disconnect-all", "AAAFFH"),
        Row(.get, "/mailboxes/:address/history", "/mailboxes/alice@example.org/history?kind=device", "AAFFAH"),
        Row(.get, "/mailboxes/:address/aliases", "/mailboxes/alice@example.org/aliases", "AAFFFH"),
        Row(.post, "/mailboxes/:address/aliases", "/mailboxes/alice@example.org/aliases", "AAFFFH") { _ in [("alias", "info"), ("domain", "example.org")] },
        Row(.post, "/mailboxes/:address/aliases/remove", "/mailboxes/alice@example.org/aliases/remove", "AAFFFH") { _ in [("alias", "sales@example.org")] },
        Row(.get, "/mailboxes/:address/redirection", "/mailboxes/alice@example.org/redirection", "AAFFFH"),
        Row(.post, "/mailboxes/:address/redirection", "/mailboxes/alice@example.org/redirection", "AAFFFH") { _ in [("targets", "bob@example.org")] },
        Row(.post, "/mailboxes/:address/redirection/clear", "/mailboxes/alice@example.org/redirection/clear", "AAFFFH"),
        Row(.get, "/mailboxes/:address/rules", "/mailboxes/alice@example.org/rules", "AAFFFH"),
        Row(.post, "/mailboxes/:address/rules", "/mailboxes/alice@example.org/rules", "AAFFFH") { _ in
            [("do", "add"), ("name", "News"), ("field", "subject"), ("test", "contains"), ("value", "news"), ("action", "fileinto"), ("target", "News")] },
        Row(.get, "/mailboxes/:address/spam", "/mailboxes/alice@example.org/spam", "AAFFFH"),
        Row(.post, "/mailboxes/:address/spam", "/mailboxes/alice@example.org/spam", "AAFFFH") { _ in
            [("enabled", "on"), ("threshold", "5"), ("folder", "Junk")] },
        Row(.get, "/mailboxes/:address/responder", "/mailboxes/alice@example.org/responder", "AAFFFH"),
        Row(.post, "/mailboxes/:address/responder", "/mailboxes/alice@example.org/responder", "AAFFFH") { _ in
            [("enabled", "on"), ("subject", "Away"), ("text", "Back soon"), ("days", "7")] },
        Row(.get, "/mailboxes/:address/senders", "/mailboxes/alice@example.org/senders", "AAFFFH"),
        Row(.post, "/mailboxes/:address/senders", "/mailboxes/alice@example.org/senders", "AAFFFH") { _ in
            [("blocked", "spam.test"), ("approved", ""), ("blockedAction", "junk")] },
        Row(.get, "/mailboxes/:address/folders", "/mailboxes/alice@example.org/folders", "AAFFFH"),
        Row(.post, "/mailboxes/:address/folders", "/mailboxes/alice@example.org/folders", "AAFFFH") { _ in [("do", "create"), ("name", "Projects")] },
        Row(.get, "/mailboxes/:address/signature", "/mailboxes/alice@example.org/signature", "AAFFFH"),
        Row(.post, "/mailboxes/:address/signature", "/mailboxes/alice@example.org/signature", "AAFFFH") { _ in
            [("text", "-- Lena"), ("replyTo", "sales@example.org")] },
        Row(.get, "/mailboxes/:address/access", "/mailboxes/alice@example.org/access", "AAFFFH"),
        Row(.post, "/mailboxes/:address/access", "/mailboxes/alice@example.org/access", "AAFFFH") {
            [("login", "carl@corp.test"), ("permissions[]", "history"), ("do", "save"), own($0)] },
        Row(.post, "/mailboxes/:address/access/defaults", "/mailboxes/alice@example.org/access/defaults", "AAFFFH") { [own($0)] },
        Row(.get, "/services/:service/defaults", "/services/example/defaults", "AAHHHH"),
        Row(.post, "/services/:service/defaults", "/services/example/defaults", "AAHHHH") {
            _ in [("permissions[]", "devices"), ("permissions[]", "history"), ("do", "save")] },
        Row(.get, "/organizations/:organization/members", "/organizations/Example%20Ltd/members", "AAAAFH"),
        Row(.post, "/organizations/:organization/members/:login/role", "/organizations/Example%20Ltd/members/carl@corp.test/role", "AAFFFH") {
            [("role", "external"), own($0)] },
        Row(.get, "/organizations/:organization/members/:login/remove", "/organizations/Example%20Ltd/members/carl@corp.test/remove", "AAFFFH"),
        Row(.post, "/organizations/:organization/members/:login/remove", "/organizations/Example%20Ltd/members/carl@corp.test/remove", "AAFFFH") {
            [("confirm", "carl@corp.test"), own($0)] },
    ]

    @Test func everyPageAndFormHasARow() {
        let covered = Set(Self.rows.map { "\($0.method.rawValue) \($0.route)" })
        let routes = Set(WebManager.routes.map { "\($0.method.rawValue) \($0.path)" })
        #expect(routes.subtracting(covered).isEmpty, "web routes with no row in the rights table: \(routes.subtracting(covered).sorted())")
        #expect(covered.subtracting(routes).isEmpty, "rows for routes that do not exist: \(covered.subtracting(routes).sorted())")
    }

    /// A world with a session for each user, each used once (so using it again changes nothing).
    struct Signed {
        let world: RouteRightsTests.World
        var sessions: [String: String] = [:]
        let phone: Int64

        init() async throws {
            world = try await RouteRightsTests.World()
            for user in WebRightsTests.users {
                let secret = APIToken.secret(.session)
                let digest = world.plane.people.tokenDigest(secret)
                try await world.plane.store.write { db in
                    _ = try await db.insertToken(userID: try db.requireUser(login: user).id, kind: .session, name: "session", digest: digest,
                                           expiresAt: Date() + 3600)
                }
                sessions[user] = secret
            }
            phone = try #require(try await world.plane.devices.devices("alice@example.org", actor: .op).first { $0.name == "Phone" }).id
            for user in WebRightsTests.users { _ = try await call(.get, "/", as: user, form: []) }
        }

        func call(_ method: HTTPRequest.Method, _ path: String, as user: String?, form: [(String, String)])
            async throws -> (status: Int, location: String?, body: String) {
            let plane = world.plane
            var settings = WebSettings()
            settings.directory = WebManagerTests.directory
            let router = try await WebManager.router(plane, settings: settings, signIns: Throttle())
            let path = path.replacingOccurrences(of: "{phone}", with: "\(phone)")
            var headers: HTTPFields = [:]
            var fields = form
            if let user, let secret = sessions[user] {
                headers[.cookie] = "\(WebManager.cookie)=\(secret)"
                fields.append(("csrf", CSRF.token(session: secret, key: plane.serverKey.key)))
            }
            let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
            if method == .post { headers[.contentType] = "application/x-www-form-urlencoded" }
            let sent = headers
            return try await Application(router: router).test(.router) { client in
                try await client.execute(uri: path, method: method, headers: sent, body: method == .post ? ByteBuffer(string: body) : nil) {
                    (Int($0.status.code), $0.headers[.location], String(buffer: $0.body))
                }
            }
        }

        /// Signing in goes through the sign-in form, its cookie and its token.
        func signIn(as login: String) async throws -> (status: Int, location: String?) {
            var settings = WebSettings()
            settings.directory = WebManagerTests.directory
            let router = try await WebManager.router(world.plane, settings: settings, signIns: Throttle())
            return try await Application(router: router).test(.router) { client in
                let form = try await client.execute(uri: "/signin", method: .get) { ($0.headers[.setCookie], String(buffer: $0.body)) }
                let cookie = String(try #require(form.0).split(separator: ";")[0])
                let token = WebManagerTests.Browser.token(in: form.1)
                let body = "csrf=\(token)&login=\(Self.encode(login))&password=\(Self.encode("password of \(login)"))"
                return try await client.execute(uri: "/signin", method: .post,
                                                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: body)) { (Int($0.status.code), $0.headers[.location]) }
            }
        }

        static func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
    }

    static func check(_ row: Row, _ world: Signed, as user: String?) async throws -> (status: Int, location: String?, body: String) {
        if row.method == .post && row.route == "/signin" {
            let (status, location) = try await world.signIn(as: user ?? "cole@corp.test")
            return (status, location, "")
        }
        return try await world.call(row.method, row.path, as: user, form: user.map(row.form) ?? [])
    }

    @Test(arguments: rows.indices)
    func eachUserGetsWhatTheRuleSetSays(row index: Int) async throws {
        let row = Self.rows[index]
        #expect(row.expected.count == Self.users.count)
        let shared = try await Signed()
        let before = try await shared.world.snapshot()
        for (user, letter) in zip(Self.users, row.expected) where letter != "A" {
            let answer = try await Self.check(row, shared, as: user)
            #expect(answer.status == ["F": 403, "H": 404][letter], "\(row.method) \(row.path) as \(user): \(answer.status) \(answer.body.prefix(300))")
            #expect(try await shared.world.snapshot() == before, "\(row.method) \(row.path) as \(user) was refused but changed the database")
        }
        if row.signedOut == "S" {
            let answer = try await Self.check(row, shared, as: nil)
            #expect(answer.status == 303 && answer.location == "/signin", "\(row.method) \(row.path) signed out: \(answer.status)")
            #expect(try await shared.world.snapshot() == before, "\(row.method) \(row.path) signed out changed the database")
        } else {
            let answer = try await Self.check(row, try await Signed(), as: nil)
            #expect(answer.status == 200 || answer.status == 303 && answer.location != "/signin", "\(row.method) \(row.path) signed out: \(answer.status)")
        }
        for (user, letter) in zip(Self.users, row.expected) where letter == "A" {
            let answer = try await Self.check(row, try await Signed(), as: user)
            #expect(answer.status == 200 || answer.status == 303, "\(row.method) \(row.path) as \(user): \(answer.status) \(answer.body.prefix(300))")
            if row.method == .post && answer.status == 200 {
                #expect(!answer.body.contains("class=\"problem\""), "\(row.method) \(row.path) as \(user) answered 200 with a problem")
            }
        }
    }
}
