import Foundation
import PosternCore
import Testing

@Suite struct GenericPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        (["imap"], nil as TimeInterval?, "imap", true),
        (["imap"], nil, "IMAP", true),
        (["imap"], nil, "smtp", false),
        (["imap"], 3600, "imap", false),          // from an hour from now: not yet
        (["imap"], -1, "imap", true),             // from a second ago
        ([], nil, "imap", false),                 // an explicit allow
        (["smtp", "submission"], nil, "submission", true),
        (["smtp"], nil, "doveadm", false),        // a service no policy names is never refused
    ])
    func refusesOnlyItsServicesFromItsDate(refused: [String], fromOffset: TimeInterval?, service: String, expected: Bool) throws {
        let policy = GenericPolicy(refused: try GenericPolicy.services(refused), from: fromOffset.map { now + $0 })
        #expect(policy.refuses(service, at: now) == expected)
    }

    @Test func allMeansTheFourMailProtocols() throws {
        #expect(try GenericPolicy.services(["all"]) == [.imap, .pop3, .smtp, .submission])
        #expect(throws: PosternError.self) { try GenericPolicy.services(["ftp"]) }
    }

    @Test func theClosestLevelWinsWhole() {
        let org = GenericPolicy(refused: [.imap, .smtp])
        let allow = GenericPolicy(refused: [])
        #expect(GenericPolicy.effective(mailbox: nil, service: nil, organization: org)?.level == .organization)
        #expect(GenericPolicy.effective(mailbox: allow, service: nil, organization: org)?.policy == allow)
        #expect(GenericPolicy.effective(mailbox: nil, service: GenericPolicy(refused: [.pop3]), organization: org)?.policy.refused == [.pop3])
        #expect(GenericPolicy.effective(mailbox: nil, service: nil, organization: nil) == nil)
    }

    @Test func itReadsAsAnOperatorWritesIt() {
        #expect(GenericPolicy(refused: []).summary == "allowed")
        #expect(GenericPolicy(refused: [.smtp, .imap], from: Date(timeIntervalSince1970: 1_803_859_200)).summary == "refused for imap, smtp from 2027-03-01")
    }
}
