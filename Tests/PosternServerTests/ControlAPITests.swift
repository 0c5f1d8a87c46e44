import Foundation
import PosternCore
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import PosternControl
@testable import PosternServer
import PosternAuth
import Testing
import Yams

/// The control API through Hummingbird's router, checked against openapi.yaml.
@Suite struct ControlAPITests {
    nonisolated(unsafe) static let spec: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi.yaml")
        let text = try! String(contentsOf: url, encoding: .utf8)
        return try! Yams.load(yaml: text) as! [String: Any]
    }()

    /// "METHOD /path/{param}" for every operation in openapi.yaml.
    static var documentedRoutes: Set<String> {
        let paths = spec["paths"] as! [String: Any]
        var out = Set<String>()
        for (path, item) in paths {
            for method in (item as! [String: Any]).keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                out.insert("\(method.uppercased()) \(path)")
            }
        }
        return out
    }

    /// The statuses openapi.yaml documents for one operation.
    static func documentedStatuses(_ method: String, _ path: String) -> Set<Int> {
        let item = (spec["paths"] as! [String: Any])[path] as! [String: Any]
        let op = item[method.lowercased()] as! [String: Any]
        return Set((op["responses"] as! [String: Any]).keys.compactMap { Int($0) })
    }

    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources")

    /// The Swift files under Sources/`folder`, with their text.
    static func swiftFiles(under folder: String, skipping skipped: Set<String> = []) throws -> [(path: String, text: String)] {
        let root = sources.appendingPathComponent(folder)
        let paths = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        return try paths.filter { path in !skipped.contains { path.hasPrefix($0) } }.sorted().map { path in
            (path, try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))
        }
    }

    static var documentedErrorCodes: Set<String> {
        let schemas = (spec["components"] as! [String: Any])["schemas"] as! [String: Any]
        return Set((schemas["ErrorCode"] as! [String: Any])["enum"] as! [String])
    }

    /// `PosternError.Code` and openapi.yaml's ErrorCode are the same list, both ways; and no
    /// module spells a code as a string of its own beside the enum.
    @Test func everyErrorCodeIsTypedAndDocumented() throws {
        let typed = Set(PosternError.Code.allCases.map(\.rawValue))
        #expect(typed.subtracting(Self.documentedErrorCodes).sorted() == [], "codes PosternError.Code has that openapi.yaml's ErrorCode lacks")
        #expect(Self.documentedErrorCodes.subtracting(typed).sorted() == [], "codes openapi.yaml's ErrorCode lists that PosternError.Code lacks")
        var untyped: [String] = []
        for folder in ["PosternCore", "PosternAuth", "PosternStore", "PosternControl", "PosternServer", "PosternProtocols"] {
            for (path, text) in try Self.swiftFiles(under: folder) {
                for match in text.matches(of: /code: "([a-z_]+)"/) { untyped.append("\(path): \(match.output.1)") }
            }
        }
        #expect(untyped == [], "a code spelled as a string, not a PosternError.Code case")
        #expect(PosternError(.signInThrottled, "").kind.httpStatus == 429 && PosternError(.mailboxNotFound, "").kind.httpStatus == 404)
    }

    /// Every route whose handler reads a request body documents one (a DELETE that takes a
    /// confirmation included).
    @Test func everyRouteThatReadsABodyDocumentsIt() throws {
        var checked = 0
        for (path, text) in try Self.swiftFiles(under: "PosternServer/Routes") {
            // routes.on(.put, "/v1/…", body: X.self) / optionalBody:, or a raw routes.post("/v1/…") that reads request.decode or request.body.
            let routes = Array(text.matches(of: /routes\.(?:on\(\.(get|post|put|patch|delete), |(get|post|put|patch|delete)\()"([^"]+)"/))
            for (i, route) in routes.enumerated() {
                let end = i + 1 < routes.count ? routes[i + 1].range.lowerBound : text.endIndex
                let handler = text[route.range.upperBound..<end]
                let declared = handler.hasPrefix(", body:") || handler.hasPrefix(", optionalBody:")
                guard declared || handler.contains("request.decode(") || handler.contains("request.body") else { continue }
                let method = String(route.output.1 ?? route.output.2 ?? ""), uri = String(route.output.3)
                    .replacingOccurrences(of: #":([a-z]+)"#, with: "{$1}", options: .regularExpression)
                let item = (Self.spec["paths"] as! [String: Any])[uri] as? [String: Any]
                let operation = item?[method] as? [String: Any]
                #expect(operation?["requestBody"] != nil, "\(method.uppercased()) \(uri) (\(path)) reads a body that openapi.yaml does not describe")
                checked += 1
            }
        }
        #expect(checked > 30, "the scan found the routes that read a body")
    }

    /// A throttled sign-in is 429 through the API, as the web manager answers it.
    @Test func aThrottledSignInIs429() async throws {
        let plane = try await makePlane()
        _ = try await plane.people.addUser(login: "tess@example.org", displayName: "", password: "the right password", actor: .op)
        var policy = ThrottlePolicy()
        policy.freeFailures = 1
        policy.firstDelay = .milliseconds(1)
        policy.maxDelay = .milliseconds(2)
        policy.refuseAfter = 2
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op, signIns: Throttle(policy: policy)))
        try await app.test(.router) { client in
            var answers: [(UInt, String)] = []
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/session", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: #"{"login":"tess@example.org","password":"a wrong guess"}"#)) { response in
                    answers.append((UInt(response.status.code), String(buffer: response.body)))
                }
            }
            #expect(answers.map(\.0) == [401, 401, 429], "\(answers)")
            #expect(answers.last?.1.contains(#""code":"sign_in_throttled""#) == true)
            #expect(ControlAPITests.documentedStatuses("POST", "/v1/session").contains(429))
        }
    }

    @Test func theRoutesAreExactlyThoseInOpenAPI() async throws {
        let router = try await ControlAPI.router(makePlane(), authenticator: FixedActor.op)
        let served = Set(router.routes.map { "\($0.method) \($0.path)" }
            .map { $0.replacingOccurrences(of: #":([a-z]+)"#, with: "{$1}", options: .regularExpression) })
        #expect(served == Self.documentedRoutes)
    }

    struct Call {
        let client: any TestClientProtocol

        /// Sends a request and checks its status is one openapi.yaml documents for that operation.
        func send(_ method: HTTPRequest.Method, _ uri: String, spec path: String, json: String? = nil, text: String? = nil,
                  expect status: Int) async throws -> [String: Any] {
            var headers: HTTPFields = [:]
            var body: ByteBuffer?
            if let json { headers[.contentType] = "application/json"; body = ByteBuffer(string: json) }
            if let text { headers[.contentType] = "text/plain"; body = ByteBuffer(string: text) }
            return try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
                #expect(Int(response.status.code) == status, "\(method) \(uri): \(String(buffer: response.body))")
                #expect(ControlAPITests.documentedStatuses(method.rawValue, path).contains(Int(response.status.code)),
                        "\(method) \(path) answered \(response.status.code), which openapi.yaml does not document")
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
                if status >= 400 {
                    let error = object["error"] as? [String: Any]
                    #expect(error?["code"] is String && error?["message"] is String, "error envelope of \(uri)")
                    let code = error?["code"] as? String ?? ""
                    #expect(ControlAPITests.documentedErrorCodes.contains(code), "\(method) \(path) answered code \(code), which openapi.yaml does not list")
                }
                return object
            }
        }
    }

    @Test func listsComeInKeysetPagesWithNext() async throws {
        let plane = try await makePlane(seeded: false)
        _ = try await plane.directory.addOrganization("Example Ltd", actor: .op)
        _ = try await plane.directory.addMailService(name: "example", organization: "Example Ltd", domains: ["example.org"], actor: .op)
        for n in 0..<120 { _ = try await plane.directory.addMailbox(String(format: "box%03d@example.org", n), actor: .op) }
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op))
        try await app.test(.router) { client in
            let c = Call(client: client)
            let first = try await c.send(.get, "/v1/mailboxes", spec: "/v1/mailboxes", expect: 200)
            #expect((first["mailboxes"] as? [Any])?.count == 50, "the default limit is 50")
            #expect(first["next"] as? String == "box049@example.org")
            var addresses: [String] = []
            var after: String? = nil
            repeat {
                let query = "limit=40" + (after.map { "&after=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? "")
                let page = try await c.send(.get, "/v1/mailboxes?" + query, spec: "/v1/mailboxes", expect: 200)
                addresses += (page["mailboxes"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
                after = page["next"] as? String
            } while after != nil
            #expect(addresses == (0..<120).map { String(format: "box%03d@example.org", $0) }, "three pages, each mailbox once, no next on the last")
            let search = try await c.send(.get, "/v1/mailboxes?q=BOX11", spec: "/v1/mailboxes", expect: 200)
            #expect((search["mailboxes"] as? [Any])?.count == 10 && search["next"] == nil)
            for bad in ["limit=0", "limit=501", "limit=many"] {
                let refused = try await c.send(.get, "/v1/mailboxes?" + bad, spec: "/v1/mailboxes", expect: 400)
                #expect((refused["error"] as? [String: Any])?["code"] as? String == "invalid_limit")
            }
            let cursor = try await c.send(.get, "/v1/mailboxes/box001@example.org/devices?after=x", spec: "/v1/mailboxes/{address}/devices", expect: 400)
            #expect((cursor["error"] as? [String: Any])?["code"] as? String == "invalid_cursor")
            let orgs = try await c.send(.get, "/v1/organizations?limit=1", spec: "/v1/organizations", expect: 200)
            #expect((orgs["organizations"] as? [Any])?.count == 1 && orgs["next"] == nil)
        }
    }

    @Test func theDeviceLifecycleOverTheAPI() async throws {
        let plane = try await makePlane(seeded: false)
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op))
        try await app.test(.router) { client in
            let c = Call(client: client)
            _ = try await c.send(.post, "/v1/organizations", spec: "/v1/organizations", json: #"{"name":"Example Ltd"}"#, expect: 201)
            _ = try await c.send(.post, "/v1/organizations", spec: "/v1/organizations", json: #"{"name":"Example Ltd"}"#, expect: 409)
            _ = try await c.send(.post, "/v1/services", spec: "/v1/services",
                                 json: #"{"name":"example","organization":"Example Ltd","domains":["example.org"]}"#, expect: 201)
            _ = try await c.send(.post, "/v1/mailboxes", spec: "/v1/mailboxes", json: #"{"address":"not-an-address"}"#, expect: 400)
            _ = try await c.send(.post, "/v1/mailboxes", spec: "/v1/mailboxes", json: #"{"address":"bob@other.test"}"#, expect: 404)
            _ = try await c.send(.post, "/v1/mailboxes", spec: "/v1/mailboxes", json: #"{"address":"alice@example.org"}"#, expect: 201)

            let dev = "/v1/mailboxes/{address}/devices"
            let added = try await c.send(.post, "/v1/mailboxes/alice%40example.org/devices", spec: dev, json: #"{"name":"iPhone"}"#, expect: 201)
            let password = try #require(added["password"] as? String)
            #expect(password.range(of: #"^[a-z2-9]{6}(-[a-z2-9]{6}){3}$"#, options: .regularExpression) != nil)
            _ = try await c.send(.post, "/v1/mailboxes/alice%40example.org/devices", spec: dev, json: #"{"name":"iPhone"}"#, expect: 409)
            _ = try await c.send(.post, "/v1/mailboxes/alice%40example.org/devices", spec: dev, json: #"{"nom":"x"}"#, expect: 400)
            _ = try await c.send(.post, "/v1/mailboxes/alice%40example.org/devices", spec: dev, json: #"{"name":"Thunderbird at work"}"#, expect: 201)

            let listed = try await c.send(.get, "/v1/mailboxes/alice@example.org/devices", spec: dev, expect: 200)
            let devices = try #require(listed["devices"] as? [[String: Any]])
            #expect(devices.map { $0["name"] as? String } == ["iPhone", "Thunderbird at work"])
            #expect(!String(describing: listed).contains(password), "a device list never holds a secret")

            let scopes = "/v1/mailboxes/{address}/devices/{device}/scopes"
            let scoped = try await c.send(.put, "/v1/mailboxes/alice@example.org/devices/iPhone/scopes", spec: scopes, json: #"{"scopes":["imap","smtp"]}"#, expect: 200)
            #expect((scoped["device"] as? [String: Any])?["scopes"] as? [String] == ["imap", "smtp"])
            _ = try await c.send(.put, "/v1/mailboxes/alice@example.org/devices/iPhone/scopes", spec: scopes, json: #"{"scopes":["ftp"]}"#, expect: 400)
            let phoneCheck = plane.check
            #expect(await phoneCheck.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "pop3", remoteIP: nil)) == .fail)
            #expect(await phoneCheck.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "imap", remoteIP: nil)) != .fail)
            _ = try await c.send(.put, "/v1/mailboxes/alice@example.org/devices/iPhone/scopes", spec: scopes, json: #"{"scopes":null}"#, expect: 200)
            #expect(await phoneCheck.check(.init(login: "alice@example.org", password: Array(password.utf8), service: "pop3", remoteIP: nil)) != .fail)

            let rot = "/v1/mailboxes/{address}/devices/{device}/rotate"
            let rotated = try await c.send(.post, "/v1/mailboxes/alice@example.org/devices/iPhone/rotate", spec: rot, expect: 200)
            #expect(rotated["password"] as? String != password)
            _ = try await c.send(.post, "/v1/mailboxes/alice@example.org/devices/Android/rotate", spec: rot, expect: 404)
            _ = try await c.send(.delete, "/v1/mailboxes/alice@example.org/devices/Thunderbird%20at%20work",
                                 spec: "/v1/mailboxes/{address}/devices/{device}", expect: 200)

            let all = "/v1/mailboxes/{address}/disconnect-all"
            _ = try await c.send(.post, "/v1/mailboxes/alice@example.org/disconnect-all", spec: all, json: "{}", expect: 400)
            #expect(try await plane.devices.devices("alice@example.org", actor: .op).count == 1, "an unconfirmed disconnect-all changes nothing")
            let gone = try await c.send(.post, "/v1/mailboxes/alice@example.org/disconnect-all", spec: all, json: #"{"confirm":true}"#, expect: 200)
            #expect((gone["disconnected"] as? [Any])?.count == 1)

            let history = try await c.send(.get, "/v1/mailboxes/alice@example.org/history?limit=3", spec: "/v1/mailboxes/{address}/history", expect: 200)
            #expect((history["history"] as? [[String: Any]])?.first?["action"] as? String == "device.disconnect_all")
            #expect(!String(describing: history).contains(password))
        }
    }

    @Test func importingAPasswdFileAndTheGenericPasswordRules() async throws {
        let plane = try await makePlane()
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op))
        let hash = "{SHA512-CRYPT}$6$vCkbG2Zx/tXVGp23$f04PVOhiZ6/HzxEelyVEG9yc6fNB4B6gji7iMBA3Qr0qHkwPC.oP.GTUpWBO5YMF4k6ZHqDEGPXC1zRqaMXUX0"
        try await app.test(.router) { client in
            let c = Call(client: client)
            let report = try await c.send(.post, "/v1/import/passwd-file", spec: "/v1/import/passwd-file",
                                          text: "carol@example.org:\(hash)\nbroken\nx@elsewhere.test:\(hash)\n", expect: 200)
            #expect(report["imported"] as? Int == 1)
            #expect(((report["errors"] as? [[String: Any]]) ?? []).map { $0["line"] as? Int } == [2, 3])
            let again = try await c.send(.post, "/v1/import/passwd-file", spec: "/v1/import/passwd-file", text: "carol@example.org:\(hash)\n", expect: 200)
            #expect(again["unchanged"] as? Int == 1)

            let listed = try await c.send(.get, "/v1/mailboxes/carol@example.org/devices", spec: "/v1/mailboxes/{address}/devices", expect: 200)
            let generic = try #require((listed["devices"] as? [[String: Any]])?.first)
            #expect(generic["kind"] as? String == "generic")
            #expect(!String(describing: listed).contains("$6$"), "the generic password is never displayed")

            let refused = try await c.send(.post, "/v1/mailboxes/carol@example.org/devices/generic%20password/rotate",
                                           spec: "/v1/mailboxes/{address}/devices/{device}/rotate", expect: 409)
            #expect((refused["error"] as? [String: Any])?["code"] as? String == "generic_password_cannot_be_reset")
            _ = try await c.send(.delete, "/v1/mailboxes/carol@example.org/devices/generic%20password",
                                 spec: "/v1/mailboxes/{address}/devices/{device}", expect: 200)
            #expect(plane.index.count.generic == 0)
        }
    }

    @Test func genericPasswordsAreRetiredByTheClosestPolicy() async throws {
        let plane = try await makePlane()
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op))
        try await app.test(.router) { client in
            let c = Call(client: client)
            _ = try await c.send(.post, "/v1/import/passwd-file", spec: "/v1/import/passwd-file",
                                 text: "carol@example.org:{PLAIN}correct horse\ndan@example.org:{PLAIN}correct horse\n", expect: 200)
            func login(_ user: String, _ service: String = "imap") async -> CheckResult {
                await plane.check.check(CheckRequest(login: user, password: Array("correct horse".utf8), service: service, remoteIP: nil))
            }
            let spec = "/v1/policies/generic/{level}/{name}"
            let orgName = try #require(try await plane.directory.organizations(actor: .op).first?.name)
            let org = "/v1/policies/generic/organization/\(orgName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!)"
            let set = try await c.send(.put, org, spec: spec, json: #"{"refuse":["all"]}"#, expect: 200)
            #expect(set["genericPasswords"] as? Int == 2)
            #expect(await login("carol@example.org") == .fail)
            #expect(await login("dan@example.org", "smtp") == .fail)
            _ = try await c.send(.put, "/v1/policies/generic/mailbox/carol%40example.org", spec: spec, json: #"{"refuse":[]}"#, expect: 200)
            #expect(await login("carol@example.org") != .fail, "the mailbox's own allow wins over its organization")
            #expect(await login("dan@example.org") == .fail)
            let report = try await c.send(.get, "/v1/reports/generic", spec: "/v1/reports/generic", expect: 200)
            let rows = try #require(report["mailboxes"] as? [[String: Any]])
            #expect(rows.map { $0["address"] as? String } == ["carol@example.org", "dan@example.org"])
            #expect(rows.map { $0["policyLevel"] as? String } == ["mailbox", "organization"])
            #expect(rows.map { ($0["refusedNow"] as? [String])?.count } == [0, 4])
            _ = try await c.send(.delete, "/v1/policies/generic/mailbox/carol%40example.org", spec: spec, expect: 200)
            #expect(await login("carol@example.org") == .fail, "without its own policy, the organization's applies again")
            _ = try await c.send(.put, org, spec: spec, json: #"{"refuse":["imap"],"from":"2099-01-01T00:00:00Z"}"#, expect: 200)
            #expect(await login("carol@example.org") != .fail, "a policy from a later date refuses nothing yet")
            _ = try await c.send(.put, "/v1/policies/generic/planet/earth", spec: spec, json: #"{"refuse":["imap"]}"#, expect: 400)
            _ = try await c.send(.put, "/v1/policies/generic/mailbox/nobody%40example.org", spec: spec, json: #"{"refuse":["imap"]}"#, expect: 404)
            _ = try await c.send(.put, org, spec: spec, json: #"{"refuse":["ftp"]}"#, expect: 400)
            let shown = try await c.send(.get, org, spec: spec, expect: 200)
            #expect((shown["policy"] as? [String: Any])?["refused"] as? [String] == ["imap"], "a refused change changed nothing")
        }
    }

    @Test func unknownRoutesAndBadJSONGetTheErrorEnvelope() async throws {
        let app = try await Application(router: ControlAPI.router(makePlane(), authenticator: FixedActor.op))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains(#""code":"no_such_route""#))
            }
            try await client.execute(uri: "/v1/mailboxes", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(#""code":"bad_request""#))
            }
        }
    }
}
