import Foundation
@testable import PosternStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
import Testing

/// Every route of openapi.yaml × every kind of actor: allowed (2xx), forbidden (403), hidden (404)
/// or no identity (401), and a refused call leaves the database exactly as it was.
@Suite struct RouteRightsTests {
    /// The actors, in the order of each row's letters (the eighth, no identity, is always 401).
    static let actors = ["operator", "lena@corp.test", "adam@corp.test", "cole@corp.test", "carl@corp.test", "ezra@corp.test", "olga@other.test"]
    static let passwords = Dictionary(uniqueKeysWithValues: actors.dropFirst().map { ($0, "password of \($0)") })
    nonisolated(unsafe) static let hashes: [String: String] = passwords.mapValues { try! AccountPassword.hash($0) }

    /// Example Ltd: lena legal representative, adam administrator, cole collaborator with "devices"
    /// on alice@example.org, carl collaborator with no permission there, ezra external with
    /// "history" there; Other Ltd: olga administrator. A device "Phone" on alice, an empty
    /// organization and an empty mail service; alice's alias sales@ and her redirection.
    struct World {
        let plane: Planes
        let keyPath: String
        var actors: [String: Actor] = ["operator": .op]

        init() async throws {
            // doveadm itself, and Dovecot running the scripts: scripts/e2e/sieve_tests.py
            let scripts = NSTemporaryDirectory() + "postern-rights-\(UUID().uuidString.prefix(8))/%d/%n/postern.sieve"
            // A doveadm that succeeds and lists INBOX and Work.
            plane = try await makePlane(folderCommand: ["/bin/sh", "-c", #"test "$2" = list && printf 'INBOX\nWork\n'; exit 0"#, "doveadm"], sieve: SieveWriter(settings: SieveSettings(scriptPath: scripts)))
            keyPath = NSTemporaryDirectory() + "postern-key-\(UUID().uuidString)"
            FileManager.default.createFile(atPath: keyPath, contents: Data(repeating: 7, count: 32), attributes: [.posixPermissions: 0o600])
            _ = try await plane.directory.addOrganization("Other Ltd", actor: .op)
            _ = try await plane.directory.addOrganization("Empty Ltd", actor: .op)
            _ = try await plane.directory.addMailService(name: "other", organization: "Other Ltd", domains: ["other.test"], actor: .op)
            _ = try await plane.directory.addMailService(name: "spare", organization: "Example Ltd", domains: ["spare.test"], actor: .op)
            for address in ["alice@example.org", "bob@example.org", "zed@other.test"] { _ = try await plane.directory.addMailbox(address, actor: .op) }
            _ = try await plane.devices.addDevice("alice@example.org", name: "Phone", actor: .op)
            _ = try await plane.imports.importPasswdFile("alice@example.org:{PLAIN}generic password\n", actor: .op)
            let roles: [(String, String, Role)] = [("lena@corp.test", "Example Ltd", .legalRepresentative), ("adam@corp.test", "Example Ltd", .administrator),
                                                  ("cole@corp.test", "Example Ltd", .collaborator), ("carl@corp.test", "Example Ltd", .collaborator),
                                                  ("ezra@corp.test", "Example Ltd", .external), ("olga@other.test", "Other Ltd", .administrator)]
            for (login, org, role) in roles {
                let user = try await plane.store.write { db in try await db.createUser(login: login, displayName: "", passwordHash: RouteRightsTests.hashes[login]) }
                _ = try await plane.people.setMember(organization: org, login: login, role: role, displayName: nil, password: nil, actor: .op)
                actors[login] = .user(Actor.UserRef(id: user.id, login: login), via: .socket(uid: 2000 + UInt32(user.id)))
            }
            for (login, permissions) in [("cole@corp.test", MailboxPermission.devices), ("carl@corp.test", []), ("ezra@corp.test", .history)] {
                _ = try await plane.people.setAccess(mailbox: "alice@example.org", login: login, permissions: permissions, password: nil, actor: .op)
            }
            _ = try await plane.people.createToken(name: "cole's script", days: 30, login: "cole@corp.test", actor: .op)  // token 1
            _ = try await plane.people.grantService("spare", login: "cole@corp.test", actor: .op)
            _ = try await plane.routing.addAlias(mailbox: "alice@example.org", alias: "sales", actor: .op)
            _ = try await plane.routing.setRedirection(mailbox: "alice@example.org", targets: ["ext@elsewhere.test"], keepCopy: true, actor: .op)
        }

        func snapshot() async throws -> [String] {
            try await plane.store.read { db in
                try await String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
                    .mapInOrder { table in try await StoreRow.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { "\(table): \($0)" } }.flatMap { $0 }
            }
        }
    }

    /// Says who asks from a header only tests send.
    struct HeaderActor: ControlAuthenticator {
        let actors: [String: Actor]
        func actor(for request: Request, channel: any Channel) async throws -> Actor {
            guard let name = request.headers[HTTPField.Name("X-Test-Actor")!], let actor = actors[name] else {
                throw PosternError(.unknownCaller, "no identity")
            }
            return actor
        }
    }

    struct Row: Sendable {
        let method: HTTPRequest.Method
        let spec: String
        let path: String
        /// A: allowed, F: 403, H: 404, B: 400, for the seven actors in order.
        let expected: String
        /// What a request with no identity gets: U (401), or A for signing in.
        var anonymous: Character = "U"
        /// The JSON body for an actor (their own password where a change needs it).
        let body: @Sendable (String) -> String?

        init(_ method: HTTPRequest.Method, _ spec: String, _ path: String, _ expected: String,
             body: @escaping @Sendable (String) -> String? = { _ in nil }) {
            self.method = method
            self.spec = spec
            self.path = path
            self.expected = expected
            self.body = body
        }

        init(_ method: HTTPRequest.Method, _ spec: String, _ expected: String, anonymous: Character = "U",
             body: @escaping @Sendable (String) -> String? = { _ in nil }) {
            self.init(method, spec, spec, expected, body: body)
            self.anonymous = anonymous
        }
    }

    static func own(_ actor: String) -> String { passwords[actor].map { #""password":"\#($0)""# } ?? #""password":null"# }

    static let rows: [Row] = [
        Row(.get, "/v1/health", "AAAAAAA"),
        Row(.get, "/metrics", "AFFFFFF"),
        Row(.get, "/v1/organizations", "AAAAAAA"),
        Row(.post, "/v1/organizations", "AFFFFFF") { _ in #"{"name":"New Ltd"}"# },
        Row(.delete, "/v1/organizations/{organization}", "/v1/organizations/Empty%20Ltd", "AFFFFFF"),
        Row(.get, "/v1/services", "AAAAAAA"),
        Row(.post, "/v1/services", "AAAFFFH") { _ in #"{"name":"new","organization":"Example Ltd","domains":["new.test"]}"# },
        Row(.delete, "/v1/services/{service}", "/v1/services/spare", "AAAFHHH"),  // cole was given spare: he sees it
        Row(.get, "/v1/mailboxes", "AAAAAAA"),
        Row(.post, "/v1/mailboxes", "AAAHHHH") { _ in #"{"address":"new@example.org"}"# },
        Row(.get, "/v1/mailboxes/{address}", "/v1/mailboxes/alice@example.org", "AAAAAAH"),
        Row(.delete, "/v1/mailboxes/{address}", "/v1/mailboxes/alice@example.org", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/removal", "/v1/mailboxes/alice@example.org/removal", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/history", "/v1/mailboxes/alice@example.org/history", "AAAFFAH"),
        Row(.get, "/v1/organizations/{organization}/history", "/v1/organizations/Example%20Ltd/history?kind=member&since=2020-01-01", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/failures", "/v1/mailboxes/alice@example.org/failures", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/devices", "/v1/mailboxes/alice@example.org/devices", "AAAAFFH"),
        Row(.post, "/v1/mailboxes/{address}/devices", "/v1/mailboxes/alice@example.org/devices", "AAAAFFH") { _ in #"{"name":"Laptop"}"# },
        Row(.post, "/v1/mailboxes/{address}/devices/{device}/rotate", "/v1/mailboxes/alice@example.org/devices/Phone/rotate", "AAAAFFH"),
        Row(.put, "/v1/mailboxes/{address}/devices/{device}/scopes", "/v1/mailboxes/alice@example.org/devices/Phone/scopes", "AAAAFFH") { _ in
            #"{"scopes":["imap"]}"# },
        Row(.put, "/v1/mailboxes/{address}/devices/{device}/expiry", "/v1/mailboxes/alice@example.org/devices/Phone/expiry", "AAAAFFH") { _ in
            #"{"expiresAt":"2099-01-01T00:00:00Z"}"# },
        Row(.delete, "/v1/mailboxes/{address}/devices/{device}", "/v1/mailboxes/alice@example.org/devices/Phone", "AAAAFFH"),
        Row(.post, "/v1/mailboxes/{address}/disconnect-all", "/v1/mailboxes/alice@example.org/disconnect-all", "AAAAFFH") { _ in #"{"confirm":true}"# },
        Row(.get, "/v1/policies/generic/{level}/{name}", "/v1/policies/generic/mailbox/alice@example.org", "AAAFFFH"),
        Row(.put, "/v1/policies/generic/{level}/{name}", "/v1/policies/generic/organization/Example%20Ltd", "AAAFFFH") { _ in #"{"refuse":["imap"]}"# },
        Row(.delete, "/v1/policies/generic/{level}/{name}", "/v1/policies/generic/service/example", "AAAHHHH"),
        Row(.get, "/v1/reports/generic", "AFFFFFF"),
        Row(.post, "/v1/backup", "AFFFFFF") { _ in #"{"directory":"\#(NSTemporaryDirectory())postern-backup-\#(UUID().uuidString)"}"# },
        Row(.post, "/v1/import/passwd-file", "AFFFFFF"),
        Row(.get, "/v1/tokens", "AAAAAAA"),
        Row(.post, "/v1/tokens", "AAAAAAA") { $0 == "operator" ? #"{"name":"ci","login":"cole@corp.test"}"# : #"{"name":"ci","days":7}"# },
        Row(.delete, "/v1/tokens/{id}", "/v1/tokens/1", "AHHAHHH"),
        Row(.post, "/v1/session", "AAAAAAA", anonymous: "A") { _ in #"{"login":"cole@corp.test","password":"password of cole@corp.test"}"# },
        Row(.delete, "/v1/session", "BBBBBBB"),
        Row(.get, "/v1/users", "AFFFFFF"),
        Row(.post, "/v1/users", "AFFFFFF") { _ in #"{"login":"new@corp.test"}"# },
        Row(.put, "/v1/users/{login}/password", "/v1/users/cole@corp.test/password", "AFFAFFF") { _ in
            #"{"password":"a new long password","current":"password of cole@corp.test"}"# },
        Row(.get, "/v1/organizations/{organization}/members", "/v1/organizations/Example%20Ltd/members", "AAAAAFH"),
        Row(.put, "/v1/organizations/{organization}/members/{login}", "/v1/organizations/Example%20Ltd/members/carl@corp.test", "AAAFFFH") {
            #"{"role":"external",\#(own($0))}"# },
        Row(.put, "/v1/organizations/{organization}/members/{login}", "/v1/organizations/Example%20Ltd/members/carl@corp.test", "AAFFFFH") {
            #"{"role":"legal-representative",\#(own($0))}"# },  // only a legal representative appoints one
        Row(.get, "/v1/organizations/{organization}/members/{login}/removal", "/v1/organizations/Example%20Ltd/members/carl@corp.test/removal", "AAAFFFH"),
        Row(.delete, "/v1/organizations/{organization}/members/{login}", "/v1/organizations/Example%20Ltd/members/carl@corp.test", "AAAFFFH") {
            #"{"confirm":"carl@corp.test",\#(own($0))}"# },
        Row(.get, "/v1/mailboxes/{address}/access", "/v1/mailboxes/alice@example.org/access", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/access/{login}", "/v1/mailboxes/alice@example.org/access/carl@corp.test", "AAAFFFH") {
            #"{"permissions":["history"],\#(own($0))}"# },
        Row(.delete, "/v1/mailboxes/{address}/access/{login}", "/v1/mailboxes/alice@example.org/access/carl@corp.test", "AAAFFFH") { #"{\#(own($0))}"# },
        Row(.get, "/v1/services/{service}/grants", "/v1/services/example/grants", "AAAHHHH"),
        Row(.put, "/v1/services/{service}/grants/{login}", "/v1/services/example/grants/carl@corp.test", "AAAHHHH"),
        Row(.delete, "/v1/services/{service}/grants/{login}", "/v1/services/spare/grants/cole@corp.test", "AAAFHHH"),
        Row(.get, "/v1/services/{service}/defaults", "/v1/services/example/defaults", "AAAHHHH"),
        Row(.put, "/v1/services/{service}/defaults", "/v1/services/example/defaults", "AAAHHHH") { _ in #"{"permissions":["devices","history"]}"# },
        Row(.post, "/v1/services/{service}/defaults/apply", "/v1/services/example/defaults/apply", "AAAHHHH") {
            #"{"mailboxes":["alice@example.org"],\#(own($0))}"# },
        Row(.get, "/v1/mailboxes/{address}/aliases", "/v1/mailboxes/alice@example.org/aliases", "AAAFFFH"),
        Row(.post, "/v1/mailboxes/{address}/aliases", "/v1/mailboxes/alice@example.org/aliases", "AAAFFFH") { _ in #"{"alias":"info"}"# },
        Row(.delete, "/v1/mailboxes/{address}/aliases/{alias}", "/v1/mailboxes/alice@example.org/aliases/sales@example.org", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/redirection", "/v1/mailboxes/alice@example.org/redirection", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/redirection", "/v1/mailboxes/alice@example.org/redirection", "AAAFFFH") { _ in
            #"{"targets":["bob@example.org"],"keepCopy":false}"# },
        Row(.delete, "/v1/mailboxes/{address}/redirection", "/v1/mailboxes/alice@example.org/redirection", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/rules", "/v1/mailboxes/alice@example.org/rules", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/rules", "/v1/mailboxes/alice@example.org/rules", "AAAFFFH") { _ in
            #"{"rules":[{"name":"News","conditions":[{"field":"subject","value":"news"}],"actions":[{"kind":"fileinto","folder":"News"}]}]}"# },
        Row(.get, "/v1/mailboxes/{address}/spam-filter", "/v1/mailboxes/alice@example.org/spam-filter", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/spam-filter", "/v1/mailboxes/alice@example.org/spam-filter", "AAAFFFH") { _ in #"{"enabled":true}"# },
        Row(.get, "/v1/mailboxes/{address}/responder", "/v1/mailboxes/alice@example.org/responder", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/responder", "/v1/mailboxes/alice@example.org/responder", "AAAFFFH") { _ in
            #"{"enabled":true,"subject":"Away","text":"Back on Monday"}"# },
        Row(.get, "/v1/mailboxes/{address}/senders", "/v1/mailboxes/alice@example.org/senders", "AAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/senders", "/v1/mailboxes/alice@example.org/senders", "AAAFFFH") { _ in #"{"blocked":["spam.test"]}"# },
        Row(.get, "/v1/mailboxes/{address}/folders", "/v1/mailboxes/alice@example.org/folders", "AAAFFFH"),
        Row(.post, "/v1/mailboxes/{address}/folders", "/v1/mailboxes/alice@example.org/folders", "AAAFFFH") { _ in #"{"name":"Projects"}"# },
        Row(.put, "/v1/mailboxes/{address}/folders/{folder}", "/v1/mailboxes/alice@example.org/folders/Work", "AAAFFFH") { _ in #"{"name":"Jobs"}"# },
        Row(.delete, "/v1/mailboxes/{address}/folders/{folder}", "/v1/mailboxes/alice@example.org/folders/Work", "AAAFFFH"),
        Row(.get, "/v1/mailboxes/{address}/signature", "/v1/mailboxes/alice@example.org/signature", "BAAFFFH"),
        Row(.put, "/v1/mailboxes/{address}/signature", "/v1/mailboxes/alice@example.org/signature", "BAAFFFH") { _ in
            #"{"text":"-- \nAlice","replyTo":"sales@example.org"}"# },
        Row(.post, "/v1/sieve/rewrite", "AFFFFFF"),
        Row(.get, "/v1/organizations/{organization}/redirection-scope", "/v1/organizations/Example%20Ltd/redirection-scope", "AAAAAFH"),
        Row(.put, "/v1/organizations/{organization}/redirection-scope", "/v1/organizations/Example%20Ltd/redirection-scope", "AAAFFFH") { _ in
            #"{"scope":"own-domains"}"# },
    ]

    @Test func everyDocumentedRouteHasARow() {
        let covered = Set(Self.rows.map { "\($0.method.rawValue) \($0.spec)" })
        let missing = ControlAPITests.documentedRoutes.subtracting(covered)
        #expect(missing.isEmpty, "routes with no row in the rights table: \(missing.sorted())")
    }

    static func call(_ world: World, _ row: Row, as actor: String?) async throws -> (status: Int, body: String) {
        let router = ControlAPI.router(world.plane, serverKeyPath: world.keyPath, authenticator: HeaderActor(actors: world.actors))
        var headers: HTTPFields = [:]
        if let actor { headers[HTTPField.Name("X-Test-Actor")!] = actor }
        var body: ByteBuffer?
        if row.spec == "/v1/import/passwd-file" {
            headers[.contentType] = "text/plain"
            body = ByteBuffer(string: "new@example.org:{PLAIN}pw\n")
        } else if let json = row.body(actor ?? "") {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        }
        let (sentHeaders, sentBody) = (headers, body)
        return try await Application(router: router).test(.router) { client in
            try await client.execute(uri: row.path, method: row.method, headers: sentHeaders, body: sentBody) { response in
                (Int(response.status.code), String(buffer: response.body))
            }
        }
    }

    @Test(arguments: rows.indices)
    func eachActorGetsWhatTheRuleSetSays(row index: Int) async throws {
        let row = Self.rows[index]
        #expect(row.expected.count == Self.actors.count)
        let shared = try await World()
        let before = try await shared.snapshot()
        // The refused first, on one database that must not change; each allowed one on a fresh one.
        for (actor, letter) in zip(Self.actors, row.expected) where letter != "A" {
            let (status, body) = try await Self.call(shared, row, as: actor)
            #expect(status == ["F": 403, "H": 404, "B": 400][letter], "\(row.method) \(row.path) as \(actor): \(status) \(body)")
            #expect(ControlAPITests.documentedStatuses(row.method.rawValue, row.spec).contains(status), "\(row.spec) does not document \(status)")
            #expect(try await shared.snapshot() == before, "\(row.method) \(row.path) as \(actor) was refused but changed the database")
        }
        if row.anonymous == "U" {
            let (status, _) = try await Self.call(shared, row, as: nil)
            #expect(status == 401, "\(row.method) \(row.path) with no identity: \(status)")
            #expect(try await shared.snapshot() == before)
        } else {
            let (status, body) = try await Self.call(try World(), row, as: nil)
            #expect((200..<300).contains(status), "\(row.method) \(row.path) with no identity: \(status) \(body)")
        }
        for (actor, letter) in zip(Self.actors, row.expected) where letter == "A" {
            let (status, body) = try await Self.call(try World(), row, as: actor)
            #expect((200..<300).contains(status), "\(row.method) \(row.path) as \(actor): \(status) \(body)")
        }
    }
}
