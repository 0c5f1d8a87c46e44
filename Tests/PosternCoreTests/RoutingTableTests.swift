import PosternCore
import Testing

/// The routing table Postfix's lookups read, and the rules for aliases and loops.
@Suite struct RoutingTableTests {
    static func table() -> RoutingTable {
        var table = RoutingTable()
        for box in ["alice@example.org", "Bob@example.org", "carol@example.net"] { table.apply(.addMailbox(box)) }
        table.apply(.addAlias("info@example.org", mailbox: "alice@example.org"))
        table.apply(.addAlias("sales@example.net", mailbox: "alice@example.org"))
        return table
    }

    @Test func mailboxesAreFoundWhateverTheCaseAndWithAnExtension() {
        let table = Self.table()
        #expect(table.lookup(.mailboxes, "alice@example.org") == "example.org/alice/")
        #expect(table.lookup(.mailboxes, "ALICE@Example.ORG") == "example.org/alice/", "cleanup does not lowercase")
        #expect(table.lookup(.mailboxes, "bob@example.org") == "example.org/bob/", "a mailbox stored Bob@ is found as smtpd asks, bob@")
        #expect(table.lookup(.mailboxes, "alice+news@example.org") == "example.org/alice/")
        #expect(table.lookup(.mailboxes, "+news@example.org") == nil)
        #expect(table.lookup(.mailboxes, "info@example.org") == nil, "an alias is not a mailbox")
        #expect(table.lookup(.mailboxes, "nobody@example.org") == nil)
        #expect(table.lookup(.mailboxes, "example.org") == nil && table.lookup(.mailboxes, "@example.org") == nil)
        var other = RoutingTable(mailboxPath: "%u|%n|%d|%%|%x|%", delimiter: nil)
        other.apply(.addMailbox("Dave@example.org"))
        #expect(other.lookup(.mailboxes, "dave@example.org") == "dave@example.org|dave|example.org|%|%x|%")
        #expect(other.lookup(.mailboxes, "dave+x@example.org") == nil, "no delimiter: no extension")
    }

    @Test func theDomainsMapAnswersTheServedDomainsWhateverTheCase() {
        var table = Self.table()
        table.apply(.addDomain("Example.ORG"))
        #expect(table.lookup(.domains, "example.org") == "example.org" && table.lookup(.domains, "EXAMPLE.org") == "example.org")
        #expect(table.lookup(.domains, "example.net") == nil, "a mailbox's domain is not served without its mail service")
        #expect(table.lookup(.domains, "alice@example.org") == nil && table.lookup(.domains, "sub.example.org") == nil)
        table.apply(.removeDomain("example.org"))
        #expect(table.lookup(.domains, "example.org") == nil)
        #expect(RoutingTable.Map(rawValue: "domains") == .domains)
    }

    @Test func aliasesAndRedirectionsResolveToWhereMailGoes() {
        var table = Self.table()
        #expect(table.lookup(.virtual, "info@example.org") == "alice@example.org")
        #expect(table.lookup(.virtual, "Info+x@EXAMPLE.org") == "alice@example.org")
        #expect(table.lookup(.virtual, "alice@example.org") == nil, "a mailbox that is not redirected is not in the alias map")
        table.apply(.setRedirect(mailbox: "alice@example.org", .init(targets: ["ext@elsewhere.test", "carol@example.net"], keepCopy: false)))
        #expect(table.lookup(.virtual, "alice@example.org") == "ext@elsewhere.test,carol@example.net")
        #expect(table.lookup(.virtual, "info@example.org") == "alice@example.org", "Postfix looks the mailbox up again")
        table.apply(.setRedirect(mailbox: "alice@example.org", .init(targets: ["ext@elsewhere.test"], keepCopy: true)))
        #expect(table.lookup(.virtual, "alice@example.org") == "alice@example.org,ext@elsewhere.test")
        table.apply(.clearRedirect(mailbox: "ALICE@example.org"))
        #expect(table.lookup(.virtual, "alice@example.org") == nil)
    }

