import Foundation

/// What the settings of a mailbox's Sieve script may hold: checked before they are stored, so
/// that a stored setting always renders. Each refusal says what to fix.
public enum MailFilterRules {
    public static let maxRules = 100
    public static let maxConditions = 20
    public static let maxActions = 10
    public static let maxValue = 1000
    public static let maxSenders = 1000

    static func invalid(_ code: PosternError.Code, _ message: String) -> PosternError { PosternError(code, message) }

    /// A rule as stored: name and values trimmed; nothing that would not render.
    public static func validate(_ rule: SortingRule) throws(PosternError) -> SortingRule {
        var rule = rule
        rule.name = rule.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !rule.name.isEmpty, rule.name.count <= 100 else { throw invalid(.invalidRule, "a rule needs a name of 1 to 100 characters") }
        guard !rule.conditions.isEmpty, rule.conditions.count <= maxConditions else {
            throw invalid(.invalidRule, "rule '\(rule.name)' needs 1 to \(maxConditions) conditions")
        }
        guard !rule.actions.isEmpty, rule.actions.count <= maxActions else {
            throw invalid(.invalidRule, "rule '\(rule.name)' needs 1 to \(maxActions) actions")
        }
        rule.conditions = try rule.conditions.map { condition throws(PosternError) in try validate(condition, in: rule.name) }
        rule.actions = try rule.actions.map { action throws(PosternError) in try validate(action, in: rule.name) }
        if let stop = rule.actions.firstIndex(where: { $0.kind == .stop }), stop != rule.actions.count - 1 {
            throw invalid(.invalidRule, "in rule '\(rule.name)', stop must be the last action")
        }
        return rule
    }

    static func validate(_ condition: Condition, in rule: String) throws(PosternError) -> Condition {
        var condition = condition
        let sized = condition.test == .over || condition.test == .under
        guard sized == (condition.field == .size) else {
            throw invalid(.invalidCondition, "in rule '\(rule)', size takes over or under, and only size does")
        }
        if condition.field == .header {
            let name = (condition.header ?? "").trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.utf8.count <= 76, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw invalid(.invalidCondition, "in rule '\(rule)', a header test needs a header name (printable ASCII, no colon, such as List-Id)")
            }
            condition.header = name
        } else {
            condition.header = nil
        }
        if sized {
            guard size(condition.value) != nil else {
                throw invalid(.invalidCondition, "in rule '\(rule)', a size is a whole number of bytes, or with K or M (100K, 2M)")
            }
            condition.value = condition.value.trimmingCharacters(in: .whitespaces).uppercased()
        } else {
            guard !condition.value.isEmpty, condition.value.count <= maxValue, !condition.value.contains("\u{0}") else {
                throw invalid(.invalidCondition, "in rule '\(rule)', a condition needs a text of 1 to \(maxValue) characters")
            }
        }
        return condition
    }

    static func validate(_ action: RuleAction, in rule: String) throws(PosternError) -> RuleAction {
        var action = action
        switch action.kind {
        case .fileinto:
            action.folder = try folder(action.folder ?? "", in: rule)
            action.address = nil
        case .forward:
            let address = try MailAddress((action.address ?? "").trimmingCharacters(in: .whitespaces))
            action.address = address.description
            action.folder = nil
        case .markread, .flag, .discard, .stop:
            action.folder = nil
            action.address = nil
        }
        return action
    }

    /// A size such as `100K`, `2M` or `5000`, in bytes.
    public static func size(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let (digits, unit) = t.last.map { $0 == "K" || $0 == "M" ? (String(t.dropLast()), $0) : (t, Character(" ")) } ?? ("", " ")
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let n = Int(digits), n >= 0 else { return nil }
        return unit == "K" ? n * 1024 : unit == "M" ? n * 1024 * 1024 : n
    }

    /// An IMAP folder name a rule or a filter files into: `Work/Clients`, `Junk`.
    public static func folder(_ text: String, in rule: String? = nil) throws(PosternError) -> String {
        let name = text.trimmingCharacters(in: .whitespaces)
        let place = rule.map { "in rule '\($0)', " } ?? ""
        guard !name.isEmpty, name.utf8.count <= 255 else { throw invalid(.invalidFolder, "\(place)a folder name must be 1 to 255 bytes") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }), !name.hasPrefix("/"), !name.hasSuffix("/"),
              !name.hasPrefix("-"),  // never read as an option by doveadm
              !name.contains("//"), !name.contains("*"), !name.contains("%") else {
            throw invalid(.invalidFolder, "\(place)'\(name.prefix(80))' is not a folder name (no control characters, *, %, leading -, or empty parts between /)")
        }
        guard name.uppercased() != "INBOX" || rule == nil else { return "INBOX" }
        return name
    }

    /// A blocked or approved entry: `someone@example.com`, or a whole domain `example.com` (`@example.com` too).
    public static func sender(_ text: String) throws(PosternError) -> String {
        let entry = text.trimmingCharacters(in: .whitespaces)
        if entry.hasPrefix("@") || !entry.contains("@") {
            let domain = String(entry.drop(while: { $0 == "@" })).lowercased()
            try MailAddress.validate(domain: domain)
            return domain
        }
        return try MailAddress(entry).description
    }

    public static func validate(_ senders: SenderLists) throws(PosternError) -> SenderLists {
        var out = senders
        guard senders.blocked.count <= maxSenders, senders.approved.count <= maxSenders else {
            throw invalid(.tooManySenders, "a mailbox lists \(maxSenders) blocked and \(maxSenders) approved senders at most")
        }
        out.blocked = try unique(senders.blocked.map { entry throws(PosternError) in try sender(entry) })
        out.approved = try unique(senders.approved.map { entry throws(PosternError) in try sender(entry) })
        return out
    }

    static func unique(_ entries: [String]) -> [String] {
        var seen = Set<String>()
        return entries.filter { seen.insert($0.lowercased()).inserted }
    }

    public static func validate(_ spam: SpamFilter) throws(PosternError) -> SpamFilter {
        guard (0...1000).contains(spam.threshold) else { throw invalid(.invalidThreshold, "a spam threshold is a whole number from 0 to 1000") }
        var spam = spam
        spam.folder = try folder(spam.folder)
        return spam
    }

    public static func validate(_ responder: Responder) throws(PosternError) -> Responder {
        var r = responder
        r.subject = r.subject.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.subject.count <= 200, !r.subject.contains(where: \.isNewline) else {
            throw invalid(.invalidResponder, "the reply's subject is one line of at most 200 characters")
        }
        guard r.text.count <= 10_000, !r.text.contains("\u{0}") else { throw invalid(.invalidResponder, "the reply's text is at most 10,000 characters") }
        if r.enabled, r.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw invalid(.invalidResponder, "an automatic reply that is on needs a text")
        }
        guard (1...30).contains(r.days) else { throw invalid(.invalidResponder, "a sender is answered once in 1 to 30 days") }
        for (name, day) in [("start", r.start), ("end", r.end)] {
            guard let day else { continue }
            guard day.count == 10, (try? Date(day + "T00:00:00Z", strategy: .iso8601)) != nil else {
                throw invalid(.invalidResponder, "the \(name) date is a day such as 2026-12-24")
            }
        }
        if let start = r.start, let end = r.end, start > end {
            throw invalid(.invalidResponder, "the reply ends (\(end)) before it starts (\(start))")
        }
        return r
    }
}
