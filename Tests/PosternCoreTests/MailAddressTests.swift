import PosternCore
import Testing

@Suite struct MailAddressTests {
    @Test(arguments: [
        ("alice@example.org", "alice@example.org"),
        ("Alice@Example.ORG", "Alice@example.org"),
        ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ])
    func validAddressesKeepTheLocalPartAndLowercaseTheDomain(input: String, stored: String) throws {
        #expect(try MailAddress(input).description == stored)
    }

    @Test(arguments: ["", "alice", "@example.org", "alice@", "alice@localhost", "al ice@example.org", "alice@exa mple.org",
                      "alice@-example.org", "alice@example..org", "a\"b@example.org", "alice@example.org\n",
                      String(repeating: "a", count: 65) + "@example.org", "alice@" + String(repeating: "a", count: 64) + ".org"])
    func invalidAddressesAreRefusedWithAClearError(input: String) {
        let error = #expect(throws: PosternError.self) { try MailAddress(input) }
        #expect(error?.code == "invalid_address", "\(input.debugDescription) is refused as an address, not otherwise")
        #expect(error?.message.isEmpty == false)
    }

    @Test func loginKeyLowercasesOnlyTheDomain() {
        #expect(MailAddress.loginKey("Alice@Example.ORG") == "Alice@example.org")
        #expect(MailAddress.loginKey("alice@example.org") == "alice@example.org")
        #expect(MailAddress.loginKey("no-at-sign") == "no-at-sign")
        #expect(MailAddress.loginKey("a@b@EXAMPLE.org") == "a@b@example.org")
    }
}
