import Foundation
import PosternCore
import Testing

@Suite struct ServiceScopeTests {
    @Test func theDefaultAllowsEveryServiceEvenUnknownOnes() {
        for service in ["imap", "pop3", "smtp", "submission", "sieve", "doveadm", "something-new"] {
            #expect(ServiceScope.all.allows(service))
        }
        #expect(ServiceScope.all.stored == nil)
    }

    @Test func aScopedPasswordAllowsOnlyItsServices() throws {
        let scope = try ServiceScope(names: ["IMAP", "smtp"])
        #expect(scope.allows("imap") && scope.allows("smtp"))
        #expect(!scope.allows("pop3") && !scope.allows("submission") && !scope.allows("sieve") && !scope.allows("doveadm") && !scope.allows(""))
        #expect(scope.stored == "imap,smtp")
        #expect(ServiceScope(stored: "imap,smtp") == scope)
    }

    @Test func unknownServiceNamesAreRefusedWithTheListOfKnownOnes() {
        do {
            _ = try ServiceScope(names: ["imap", "ftp"])
            Issue.record("ftp was accepted")
        } catch {
            #expect(error.code == "unknown_service")
            #expect(error.message.contains("imap, pop3, smtp, submission, sieve"))
        }
    }

    @Test func anEmptyListMeansAllAndJSONRoundTrips() throws {
        #expect(try ServiceScope(names: []) == .all)
        let scoped = try ServiceScope(names: ["pop3"])
        let data = try JSONEncoder().encode([scoped, .all])
        #expect(String(decoding: data, as: UTF8.self) == #"[["pop3"],null]"#)
        #expect(try JSONDecoder().decode([ServiceScope].self, from: data) == [scoped, .all])
    }

    @Test func theGenericPasswordCannotBeScoped() {
        let generic = Device(id: 1, name: DeviceRules.genericName, kind: .generic, createdAt: Date())
        #expect(throws: PosternError.self) { try DeviceRules.checkScope(generic) }
    }
}
