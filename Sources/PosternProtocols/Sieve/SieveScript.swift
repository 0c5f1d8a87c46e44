import PosternCore

/// A mailbox's Sieve script (RFC 5228 with fileinto, imap4flags, copy, vacation, date and
/// relational), rendered from its settings in a fixed order:
///
/// 1. **approved** senders skip 2 and 3;
/// 2. **blocked** senders: discarded, or filed into the spam folder; then stop;
/// 3. **spam**: a score at or over the threshold (or the flag header saying yes): filed, then stop;
/// 4. the enabled **rules**, in order;
/// 5. the **responder** (vacation), within its dates.
///
/// Every text from a user is a quoted string with `\` and `"` escaped and line breaks as CRLF:
/// nothing a user types can end a string or add a command.
public enum SieveScript {
    /// How the operator's spam scanner marks mail.
    public enum SpamHeader: Sendable, Equatable {
        /// A numeric score header (`X-Spam-Score: 6.3`): spam at or over the threshold.
        case score(String)
        /// A yes/no header (`X-Spam-Status: Yes, score=6.3 …`): spam when it starts with yes.
        case flag(String)
    }

    public struct Context: Sendable, Equatable {
        /// The mailbox and its aliases: the addresses the responder answers for.
        public var addresses: [String]
        /// The organization's domains (the responder's "only my domain").
        public var ownDomains: [String]
        public var spamHeader: SpamHeader
        public init(addresses: [String], ownDomains: [String], spamHeader: SpamHeader = .score("X-Spam-Score")) {
            self.addresses = addresses
            self.ownDomains = ownDomains
            self.spamHeader = spamHeader
        }
    }

    public static func render(_ filters: MailboxFilters, _ context: Context) -> String {
        var out = "# Written by Postern: changes made here are replaced on the next change in Postern.\n"
        out += "require [\"fileinto\", \"imap4flags\", \"copy\", \"vacation\", \"date\", \"relational\", \"comparator-i;ascii-numeric\"];\n\n"
        let approved = senderTest(filters.senders.approved)
        let blocked = senderTest(filters.senders.blocked)
        let guarded = approved.map { "not " + $0 }
        if let blocked {
            out += "# Blocked senders\n"
            out += "if \(all([guarded, blocked].compactMap { $0 })) {\n"
            out += filters.senders.blockedAction == .discard ? "  discard;\n" : "  fileinto \(quoted(filters.spam.folder));\n"
            out += "  stop;\n}\n"
        }
        if filters.spam.enabled {
            out += "# Spam filter\n"
            out += "if \(all([guarded, spamTest(filters.spam, context.spamHeader)].compactMap { $0 })) {\n"
            out += "  fileinto \(quoted(filters.spam.folder));\n  stop;\n}\n"
        }
        for rule in filters.rules where rule.enabled {
            out += "# Rule: \(comment(rule.name))\n"
            let tests = rule.conditions.map(test)
            out += "if \(tests.count == 1 ? tests[0] : "\(rule.match == .all ? "allof" : "anyof")(\(tests.joined(separator: ", ")))") {\n"
            out += actions(rule.actions)
            out += "}\n"
        }
        if filters.responder.enabled, !filters.responder.text.isEmpty {
            out += "# Automatic reply\n"
            var window: [String] = []
            if let start = filters.responder.start { window.append("currentdate :zone \"+0000\" :value \"ge\" \"date\" \(quoted(start))") }
            if let end = filters.responder.end { window.append("currentdate :zone \"+0000\" :value \"le\" \"date\" \(quoted(end))") }
            if filters.responder.onlyOwnDomains, !context.ownDomains.isEmpty {
                window.append("address :domain :is \"from\" \(list(context.ownDomains))")
            }
            var vacation = "vacation :days \(filters.responder.days)"
            if !filters.responder.subject.isEmpty { vacation += " :subject \(quoted(filters.responder.subject))" }
            if !context.addresses.isEmpty { vacation += " :addresses \(list(context.addresses))" }
            vacation += " \(quoted(filters.responder.text));\n"
            out += window.isEmpty ? vacation : "if \(all(window)) {\n  \(vacation)}\n"
        }
        return out
    }

