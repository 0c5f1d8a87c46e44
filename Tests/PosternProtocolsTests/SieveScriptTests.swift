import Foundation
import PosternCore
import PosternProtocols
import Testing

/// The Sieve renderer: the fixed order, each section's commands, and quoting that no user text
/// can break out of (checked by lexing the script as a Sieve parser would).
@Suite struct SieveScriptTests {
    static let context = SieveScript.Context(addresses: ["alice@example.org", "info@example.org"], ownDomains: ["example.org"])

    /// The script without its quoted strings (each replaced by `S`), and the strings' contents.
    static func lex(_ script: String) -> (code: String, strings: [String]) {
        var code = "", strings: [String] = [], current = ""
        var inString = false, escaped = false, inComment = false
        for ch in script {
            if inComment {
                code.append(ch)
                if ch == "\n" { inComment = false }
            } else if inString {
                if escaped { current.append(ch); escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" {
                    inString = false; strings.append(current); current = ""; code += "S"
                } else { current.append(ch) }
            } else if ch == "\"" { inString = true } else if ch == "#" { inComment = true; code.append(ch) } else { code.append(ch) }
        }
        #expect(!inString, "every string is closed")
        return (code, strings)
    }

    @Test func quotingEscapesBackslashAndQuoteAndMakesLineBreaksCRLF() {
        #expect(SieveScript.quoted(#"say "hi" \ bye"#) == #""say \"hi\" \\ bye""#)
        #expect(SieveScript.quoted("one\ntwo\r\nthree\rfour") == "\"one\r\ntwo\r\nthreefour\"")
        #expect(SieveScript.quoted("Café ☕") == "\"Café ☕\"")
        #expect(SieveScript.quoted("nul\u{0}byte") == "\"nulbyte\"")
    }

    @Test func sectionsComeInTheDocumentedOrder() {
        let filters = MailboxFilters(
            rules: [SortingRule(name: "Invoices", conditions: [Condition(field: .subject, test: .contains, value: "invoice")],
                                actions: [.fileInto("Finance"), .markRead, .stop]),
                    SortingRule(name: "Off", enabled: false, conditions: [Condition(field: .from, test: .is, value: "x@y.test")], actions: [.discard])],
            spam: SpamFilter(enabled: true, threshold: 6, folder: "Junk"),
            responder: Responder(enabled: true, subject: "Away", text: "Back soon", start: "2026-12-20", end: "2027-01-03", days: 5),
            senders: SenderLists(blocked: ["spam.test", "bad@evil.test"], approved: ["boss@partner.test"], blockedAction: .discard))
        let script = SieveScript.render(filters, Self.context)
        let marks = ["# Blocked senders", "# Spam filter", "# Rule: Invoices", "# Automatic reply"].map { script.range(of: $0)?.lowerBound }
        #expect(marks.allSatisfy { $0 != nil } && marks.map { $0! } == marks.map { $0! }.sorted(), "\(script)")
        #expect(!script.contains("# Rule: Off"), "a disabled rule is left out")
        #expect(script.contains(#"if allof(not address :all :comparator "i;ascii-casemap" :is "from" ["boss@partner.test"], anyof(address :all"#))
        #expect(script.contains(#"address :domain :comparator "i;ascii-casemap" :is "from" ["spam.test"]"#) && script.contains("  discard;\n  stop;"))
        #expect(script.contains(#"header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "6""#))
        #expect(script.contains(#"header :matches "X-Spam-Score" ["0*", "1*""#), "only scores starting with a digit")
        #expect(script.contains("if header :contains \"subject\" \"invoice\" {\n  fileinto :flags [\"\\\\Seen\"] \"Finance\";\n  stop;\n}"))
        #expect(script.contains(#"currentdate :zone "+0000" :value "ge" "date" "2026-12-20""#))
        #expect(script.contains(#"vacation :days 5 :subject "Away" :addresses ["alice@example.org", "info@example.org"] "Back soon";"#))
        #expect(Self.lex(script).code.contains("require [S, S, S, S, S, S, S];"))
    }

