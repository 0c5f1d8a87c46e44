import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import PosternControl
@testable import PosternServer
import PosternAuth
import NIOPosix
import Testing

@Suite struct NginxAuthHTTPTests {
    @Test func okGivesTheBackendWrongGivesStatusAndAThrottledClientGetsAuthWait() async throws {
        let plane = try await makePlane()
        _ = try await plane.directory.addMailbox("alice@example.org", actor: .op)
        let device = try await plane.devices.addDevice("alice@example.org", name: "phone", actor: .op)
        var policy = Throttle.Policy()
        policy.freeFailures = 2
        policy.firstDelay = .seconds(1)
        policy.maxDelay = .seconds(2)
        let check = PasswordCheck(key: plane.serverKey, index: plane.index, lastUse: plane.lastUse, threadPool: .singleton,
                                  throttle: Throttle(policy: policy))
        let router = NginxAuthHTTP.router(check: check, backends: MailBackends(imap: ("127.0.0.1", 14300)), logger: Logger(label: "t"))
        try await Application(router: router).test(.router) { client in
            func ask(_ pass: String, proto: String = "imap") async throws -> [String: String] {
                let headers: HTTPFields = [HTTPField.Name("Auth-Method")!: "plain", HTTPField.Name("Auth-User")!: "alice@example.org",
                                           HTTPField.Name("Auth-Pass")!: pass, HTTPField.Name("Auth-Protocol")!: proto,
                                           HTTPField.Name("Auth-Login-Attempt")!: "1", HTTPField.Name("Client-IP")!: "192.0.2.7"]
                return try await client.execute(uri: "/auth", method: .get, headers: headers) { response in
                    Dictionary(response.headers.filter { $0.name.rawName.hasPrefix("Auth-") }.map { ($0.name.rawName, $0.value) },
                               uniquingKeysWith: { a, _ in a })
                }
            }
            let a1 = try await ask(device.password)
            #expect(a1 == ["Auth-Status": "OK", "Auth-Server": "127.0.0.1", "Auth-Port": "14300"])
            let p0 = try await ask(device.password, proto: "pop3")
            #expect(p0["Auth-Status"] == "Temporary failure", "no pop3 back end configured")
            let a2 = try await ask("wrong")
            #expect(a2 == ["Auth-Status": "Invalid login or password"])
            let a3 = try await ask("wrong")
            #expect(a3 == ["Auth-Status": "Invalid login or password"])
            let a3b = try await ask("wrong")
            #expect(a3b == ["Auth-Status": "Invalid login or password", "Auth-Wait": "1"], "after the two free failures, nginx is told to wait")
            let a4 = try await ask("wrong")
            #expect(a4 == ["Auth-Status": "Invalid login or password", "Auth-Wait": "2"])
            let clock = ContinuousClock()
            let started = clock.now
            let a5 = try await ask(device.password.replacingOccurrences(of: "-", with: "%2D"))
            #expect(a5 ==
                    ["Auth-Status": "OK", "Auth-Server": "127.0.0.1", "Auth-Port": "14300"])
            #expect(clock.now - started >= .seconds(2), "a delayed success is held by Postern itself (no Auth-Wait on OK)")
        }
    }
}