    static func all(_ tests: [String]) -> String { tests.count == 1 ? tests[0] : "allof(\(tests.joined(separator: ", ")))" }

    /// Addresses (`a@b.example`) and domains (`b.example`), tested on the envelope-level From.
    static func senderTest(_ entries: [String]) -> String? {
        let addresses = entries.filter { $0.contains("@") }, domains = entries.filter { !$0.contains("@") }
        var tests: [String] = []
        if !addresses.isEmpty { tests.append("address :all :comparator \"i;ascii-casemap\" :is \"from\" \(list(addresses))") }
        if !domains.isEmpty { tests.append("address :domain :comparator \"i;ascii-casemap\" :is \"from\" \(list(domains))") }
        return tests.isEmpty ? nil : tests.count == 1 ? tests[0] : "anyof(\(tests.joined(separator: ", ")))"
    }

    /// A score header compared as a number: only values starting with a digit (the ascii-numeric
    /// comparator takes anything else, a negative score included, as infinity).
    static func spamTest(_ spam: SpamFilter, _ header: SpamHeader) -> String {
        switch header {
        case let .score(name):
            let digits = list((0...9).map { "\($0)*" })
            return "allof(header :matches \(quoted(name)) \(digits), "
                + "header :value \"ge\" :comparator \"i;ascii-numeric\" \(quoted(name)) \(quoted(String(spam.threshold))))"
        case let .flag(name):
            return "header :matches :comparator \"i;ascii-casemap\" \(quoted(name)) \"yes*\""
        }
    }

    static func test(_ condition: Condition) -> String {
        let match = ":" + condition.test.rawValue
        switch condition.field {
        case .from: return "address :all \(match) \"from\" \(quoted(condition.value))"
        case .to: return "address :all \(match) [\"to\", \"cc\"] \(quoted(condition.value))"
        case .subject: return "header \(match) \"subject\" \(quoted(condition.value))"
        case .header: return "header \(match) \(quoted(condition.header ?? "")) \(quoted(condition.value))"
        case .size: return "size \(condition.test == .over ? ":over" : ":under") \(MailFilterRules.size(condition.value) ?? 0)"
        }
    }

    /// Flags go with the filing (`fileinto :flags`), or with the kept copy when nothing is filed.
    static func actions(_ actions: [RuleAction]) -> String {
        var flags: [String] = []
        if actions.contains(where: { $0.kind == .markread }) { flags.append("\\\\Seen") }
        if actions.contains(where: { $0.kind == .flag }) { flags.append("\\\\Flagged") }
        let tag = flags.isEmpty ? "" : " :flags [\(flags.map { "\"\($0)\"" }.joined(separator: ", "))]"
        var out = ""
        for action in actions {
            switch action.kind {
            case .fileinto: out += "  fileinto\(tag) \(quoted(action.folder ?? "INBOX"));\n"
            case .forward: out += "  redirect :copy \(quoted(action.address ?? ""));\n"
            case .discard: out += "  discard;\n"
            case .stop: out += "  stop;\n"
            case .markread, .flag: continue
            }
        }
        if !flags.isEmpty, !actions.contains(where: { $0.kind == .fileinto || $0.kind == .discard }) {
            out = "  keep\(tag);\n" + out
        }
        return out
    }

    static func list(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    /// A Sieve quoted string: backslash and double quote escaped, every line break as CRLF
    /// (RFC 5228 2.4.2 allows CRLF, and no bare CR or LF, inside a quoted string).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\r": continue
            case "\n": out += "\r\n"
            case "\u{0}": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A rule name in a `#` comment: one line.
    static func comment(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.isWhitespace || $0.value < 0x20 ? " " : Character($0) })
    }
}
