import Crypto
import Foundation
import NIOPosix
@testable import PosternAuth
import PosternCore
import Prometheus
import Testing

@Suite struct PasswordCheckTests {
    let key = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))
    let index = CredentialIndex()
    let lastUse = LastUseRecorder()

    func check() -> PasswordCheck {
        PasswordCheck(key: key, index: index, lastUse: lastUse, threadPool: NIOThreadPool.singleton)
    }

    func request(_ login: String, _ password: String, service: String = "smtp") -> CheckRequest {
        CheckRequest(login: login, password: Array(password.utf8), service: service, remoteIP: "192.0.2.1")
    }

    func addDevice(_ id: Int64, _ address: String, _ password: String) {
        index.apply([.addDevice(PasswordDigest(password: Array(password.utf8), key: key), DeviceCredential(deviceID: id, address: address))])
    }

    @Test func aDevicePasswordLogsInAndRecordsLastUse() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .ok(user: "alice@example.org", deviceID: 1))
        let use = lastUse.drain()[1]
        #expect(use?.ip == "192.0.2.1" && use?.service == "smtp")
    }

    @Test func theDomainIsCaseInsensitiveAndSeparatorsAreOptional() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        #expect(await check().check(request("alice@EXAMPLE.org", "aaaaaabbbbbbccccccdddddd")) == .ok(user: "alice@example.org", deviceID: 1))
        #expect(await check().check(request("ALICE@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .fail)
    }

    @Test func aWrongPasswordOrAnotherMailboxsPasswordFails() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        addDevice(2, "bob@example.org", "eeeeee-ffffff-gggggg-hhhhhh")
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-ddddde")) == .fail)
        #expect(await check().check(request("alice@example.org", "eeeeee-ffffff-gggggg-hhhhhh")) == .fail)
        #expect(await check().check(request("nobody@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .fail)
        #expect(lastUse.drain().isEmpty)
    }

    @Test func aScopedPasswordIsRefusedByOtherServicesWithoutTryingTheGenericPassword() async throws {
        index.apply([.addDevice(PasswordDigest(password: Array("aaaaaa-bbbbbb-cccccc-dddddd".utf8), key: key),
                                DeviceCredential(deviceID: 1, address: "alice@example.org", scope: try ServiceScope(names: ["imap"])))])
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd", service: "imap")) == .ok(user: "alice@example.org", deviceID: 1))
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd", service: "smtp")) == .fail)
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd", service: "pop3")) == .fail)
        #expect(lastUse.drain().count == 1)
    }

    func digest(_ password: String) -> PasswordDigest { PasswordDigest(password: Array(password.utf8), key: key) }

    @Test func rotatingReplacesTheOldDigestAtOnce() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        // What the control plane applies for a rotation: the old digest out, the new one in, at once.
        index.apply([.removeDevice(1, digest: digest("aaaaaa-bbbbbb-cccccc-dddddd")),
                     .addDevice(digest("mmmmmm-nnnnnn-pppppp-qqqqqq"), DeviceCredential(deviceID: 1, address: "alice@example.org"))])
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .fail)
        #expect(await check().check(request("alice@example.org", "mmmmmm-nnnnnn-pppppp-qqqqqq")) == .ok(user: "alice@example.org", deviceID: 1))
        index.apply([.removeDevice(1, digest: digest("mmmmmm-nnnnnn-pppppp-qqqqqq"))])
        #expect(await check().check(request("alice@example.org", "mmmmmm-nnnnnn-pppppp-qqqqqq")) == .fail)
        #expect(index.count.devices == 0)
    }

    @Test func removingByAStaleDigestLeavesAnotherDevicesPasswordAlone() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        index.apply([.removeDevice(2, digest: digest("aaaaaa-bbbbbb-cccccc-dddddd"))])
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .ok(user: "alice@example.org", deviceID: 1))
    }

    @Test func theGenericPasswordIsVerifiedOnlyWhenNoDeviceMatched() async throws {
        let generic = try GenericPassword(parsing: LegacyHashTests.vectors[0])
        index.apply([.setGeneric(GenericCredential(deviceID: 5, address: "carol@example.org", password: generic))])
        addDevice(6, "carol@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        let c = check()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        guard case .later = c.check(request("carol@example.org", "correct horse"), on: loop) else { Issue.record("expected the slow path"); return }
        guard case .now(.ok(_, 6)) = c.check(request("carol@example.org", "aaaaaa-bbbbbb-cccccc-dddddd"), on: loop) else {
            Issue.record("expected the fast path"); return
        }
        #expect(await c.check(request("carol@example.org", "correct horse")) == .ok(user: "carol@example.org", deviceID: 5))
        #expect(await c.check(request("carol@example.org", "wrong")) == .fail)
        index.apply([.removeDevice(5, digest: nil)])
        #expect(await c.check(request("carol@example.org", "correct horse")) == .fail)
    }
}

