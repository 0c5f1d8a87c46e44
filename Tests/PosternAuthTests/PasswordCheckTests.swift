import Crypto
import Foundation
import NIOPosix
import PosternAuth
import PosternCore
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

    @Test func rotatingReplacesTheOldDigestAtOnce() async {
        addDevice(1, "alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        addDevice(1, "alice@example.org", "mmmmmm-nnnnnn-pppppp-qqqqqq")
        #expect(await check().check(request("alice@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) == .fail)
        #expect(await check().check(request("alice@example.org", "mmmmmm-nnnnnn-pppppp-qqqqqq")) == .ok(user: "alice@example.org", deviceID: 1))
        index.apply([.removeDevice(1)])
        #expect(await check().check(request("alice@example.org", "mmmmmm-nnnnnn-pppppp-qqqqqq")) == .fail)
        #expect(index.count.devices == 0)
    }

    @Test func theGenericPasswordIsVerifiedOnlyWhenNoDeviceMatched() async throws {
        let generic = try GenericPassword(parsing: LegacyHashTests.vectors[0])
        index.apply([.setGeneric(GenericCredential(deviceID: 5, address: "carol@example.org", password: generic))])
        addDevice(6, "carol@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")
        let c = check()
        guard case .verifyGeneric = c.checkFast(request("carol@example.org", "correct horse")) else { Issue.record("expected the slow path"); return }
        guard case .done(.ok(_, 6)) = c.checkFast(request("carol@example.org", "aaaaaa-bbbbbb-cccccc-dddddd")) else { Issue.record("expected the fast path"); return }
        #expect(await c.check(request("carol@example.org", "correct horse")) == .ok(user: "carol@example.org", deviceID: 5))
        #expect(await c.check(request("carol@example.org", "wrong")) == .fail)
        index.apply([.removeDevice(5)])
        #expect(await c.check(request("carol@example.org", "correct horse")) == .fail)
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

    @Test func digestsDependOnTheKey() {
        let k1 = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 1, count: 32)))
        let k2 = ServerKey(key: SymmetricKey(data: [UInt8](repeating: 2, count: 32)))
        #expect(PasswordDigest(password: Array("same".utf8), key: k1) != PasswordDigest(password: Array("same".utf8), key: k2))
        let d = PasswordDigest(password: Array("same".utf8), key: k1)
        #expect(PasswordDigest(bytes: d.bytes) == d)
        #expect(d.bytes.count == 32)
    }
}