    @Test func noUserTextEndsAStringOrAddsACommand() {
        let hostile = "x\" { discard; } if true { redirect \"a@b.test\"; } #\n\\\"; stop;"
        let filters = MailboxFilters(
            rules: [SortingRule(name: "evil \" name\n; discard;", conditions: [
                        Condition(field: .subject, test: .contains, value: hostile),
                        Condition(field: .header, header: "X-Weird", test: .matches, value: "*\\\"*")],
                                actions: [.fileInto("Fol\"der; discard"), .forward("a@b.test")])],
            spam: SpamFilter(enabled: true, folder: "Junk\"; discard"),
            responder: Responder(enabled: true, subject: "\"Away\"; discard", text: "Line one\n.\nLine \"three\" \\ end"),
            senders: SenderLists(blocked: ["evil.test"]))
        let script = SieveScript.render(filters, Self.context)
        let (code, strings) = Self.lex(script)
        #expect(strings.contains(hostile.replacingOccurrences(of: "\n", with: "\r\n")), "the text survives as one string")
        #expect(strings.contains("Fol\"der; discard") && strings.contains("\"Away\"; discard"))
        let commands = code.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }.joined(separator: "\n")
        #expect(!commands.contains("discard"), "no discard outside strings: the blocked action is junk here\n\(code)")
        #expect(!commands.contains("redirect S;") && commands.contains("redirect :copy S;"))
        #expect(script.contains("# Rule: evil \" name ; discard;\n"), "a comment stays on its line")
    }

    @Test func flagsGoWithTheKeptCopyWhenNothingIsFiledAndSizesAreBytes() {
        let filters = MailboxFilters(rules: [
            SortingRule(name: "Big", match: .any, conditions: [Condition(field: .size, test: .over, value: "2M"),
                                                               Condition(field: .to, test: .is, value: "list@example.org")],
                        actions: [.flag, .markRead])])
        let script = SieveScript.render(filters, Self.context)
        #expect(script.contains("if anyof(size :over 2097152, address :all :is [\"to\", \"cc\"] \"list@example.org\") {\n  keep :flags [\"\\\\Seen\", \"\\\\Flagged\"];\n}"), "\(script)")
        #expect(!script.contains("# Spam filter") && !script.contains("vacation :days"), "off sections are left out")
    }

    @Test func rulesAreValidatedBeforeTheyAreStored() throws {
        let good = try MailFilterRules.validate(SortingRule(name: "  News ", conditions: [Condition(field: .size, test: .under, value: " 10k ")],
                                                            actions: [.fileInto(" News/Daily ")]))
        #expect(good.name == "News" && good.conditions[0].value == "10K" && good.actions[0].folder == "News/Daily")
        let bad: [SortingRule] = [
            SortingRule(name: "", conditions: [Condition(field: .subject, test: .is, value: "x")], actions: [.discard]),
            SortingRule(name: "n", conditions: [], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .subject, test: .over, value: "1")], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .size, test: .is, value: "1")], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .size, test: .over, value: "lots")], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .header, header: "Bad: name", test: .is, value: "x")], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .subject, test: .is, value: "")], actions: [.discard]),
            SortingRule(name: "n", conditions: [Condition(field: .subject, test: .is, value: "x")], actions: [.stop, .discard]),
            SortingRule(name: "n", conditions: [Condition(field: .subject, test: .is, value: "x")], actions: [.fileInto("a//b")]),
            SortingRule(name: "n", conditions: [Condition(field: .subject, test: .is, value: "x")], actions: [.forward("not an address")]),
        ]
        for rule in bad { #expect(throws: PosternError.self, "\(rule)") { try MailFilterRules.validate(rule) } }
        #expect(try MailFilterRules.sender("@Spam.TEST") == "spam.test" && (try MailFilterRules.sender("Bob@Example.org")) == "Bob@example.org")
        #expect(throws: PosternError.self) { try MailFilterRules.validate(Responder(enabled: true, text: "x", start: "2026-13-01")) }
        #expect(throws: PosternError.self) { try MailFilterRules.validate(Responder(enabled: true, text: "x", start: "2026-12-10", end: "2026-12-01")) }
        #expect(throws: PosternError.self) { try MailFilterRules.validate(Responder(enabled: true, text: "  ")) }
    }

    /// Pigeonhole's own compiler accepts every script above (scripts/test installs dovecot-sieve).
    @Test func everyRenderedScriptCompilesWithTheRealSievec() throws {
        let sievec = "/usr/bin/sievec"
        try #require(FileManager.default.isExecutableFile(atPath: sievec), "sievec is missing: apt-get install dovecot-sieve (scripts/test does)")
        let hostile = "x\" { discard; } if true { redirect \"a@b.test\"; } #\n\\\"; stop; Café ☕"
        let scripts = [
            MailboxFilters(),
            MailboxFilters(
                rules: [SortingRule(name: "evil \" name\n; discard;", match: .any, conditions: [
                            Condition(field: .subject, test: .contains, value: hostile),
                            Condition(field: .header, header: "X-Weird", test: .matches, value: "*\\\"*"),
                            Condition(field: .from, test: .is, value: "a@b.test"), Condition(field: .to, test: .matches, value: "*@example.org"),
                            Condition(field: .size, test: .over, value: "2M")],
                                    actions: [.fileInto("Fol\"der; discard"), .markRead, .flag, .forward("a@b.test"), .stop]),
                        SortingRule(name: "flags only", conditions: [Condition(field: .size, test: .under, value: "1K")], actions: [.flag]),
                        SortingRule(name: "drop", conditions: [Condition(field: .subject, test: .is, value: "x")], actions: [.discard])],
                spam: SpamFilter(enabled: true, folder: "Junk"),
                responder: Responder(enabled: true, subject: "\"Away\"; discard", text: "Line one\n.\nLine \"three\" \\ end",
                                     start: "2026-12-01", end: "2026-12-31", onlyOwnDomains: true),
                senders: SenderLists(blocked: ["evil.test", "bad@evil.test"], approved: ["boss@partner.test", "partner.test"], blockedAction: .discard)),
        ]
        let dir = NSTemporaryDirectory() + "sieve-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (i, filters) in scripts.enumerated() {
            for header in [SieveScript.SpamHeader.score("X-Spam-Score"), .flag("X-Spam-Status")] {
                let path = "\(dir)/\(i).sieve"
                try SieveScript.render(filters, SieveScript.Context(addresses: ["a@example.org"], ownDomains: ["example.org"], spamHeader: header))
                    .write(toFile: path, atomically: true, encoding: .utf8)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: sievec)
                process.arguments = [path, "\(dir)/\(i).svbin"]
                let errors = Pipe()
                process.standardError = errors
                process.standardOutput = errors
                try process.run()
                process.waitUntilExit()
                let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                #expect(process.terminationStatus == 0, "sievec refused script \(i): \(said)\n\((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")")
            }
        }
    }
}