@Suite struct GenericPolicyCheckTests {
    let key = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 9, count: 32)))

    @Test func aRetiredGenericPasswordFailsLikeAWrongOneAndIsNotedOnceADay() async throws {
        let index = CredentialIndex()
        let generic = try GenericPassword(parsing: "{PLAIN}correct horse")
        index.apply([.setGeneric(GenericCredential(deviceID: 7, address: "carol@example.org", password: generic))])
        let check = PasswordCheck(key: key, index: index, lastUse: LastUseRecorder(), threadPool: .singleton)
        func ask(_ pw: String, _ service: String, ip: String? = "192.0.2.7") async -> CheckResult {
            await check.check(CheckRequest(login: "carol@example.org", password: Array(pw.utf8), service: service, remoteIP: ip))
        }
        #expect(await ask("correct horse", "imap") == .ok(user: "carol@example.org", deviceID: 7))
        index.apply([.setGenericPolicy(address: "carol@example.org", GenericPolicy(refused: [.imap, .smtp]))])
        #expect(await ask("correct horse", "imap") == .fail)
        #expect(await ask("correct horse", "imap") == .fail)
        #expect(await ask("wrong", "imap") == .fail)
        #expect(await ask("correct horse", "smtp", ip: "192.0.2.8") == .fail)
        #expect(await ask("correct horse", "pop3") == .ok(user: "carol@example.org", deviceID: 7), "pop3 is not refused")
        let noted = check.genericRefusals.drain()
        #expect(noted.map { "\($0.service) \($0.ip ?? "-")" } == ["imap 192.0.2.7", "smtp 192.0.2.8"], "once per service and IP, wrong passwords not at all")
        #expect(await ask("correct horse", "imap") == .fail)
        #expect(check.genericRefusals.drain().isEmpty, "not again the same day")
        index.apply([.setGenericPolicy(address: "carol@example.org", GenericPolicy(refused: [.imap], from: Date() + 86_400))])
        #expect(await ask("correct horse", "imap") == .ok(user: "carol@example.org", deviceID: 7), "a policy from tomorrow refuses nothing today")
    }
}

@Suite struct ServerKeyTests {
    func tempPath() -> String {
        NSTemporaryDirectory() + "postern-key-\(UUID().uuidString)/server.key"
    }

    @Test func isCreatedOnceWithMode0600AndReadBackTheSame() throws {
        let path = tempPath()
        let first = try ServerKey.loadOrCreate(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let second = try ServerKey.loadOrCreate(at: path)
        let a = PasswordDigest(password: Array("x".utf8), key: first), b = PasswordDigest(password: Array("x".utf8), key: second)
        #expect(a == b)
    }

    @Test func aKeyFileReadableByOthersIsRefused() throws {
        let path = tempPath()
        _ = try ServerKey.loadOrCreate(at: path)
        chmod(path, 0o644)
        #expect(throws: ServerKeyError.self) { try ServerKey.loadOrCreate(at: path) }
    }

    @Test func digestsAreStandardHMACSHA256AndKeepNoStateBetweenCalls() {
        let key = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))
        // python3 -c "import hmac,hashlib; print(hmac.new(bytes([7]*32), b'x', hashlib.sha256).hexdigest())"
        let expected = "5b29e7ebdee0465c31c16b2fca787e1588ec74bd4c3e9f479103b2392c677d06"
        for _ in 0..<3 {
            #expect(PasswordDigest(password: Array("x".utf8), key: key).bytes.map { String(format: "%02x", $0) }.joined() == expected)
            _ = PasswordDigest(password: Array("something else".utf8), key: key)
        }
    }

    @Test(arguments: ["ABCDEF-ghjkmn-pqrstu-vwxyz2", "abcdef ghjkmn pqrstu vwxyz2", "abcdefghjkmnpqrstuvwxyz2"])
    func digestIsHMACOfTheCanonicalForm(typed: String) {
        let raw = SymmetricKey(data: (0..<32).map { UInt8($0) })
        let key = ServerKey(key: raw)
        let reference = HMAC<SHA256>.authenticationCode(for: DevicePassword.canonicalBytes(typed), using: raw)
        #expect(PasswordDigest(password: Array(typed.utf8), key: key).bytes == Array(reference))
    }

    @Test func digestsDependOnTheKey() {
        let k1 = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 1, count: 32)))
        let k2 = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 2, count: 32)))
        #expect(PasswordDigest(password: Array("same".utf8), key: k1) != PasswordDigest(password: Array("same".utf8), key: k2))
        let d = PasswordDigest(password: Array("same".utf8), key: k1)
        #expect(PasswordDigest(bytes: d.bytes) == d)
        #expect(d.bytes.count == 32)
    }
}