    @Test func whoMaySendAsAnAddress() {
        let table = Self.table()
        #expect(table.lookup(.senders, "alice@example.org") == "alice@example.org")
        #expect(table.lookup(.senders, "sales@example.net") == "alice@example.org", "an alias: its mailbox's login")
        #expect(table.lookup(.senders, "bob@example.org") == "Bob@example.org", "the login as stored, as the auth socket names it")
        #expect(table.lookup(.senders, "alice+tag@example.org") == "alice@example.org")
        #expect(table.lookup(.senders, "mallory@example.org") == nil)
    }

    @Test func removingAMailboxTakesItsAliasesAndRedirectionWithIt() {
        var table = Self.table()
        table.apply(.setRedirect(mailbox: "alice@example.org", .init(targets: ["x@y.test"], keepCopy: false)))
        table.apply(.removeMailbox("Alice@Example.org"))
        for map in RoutingTable.Map.allCases {
            for key in ["alice@example.org", "info@example.org", "sales@example.net"] { #expect(table.lookup(map, key) == nil, "\(map) \(key)") }
        }
        #expect(table.counts.aliases == 0 && table.counts.redirects == 0 && table.counts.mailboxes == 2)
        table.apply(.removeAlias("nothing@example.org"))
        #expect(table.lookup(.senders, "bob@example.org") == "Bob@example.org")
    }

    @Test func aLoopIsFoundAndNamed() {
        var table = Self.table()
        let toBob = RoutingTable.Change.setRedirect(mailbox: "alice@example.org", .init(targets: ["bob@example.org"], keepCopy: false))
        #expect(table.loop(from: "alice@example.org", after: toBob) == nil)
        table.apply(toBob)
        let back = RoutingTable.Change.setRedirect(mailbox: "bob@example.org", .init(targets: ["info@example.org"], keepCopy: true))
        #expect(table.loop(from: "bob@example.org", after: back) == ["bob@example.org", "info@example.org", "alice@example.org", "bob@example.org"])
        let own = RoutingTable.Change.setRedirect(mailbox: "bob@example.org", .init(targets: ["bob@example.org", "x@y.test"], keepCopy: true))
        #expect(table.loop(from: "bob@example.org", after: own) == nil, "keeping a copy names the mailbox itself: delivery, not a loop")
        table.apply(.setRedirect(mailbox: "carol@example.net", .init(targets: ["new@example.net"], keepCopy: false)))
        let alias = RoutingTable.Change.addAlias("new@example.net", mailbox: "carol@example.net")
        #expect(table.loop(from: "new@example.net", after: alias) == ["new@example.net", "carol@example.net", "new@example.net"],
                "an alias can close a loop too")
        #expect(table.loop(from: "carol@example.net", after: .clearRedirect(mailbox: "carol@example.net")) == nil)
        #expect(table.lookup(.virtual, "new@example.net") == nil, "checking applies nothing")
    }

    @Test func anAliasIsADotStringLocalPart() throws {
        #expect(try AliasRules.localPart("Info.Desk", delimiter: "+") == "info.desk")
        #expect(try AliasRules.localPart("o'brien_#1", delimiter: "+") == "o'brien_#1")
        #expect(try AliasRules.localPart("a+b", delimiter: nil) == "a+b")
        for bad in ["", ".info", "info.", "in..fo", "in fo", "in\"fo", "in@fo", "inf(o)", "ïnfo", String(repeating: "a", count: 65), "a+b", "a,b"] {
            #expect(throws: PosternError.self, "\(bad)") { try AliasRules.localPart(bad, delimiter: "+") }
        }
        #expect(AliasRules.isReserved("Postmaster") && AliasRules.isReserved("abuse") && !AliasRules.isReserved("info"))
    }
}
