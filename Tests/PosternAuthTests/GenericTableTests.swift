@testable import PosternAuth
import PosternCore
import Testing

/// The packed generic-password table against a plain dictionary, with and without collisions.
@Suite struct GenericTableTests {
    static func credential(_ n: Int, id: Int64, policy: GenericPolicy? = nil) -> GenericCredential {
        let password: GenericPassword = n % 3 == 0
            ? try! GenericPassword(parsing: "{SHA256.HEX}\(String(repeating: "ab", count: 32))")
            : try! GenericPassword(parsing: "{SHA512-CRYPT}$6$salt\(n)$\(String(repeating: "h", count: n % 90))")
        return GenericCredential(deviceID: id, address: "user\(n % 500)@example.org", password: password, policy: policy)
    }

    @Test(arguments: [64, 0])
    func behavesLikeADictionaryThroughSetsReplacementsRemovalsAndCompaction(keyBits: Int) {
        var table = GenericTable(keyBits: keyBits, chunkBytes: 4096)
        var model: [String: GenericCredential] = [:]
        var rng = SystemRandomNumberGenerator()
        let operations = keyBits == 0 ? 6_000 : 60_000  // with every key colliding, lookups are linear
        for step in 0..<operations {
            let n = Int.random(in: 0..<10_000, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<6:
                let policy: GenericPolicy? = n % 7 == 0 ? GenericPolicy(refused: [.imap]) : nil
                let credential = Self.credential(n, id: Int64(step), policy: policy)
                table.set(credential)
                model[credential.address] = credential
            case 6..<9:
                guard let victim = model.randomElement(using: &rng)?.value else { continue }
                table.remove(deviceID: victim.deviceID)
                model[victim.address] = nil
            default:
                let address = "user\(n % 500)@example.org"
                let policy: GenericPolicy? = n % 2 == 0 ? GenericPolicy(refused: [.smtp, .pop3]) : nil
                table.setPolicy(address, policy)
                model[address]?.policy = policy
            }
            table.remove(deviceID: -1)  // an id never given: nothing happens
        }
        #expect(table.count == model.count)
        #expect(table.compactions > 0, "replaced and removed entries were compacted away")
        for n in 0..<500 {
            let address = "user\(n)@example.org"
            #expect(table.get(address) == model[address], "\(address)")
        }
        #expect(table.get("nobody@example.org") == nil)
        #expect(table.get("user1@example.orgx") == nil)
    }

    @Test func aReplacedPasswordLeavesNoTraceOfTheOldDevice() {
        var table = GenericTable()
        table.set(Self.credential(1, id: 10))
        table.set(Self.credential(1, id: 11))
        table.remove(deviceID: 10)  // the old device id no longer names this mailbox's password
        #expect(table.get("user1@example.org")?.deviceID == 11)
        table.remove(deviceID: 11)
        #expect(table.get("user1@example.org") == nil && table.count == 0)
    }
}