@Suite struct ThrottleTests {
    @Test func theFirstDelayComesExactlyAfterTheFreeFailuresAndGrowsUpToTheCap() {
        let p = Throttle.Policy()
        #expect(p.freeFailures == 3)
        #expect((0...2).map { p.delay(failures: $0) } == [.zero, .zero, .zero], "three free failures")
        #expect(p.delay(failures: 3) == .milliseconds(500), "the fourth attempt is the first delayed")
        #expect(p.delay(failures: 4) == .seconds(1))
        #expect(p.delay(failures: 5) == .seconds(2))
        #expect(p.delay(failures: 7) == .seconds(5))
        #expect(p.delay(failures: 1000) == .seconds(5))
        #expect(p.maxDelay < .seconds(10), "below Postfix's 10 s")
    }

    /// The whole rule as a table: (source's failures, pair's, login's) → verdict.
    @Test(arguments: [
        (0, 0, 0, Throttle.Verdict.allow),
        (2, 2, 2, .allow),
        (3, 3, 3, .delay(.milliseconds(500))),
        (0, 0, 1000, .allow),                               // the owner, from a clean source, under attack
        (1, 0, 1000, .allow),                               // a source that failed elsewhere, not at this login
        (1, 1, 5, .delay(.seconds(2))),                     // a source that failed here shares the login's count
        (1, 1, 20, .refuse(retryAfter: .seconds(900))),     // ... and its refusal
        (20, 0, 0, .refuse(retryAfter: .seconds(900))),     // a source past the limit, at any login
        (19, 0, 0, .delay(.seconds(5))),
    ])
    func theVerdictTable(source: Int, pair: Int, login: Int, expected: Throttle.Verdict) {
        #expect(Throttle.Policy().verdict(source: source, pair: pair, login: login) == expected)
    }

    @Test func failuresFromOneIPDelayThenRefuseEveryLoginFromIt() {
        let t = Throttle()
        for i in 0..<2 { t.recordFailure(login: "u\(i)@example.org", ip: "192.0.2.1") }
        #expect(t.verdict(login: "other@example.org", ip: "192.0.2.1") == .allow)
        t.recordFailure(login: "u9@example.org", ip: "192.0.2.1")
        #expect(t.verdict(login: "other@example.org", ip: "192.0.2.1") == .delay(.milliseconds(500)))
        #expect(t.verdict(login: "other@example.org", ip: "192.0.2.2") == .allow)
        for i in 0..<20 { t.recordFailure(login: "x\(i)@example.org", ip: "192.0.2.1") }
        #expect(t.verdict(login: "other@example.org", ip: "192.0.2.1") == .refuse(retryAfter: .seconds(900)))
    }

    @Test func anAttackFromOneIPNeverStopsTheOwnerFromAnother() {
        let t = Throttle()
        for _ in 0..<30 { t.recordFailure(login: "victim@example.org", ip: "127.0.0.77") }
        #expect(t.verdict(login: "victim@example.org", ip: "127.0.0.77") == .refuse(retryAfter: .seconds(900)))
        #expect(t.verdict(login: "victim@example.org", ip: "127.0.0.1") == .allow)
        #expect(t.verdict(login: "victim@example.org", ip: "2001:db8::1") == .allow)
    }

    @Test func aDistributedGuessGetsOneTryPerSourceOnceTheLoginIsUnderAttack() {
        let t = Throttle()
        var tried = 0
        for i in 0..<200 {
            let ip = "198.51.\(i / 250).\(i % 250)"
            for _ in 0..<5 {
                if case .refuse = t.verdict(login: "victim@example.org", ip: ip) { continue }
                tried += 1
                t.recordFailure(login: "victim@example.org", ip: ip)
            }
        }
        // Before the login reaches refuseAfter, the first sources get their free failures and a
        // few delayed ones; after it, every source gets exactly one guess.
        #expect(tried <= 20 + 200, "\(tried) guesses")
        #expect(t.verdict(login: "victim@example.org", ip: "203.0.113.9") == .allow, "and the owner still gets in")
    }

