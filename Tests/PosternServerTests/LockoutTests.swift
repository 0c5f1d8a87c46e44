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

/// Failed account passwords: the shared lockout decides as the in-memory throttle does; the
/// re-confirmation lockout is per user and source; a throttled request gets Retry-After.
@Suite struct LockoutTests {
    static var policy: ThrottlePolicy {
        var policy = ThrottlePolicy()
        policy.freeFailures = 2
        policy.firstDelay = .milliseconds(1)
        policy.maxDelay = .milliseconds(5)
        policy.refuseAfter = 4
        return policy
    }

    /// A script of failures and successes from several sources at two logins, and the verdict
    /// before each step.
    static func run(_ lockout: any Lockout) async throws -> [String] {
        let steps: [(String, String?, Bool)] = [
            ("cole", "192.0.2.9", false), ("cole", "192.0.2.9", false), ("cole", "192.0.2.9", false), ("cole", "192.0.2.1", true),
            ("cole", "192.0.2.9", false), ("cole", "192.0.2.9", false), ("cole", "192.0.2.1", false), ("cole", "192.0.2.1", true),
            ("cole", "2001:db8::1", false), ("cole", "2001:db8::2", false), ("dana", "2001:db8::3", false), ("dana", "2001:db8::4", false),
            ("dana", "2001:db8:1::5", true), ("cole", nil, false), ("cole", nil, true), ("cole", "192.0.2.9", true),
        ]
        var seen: [String] = []
        for (login, ip, succeeds) in steps {
            let verdict = try await lockout.verdict(login: login, ip: ip)
            switch verdict {
            case .allow: seen.append("allow")
            case let .delay(d): seen.append("delay \(d)")
            case .refuse: seen.append("refuse")
            }
            if case .refuse = verdict { continue }
            if succeeds { try await lockout.recordSuccess(login: login, ip: ip) } else { try await lockout.recordFailure(login: login, ip: ip) }
        }
        return seen
    }

    @Test func theSharedLockoutDecidesAsTheInMemoryThrottle() async throws {
        let plane = try await makePlane()
        let local = try await Self.run(Throttle(policy: Self.policy))
        let shared = try await Self.run(SharedLockout(store: plane.store, policy: Self.policy, scope: "signin"))
        #expect(shared == local)
        #expect(local.contains("refuse") && local.contains { $0.hasPrefix("delay") }, "the script reaches a delay and a refusal: \(local)")
        // A refusal says when to come back: the window after the last deciding failure.
        let lockout = SharedLockout(store: plane.store, policy: Self.policy, scope: "other")
        for _ in 0..<4 { try await lockout.recordFailure(login: "erin", ip: "198.51.100.7") }
        guard case let .refuse(retryAfter) = try await lockout.verdict(login: "erin", ip: "198.51.100.7") else { Issue.record("not refused"); return }
        #expect(retryAfter <= Self.policy.window && retryAfter > Self.policy.window - .seconds(30), "\(retryAfter)")
        // A login of any length is kept bounded (its digest past 320 bytes), whatever a client sends.
        try await lockout.recordFailure(login: String(repeating: "x", count: 100_000), ip: "198.51.100.8")
        let longest: Int = try await plane.store.tally { try await StoreRow.fetchOne($0, sql: "SELECT max(length(subject)) AS n FROM failureCount").map { $0["n"] } } ?? 0
        #expect(longest > 0 && longest < 420, "\(longest)")
    }

