import Foundation
import PosternCore

/// Sorting rules, the spam filter, the responder, the sender lists and signatures of mailboxes.
extension StoreTransaction {
    static let json: (JSONEncoder, JSONDecoder) = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (encoder, JSONDecoder())
    }()

    static func encode<T: Encodable>(_ value: T) throws -> String { String(decoding: try json.0.encode(value), as: UTF8.self) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T? {
        try text.map { try json.1.decode(T.self, from: Data($0.utf8)) }
    }

    /// A mailbox's rules in their order.
    public func sortingRules(mailboxID: Int64) async throws -> [SortingRule] {
        try await StoreRow.fetchAll(self, sql: "SELECT id, rule FROM sortingRule WHERE mailboxId = ? ORDER BY position, id", arguments: [mailboxID]).map { row in
            var rule = try Self.decode(SortingRule.self, row["rule"] as String)!
            rule.id = row["id"]
            return rule
        }
    }

    /// Replaces a mailbox's rules, in this order (ids kept for rules that have one).
    public func setSortingRules(mailboxID: Int64, _ rules: [SortingRule]) async throws -> [SortingRule] {
        let kept = Set(rules.compactMap(\.id))
        let existing = Set(try await Int64.fetchAll(self, sql: "SELECT id FROM sortingRule WHERE mailboxId = ?", arguments: [mailboxID]))
        for gone in existing.subtracting(kept) { try await execute(sql: "DELETE FROM sortingRule WHERE id = ?", arguments: [gone]) }
        var out: [SortingRule] = []
        for (position, var rule) in rules.enumerated() {
            let id = rule.id
            rule.id = nil
            let text = try Self.encode(rule)
            if let id, existing.contains(id) {
                try await execute(sql: "UPDATE sortingRule SET position = ?, rule = ?, updatedAt = ? WHERE id = ?", arguments: [position, text, Date(), id])
                rule.id = id
            } else {
                rule.id = try await insert(sql: "INSERT INTO sortingRule (mailboxId, position, rule, updatedAt) VALUES (?, ?, ?, ?)",
                                     arguments: [mailboxID, position, text, Date()])
            }
            out.append(rule)
        }
        return out
    }

    /// The spam filter, the responder and the sender lists (defaults when never set).
    public func mailSettings(mailboxID: Int64) async throws -> (SpamFilter, Responder, SenderLists) {
        let row = try await StoreRow.fetchOne(self, sql: "SELECT spam, responder, senders FROM mailSettings WHERE mailboxId = ?", arguments: [mailboxID])
        return (try Self.decode(SpamFilter.self, row?["spam"]) ?? SpamFilter(),
                try Self.decode(Responder.self, row?["responder"]) ?? Responder(),
                try Self.decode(SenderLists.self, row?["senders"]) ?? SenderLists())
    }

    public func setMailSettings(mailboxID: Int64, spam: SpamFilter, responder: Responder, senders: SenderLists) async throws {
        try await execute(sql: """
            INSERT INTO mailSettings (mailboxId, spam, responder, senders, updatedAt) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(mailboxId) DO UPDATE SET spam = excluded.spam, responder = excluded.responder, senders = excluded.senders,
                                                 updatedAt = excluded.updatedAt
            """, arguments: [mailboxID, try Self.encode(spam), try Self.encode(responder), try Self.encode(senders), Date()])
    }

    /// Every mailbox's filters and aliases, for writing every script (at start, or after a restore).
    public func mailboxFilters(mailboxID: Int64) async throws -> MailboxFilters {
        let (spam, responder, senders) = try await mailSettings(mailboxID: mailboxID)
        return MailboxFilters(rules: try await sortingRules(mailboxID: mailboxID), spam: spam, responder: responder, senders: senders)
    }

    /// The mailboxes that have any rule or setting.
    /// Whether the mailbox has a spam filter, responder, sender list or rule (so a Sieve script).
    public func hasFilters(mailboxID: Int64) async throws -> Bool {
        try await Bool.fetchOne(self, sql: """
            SELECT EXISTS (SELECT 1 FROM mailSettings WHERE mailboxId = ?) OR EXISTS (SELECT 1 FROM sortingRule WHERE mailboxId = ?)
            """, arguments: [mailboxID, mailboxID]) == true
    }

    /// The mailboxes with a spam filter, responder, sender list or rule: those with a Sieve script.
    public func mailboxesWithFilters() async throws -> [Mailbox] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT m.id, m.address, m.createdAt, s.name AS service FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId
            WHERE m.id IN (SELECT mailboxId FROM mailSettings UNION SELECT mailboxId FROM sortingRule) ORDER BY m.address
            """).map { Mailbox(id: $0["id"], address: try MailAddress($0["address"] as String), mailService: $0["service"], createdAt: $0["createdAt"]) }
    }

    public func signature(mailboxID: Int64, userID: Int64) async throws -> (text: String, replyTo: String?)? {
        try await StoreRow.fetchOne(self, sql: "SELECT text, replyTo FROM signature WHERE mailboxId = ? AND userId = ?", arguments: [mailboxID, userID])
            .map { ($0["text"], $0["replyTo"]) }
    }

    public func setSignature(mailboxID: Int64, userID: Int64, text: String, replyTo: String?) async throws {
        try await execute(sql: """
            INSERT INTO signature (mailboxId, userId, text, replyTo, updatedAt) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(mailboxId, userId) DO UPDATE SET text = excluded.text, replyTo = excluded.replyTo, updatedAt = excluded.updatedAt
            """, arguments: [mailboxID, userID, text, replyTo, Date()])
    }
}