    @Test func anIPv6SourceIsItsSlash64() {
        let t = Throttle()
        for i in 0..<20 { t.recordFailure(login: "u\(i)@example.org", ip: "2001:db8:1:2::\(i + 1)") }
        #expect(t.verdict(login: "any@example.org", ip: "2001:db8:1:2:ffff::9") == .refuse(retryAfter: .seconds(900)))
        #expect(t.verdict(login: "any@example.org", ip: "2001:db8:1:3::1") == .allow)
        #expect(ClientKey("::ffff:192.0.2.1") == ClientKey("192.0.2.1"))
        #expect(ClientKey("2001:db8:1:2::7")?.description == "2001:db8:1:2::/64")
        #expect(ClientKey("192.0.2.1")?.description == "192.0.2.1")
        #expect(ClientKey("not an ip") == nil && ClientKey(String(repeating: "1", count: 5000)) == nil)
    }

    @Test func failuresOfOneLoginFromManyIPsAreReportedOnce() {
        let t = Throttle()
        for i in 0..<12 { t.recordFailure(login: "alice@example.org", ip: "198.51.100.\(i)") }
        let reports = t.drainReports()
        #expect(reports.count == 1)
        #expect(reports.first?.login == "alice@example.org" && reports.first?.failures == 10 && reports.first?.ips.count == 8)
        #expect(reports.first?.ips.first == "198.51.100.0")
        #expect(t.drainReports().isEmpty)
    }

    @Test func aSuccessClearsWhatThatLoginAndIPPairAdded() {
        let t = Throttle()
        for _ in 0..<5 { t.recordFailure(login: "alice@example.org", ip: "192.0.2.1") }
        for i in 0..<5 { t.recordFailure(login: "spray\(i)@example.org", ip: "192.0.2.66") }
        #expect(t.verdict(login: "alice@example.org", ip: "192.0.2.1") != .allow)
        t.recordSuccess(login: "alice@example.org", ip: "192.0.2.1")
        #expect(t.verdict(login: "alice@example.org", ip: "192.0.2.1") == .allow)
        t.recordSuccess(login: "spray0@example.org", ip: "192.0.2.66")
        #expect(t.verdict(login: "anyone@example.org", ip: "192.0.2.66") != .allow, "one success does not clear an IP's other failures")
    }

    @Test func memoryIsBoundedInEntriesWhateverTheLoginsAre() {
        var policy = Throttle.Policy()
        policy.maxEntries = 1000
        let t = Throttle(policy: policy)
        let long = String(repeating: "x", count: 12_000)
        for i in 0..<5000 { t.recordFailure(login: "\(long)\(i)@example.org", ip: "10.\(i / 65536).\(i / 256 % 256).\(i % 256)") }
        #expect(t.entries == 3000, "1000 sources, 1000 logins, 1000 pairs")
    }

    @Test func theCheckRefusesAtOnceAndHoldsADelayedAnswerFromItsArrival() async {
        let key = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))
        let index = CredentialIndex()
        index.apply([.addDevice(PasswordDigest(password: Array("aaaaaa-bbbbbb-cccccc-dddddd".utf8), key: key), DeviceCredential(deviceID: 1, address: "a@example.org"))])
        var policy = Throttle.Policy()
        policy.firstDelay = .milliseconds(20)
        policy.maxDelay = .milliseconds(40)
        policy.refuseAfter = 6
        let check = PasswordCheck(key: key, index: index, lastUse: LastUseRecorder(), threadPool: .singleton, throttle: Throttle(policy: policy))
        func ask(_ pw: String, ip: String = "192.0.2.5") async -> CheckResult {
            await check.check(CheckRequest(login: "a@example.org", password: Array(pw.utf8), service: "smtp", remoteIP: ip))
        }
        let clock = ContinuousClock()
        for _ in 0..<3 { #expect(await ask("wrong") == .fail) }
        var started = clock.now
        #expect(await ask("wrong") == .fail)   // after 3 failures: held 20 ms
        #expect(clock.now - started >= .milliseconds(20))
        started = clock.now
        #expect(await ask("aaaaaa-bbbbbb-cccccc-dddddd") == .ok(user: "a@example.org", deviceID: 1), "delayed, but still checked")
        #expect(clock.now - started >= .milliseconds(40))
        for _ in 0..<6 { _ = await ask("wrong") }
        started = clock.now
        #expect(await ask("aaaaaa-bbbbbb-cccccc-dddddd") == .tempFail, "past the limit even the right password gets a temporary failure")
        #expect(clock.now - started < .milliseconds(20), "a refusal is not held")
        #expect(await ask("aaaaaa-bbbbbb-cccccc-dddddd", ip: "192.0.2.99") == .ok(user: "a@example.org", deviceID: 1), "the owner elsewhere")
    }
}