    /// The re-confirmation lockout on both kinds of lockout: five wrong passwords from one source
    /// lock that user out from that source only.
    @Test(arguments: ["memory", "store"]) func aSessionHolderElsewhereCannotLockTheUserOut(_ where_: String) async throws {
        let base = try await makePlane()
        let confirmations: any Lockout = where_ == "memory" ? Throttle(policy: Lockouts.confirmationPolicy)
            : SharedLockout(store: base.store, policy: Lockouts.confirmationPolicy, scope: "confirm")
        let plane = Planes(store: base.store, key: base.serverKey, index: base.index, lastUse: base.lastUse, confirmations: confirmations,
                           logger: .init(label: "test"))
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let adam = try await plane.people.addUser(login: "adam@corp.test", displayName: "", password: "adam's own password", actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "adam@corp.test", role: .administrator, displayName: nil, password: nil, actor: .op)
        _ = try await plane.people.addUser(login: "cole@corp.test", displayName: "", password: "cole's password", actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .collaborator, displayName: nil, password: nil, actor: .op)
        let ref = Actor.UserRef(id: adam.id, login: adam.login)
        let thief = Actor.user(ref, via: .session(id: 1, ip: "203.0.113.66"))
        let owner = Actor.user(ref, via: .session(id: 2, ip: "192.0.2.10"))
        func demote(_ actor: Actor, _ password: String, to role: Role = .external) async -> PosternError? {
            do {
                _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: role, displayName: nil,
                                                     password: password, actor: actor)
                return nil
            } catch { return error as? PosternError }
        }
        for _ in 0..<Lockouts.confirmationPolicy.refuseAfter { #expect(await demote(thief, "a guess")?.code == "wrong_password") }
        let refused = await demote(thief, "adam's own password")
        #expect(refused?.code == "confirmation_throttled", "the thief's source is locked out, even with the right password")
        #expect(refused.flatMap(\.retryAfterSeconds).map { $0 > 800 && $0 <= 900 } == true, "\(String(describing: refused?.retryAfter))")
        #expect(refused?.message.contains("try again in 15 minutes") == true, "\(refused?.message ?? "")")
        #expect(await demote(owner, "adam's own password") == nil, "the owner, from their own address, is not locked out")
        // Another /64 of the same IPv6 subscriber is one source; another prefix is not.
        let v6 = Actor.user(ref, via: .token(id: 3, name: "laptop", ip: "2001:db8:5::1"))
        for _ in 0..<Lockouts.confirmationPolicy.refuseAfter { #expect(await demote(v6, "a guess", to: .collaborator)?.code == "wrong_password") }
        #expect(await demote(.user(ref, via: .token(id: 3, name: "laptop", ip: "2001:db8:5::ffff")), "adam's own password", to: .collaborator)?.code
            == "confirmation_throttled")
        #expect(await demote(.user(ref, via: .token(id: 3, name: "laptop", ip: "2001:db8:6::1")), "adam's own password", to: .collaborator) == nil)
    }

    /// Tries sent at once: each is counted before Argon2id runs, so they cannot all be verified
    /// (with the count taken after, all twenty would be). Two threads can each pass the verdict
    /// at the boundary: six at most.
    @Test func reConfirmationsSentAtOnceAreCountedBeforeTheyAreVerified() async throws {
        let plane = try await makePlane()
        let adam = try await plane.people.addUser(login: "adam@corp.test", displayName: "", password: "adam's own password", actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "adam@corp.test", role: .administrator, displayName: nil, password: nil, actor: .op)
        _ = try await plane.people.addUser(login: "cole@corp.test", displayName: "", password: "cole's password", actor: .op)
        _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .collaborator, displayName: nil, password: nil, actor: .op)
        let thief = Actor.user(Actor.UserRef(id: adam.id, login: adam.login), via: .session(id: 1, ip: "203.0.113.66"))
        let codes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await plane.people.setMember(organization: "Example Ltd", login: "cole@corp.test", role: .external, displayName: nil,
                                                             password: "a guess", actor: thief)
                        return "changed"
                    } catch { return (error as? PosternError)?.code ?? "\(error)" }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        let tried = codes.filter { $0 == "wrong_password" }.count
        #expect(tried >= Lockouts.confirmationPolicy.refuseAfter && tried <= Lockouts.confirmationPolicy.refuseAfter + 1, "\(codes)")
        #expect(codes.filter { $0 == "confirmation_throttled" }.count == 20 - tried, "\(codes)")
    }

    @Test func aThrottledSignInGetsRetryAfterFromTheAPIAndTheWeb() async throws {
        let plane = try await makePlane()
        _ = try await plane.people.addUser(login: "tess@example.org", displayName: "", password: "the right password", actor: .op)
        var policy = Self.policy
        policy.freeFailures = 1
        policy.refuseAfter = 2
        let lockout = SharedLockout(store: plane.store, policy: policy, scope: "signin")
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op, signIns: lockout))
        try await app.test(.router) { client in
            var answers: [(UInt, String?)] = []
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/session", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: #"{"login":"tess@example.org","password":"a wrong guess"}"#)) { response in
                    answers.append((UInt(response.status.code), response.headers[.retryAfter]))
                }
            }
            #expect(answers.map(\.0) == [401, 401, 429], "\(answers)")
            #expect(answers[0].1 == nil && answers.last?.1.flatMap(Int.init).map { $0 > 800 && $0 <= 900 } == true, "\(answers)")
        }
        // The web sign-in, from the same address (the test client's), on the same lockout.
        var settings = WebSettings()
        settings.directory = WebManagerTests.directory
        let web = Application(router: try await WebManager.router(plane, settings: settings, signIns: lockout))
        try await web.test(.router) { client in
            let browser = WebManagerTests.Browser(client: client)
            let form = try await browser.get("/signin")
            let answer = try await browser.post("/signin", [("csrf", browser.csrf(form.body)), ("login", "tess@example.org"), ("password", "the right password")])
            #expect(answer.status == 429, "\(answer.status) \(answer.body.prefix(300))")
            #expect(answer.headers[.retryAfter].flatMap(Int.init).map { $0 > 800 && $0 <= 900 } == true)
            #expect(answer.body.contains("too many failed sign-ins"))
        }
    }
}