@Suite struct ThrottleMetricTests {
    @Test func throttledRequestsAreCountedForPrometheus() {
        let registry = PrometheusCollectorRegistry()
        let t = Throttle(metrics: PrometheusMetricsFactory(registry: registry))
        for _ in 0..<4 { t.recordFailure(login: "a@example.org", ip: "192.0.2.1") }
        _ = t.verdict(login: "a@example.org", ip: "192.0.2.1")
        _ = t.verdict(login: "a@example.org", ip: "192.0.2.1")
        for _ in 0..<20 { t.recordFailure(login: "a@example.org", ip: "192.0.2.1") }
        _ = t.verdict(login: "a@example.org", ip: "192.0.2.1")
        let text = registry.emitToString()
        #expect(text.contains(#"postern_auth_throttled_total{action="delayed"} 2"#), "\(text)")
        #expect(text.contains(#"postern_auth_throttled_total{action="refused"} 1"#), "\(text)")
    }
}

@Suite struct LastUseRecorderTests {
    @Test func remembersTheLastFewIPsOfADeviceNewestFirst() {
        let r = LastUseRecorder()
        for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3", "192.0.2.4", "192.0.2.5"] {
            r.record(deviceID: 1, LastUse(at: Date(), ip: ip, service: "imap"))
        }
        #expect(r.recentIPs(1) == ["192.0.2.5", "192.0.2.4", "192.0.2.3", "192.0.2.1"])
        #expect(r.drain()[1]?.ip == "192.0.2.5")
        #expect(r.recentIPs(1).count == LastUseRecorder.ipsPerDevice, "draining the last uses keeps the IPs")
        r.forget([1])
        #expect(r.recentIPs(1).isEmpty)
    }

    @Test func aDeviceInSteadyUseIsStoredOncePerIntervalUnlessItsIPOrServiceChanges() {
        let r = LastUseRecorder(durableEvery: 60)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        r.record(deviceID: 1, LastUse(at: t0, ip: "192.0.2.1", service: "imap"))
        #expect(r.drain()[1]?.at == t0, "a first use is stored")
        r.record(deviceID: 1, LastUse(at: t0 + 30, ip: "192.0.2.1", service: "imap"))
        #expect(r.drain().isEmpty, "same IP and service 30 s later: not yet")
        #expect(r.peek([1])[1]?.at == t0 + 30, "but the device list sees it at once")
        r.record(deviceID: 1, LastUse(at: t0 + 40, ip: "192.0.2.1", service: "smtp"))
        #expect(r.drain()[1]?.service == "smtp", "another service is stored at once")
        r.record(deviceID: 1, LastUse(at: t0 + 50, ip: "192.0.2.9", service: "smtp"))
        #expect(r.drain()[1]?.ip == "192.0.2.9", "another IP is stored at once")
        r.record(deviceID: 1, LastUse(at: t0 + 111, ip: "192.0.2.9", service: "smtp"))
        #expect(r.drain()[1]?.at == t0 + 111, "a minute after the last stored time")
        r.record(deviceID: 1, LastUse(at: t0 + 112, ip: "192.0.2.9", service: "smtp"))
        #expect(r.drain().isEmpty)
        #expect(r.drain(everything: true)[1]?.at == t0 + 112, "at shutdown everything not stored yet")
        #expect(r.drain(everything: true).isEmpty)
    }

    @Test func aBatchTheStoreCouldNotWriteIsDueAgain() {
        let r = LastUseRecorder()
        r.record(deviceID: 7, LastUse(at: Date(), ip: nil, service: "pop3"))
        let batch = r.drain()
        #expect(r.drain().isEmpty)
        r.restore(batch)
        #expect(r.drain() == batch)
    }
}
