import Foundation
import PosternCore

extension StoreTransaction {
    public func createMailbox(_ address: MailAddress) async throws -> Mailbox {
        guard let service = try await mailService(forDomain: address.domain) else {
            throw PosternError(.domainNotServed,
                               "no mail service holds domain \(address.domain); add one with `postern service add NAME --organization ORG --domain \(address.domain)`")
        }
        if let existing = try await String.fetchOne(self, sql: "SELECT address FROM mailbox WHERE lower(address) = lower(?)", arguments: [address.description]) {
            throw PosternError(.mailboxExists, existing == address.description
                ? "mailbox \(address) already exists" : "mailbox \(existing) already exists (mail addresses match whatever their case)")
        }
        if let owner = try await String.fetchOne(self, sql: "SELECT m.address FROM alias a JOIN mailbox m ON m.id = a.mailboxId WHERE a.address = ?",
                                           arguments: [address.description.lowercased()]) {
            throw PosternError(.addressTaken, "\(address) is an alias of \(owner); remove the alias first")
        }
        let now = Date()
        let id = try await insert(sql: "INSERT INTO mailbox (mailServiceId, address, createdAt) VALUES (?, ?, ?)",
                            arguments: [service.id, address.description, now])
        return Mailbox(id: id, address: address, mailService: service.name, createdAt: now)
    }

    /// A mailbox's address by id; nil when it is gone.
    public func mailboxAddress(id: Int64) async throws -> String? {
        try await String.fetchOne(self, sql: "SELECT address FROM mailbox WHERE id = ?", arguments: [id])
    }

    public func mailbox(_ address: MailAddress) async throws -> Mailbox {
        guard let row = try await StoreRow.fetchOne(self, sql: """
            SELECT m.id, m.createdAt, s.name AS service FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId WHERE m.address = ?
            """, arguments: [address.description]) else {
            throw PosternError.mailboxNotFound(address.description)
        }
        return Mailbox(id: row["id"], address: address, mailService: row["service"], createdAt: row["createdAt"])
    }

    /// Deletes a mailbox and its devices; returns the ids of the devices removed.
    /// Removes the mailbox and its devices; returns them (with their digests) for the password index.
    public func removeMailbox(_ address: MailAddress) async throws -> (Mailbox, [(id: Int64, digest: [UInt8]?)]) {
        let box = try await mailbox(address)
        let devices = try await deviceDigests(mailboxID: box.id!)
        try await execute(sql: "DELETE FROM mailbox WHERE id = ?", arguments: [box.id])
        return (box, devices)
    }

    // MARK: history

    /// Appends an entry; one about a mailbox belongs to the mailbox's organization, others to `organizationID`.
    public func appendHistory(_ entry: HistoryEntry, organizationID: Int64? = nil) async throws {
        try await cachedStatement(sql: """
            INSERT INTO history (at, mailbox, actor, action, detail, actorKind, origin, "before", "after", organizationId)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,
                    COALESCE(?, (SELECT s.organizationId FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId WHERE m.address = ?)))
            """).execute(arguments: [entry.at, entry.mailbox, entry.actor, entry.action, entry.detail, entry.actorKind, entry.origin,
                                     entry.before, entry.after, organizationID, entry.mailbox])
    }

    /// Appends entries with their organizations, known to the caller, in as few statements as
    /// there are hundreds of them (no lookup per row: planning one would be most of the cost).
    public func appendHistory(_ entries: [(entry: HistoryEntry, organizationID: Int64)]) async throws {
        for chunk in Self.chunks(entries, 500) {
            try await execute(sql: "INSERT INTO history (at, mailbox, actor, action, detail, actorKind, origin, \"before\", \"after\", organizationId) VALUES "
                        + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", "),
                        arguments: SQLArguments(chunk.flatMap { entry, organizationID -> [SQLValue] in
                            [entry.at.sqlValue, entry.mailbox.sqlValue, entry.actor.sqlValue, entry.action.sqlValue, entry.detail.sqlValue,
                             entry.actorKind.sqlValue, entry.origin.sqlValue, entry.before.sqlValue, entry.after.sqlValue, .integer(organizationID)]
                        }))
        }
    }

    public func history(mailbox: String, limit: Int = 100) async throws -> [HistoryEntry] {
        try await history(HistoryQuery(mailbox: mailbox, limit: limit))
    }

    /// Entries newest first, of one mailbox or one organization, in a time range, of one kind
    /// ("device" for every device action, or "device.add").
    public func history(_ query: HistoryQuery) async throws -> [HistoryEntry] {
        let (conditions, arguments) = Self.historyConditions(query)
        let sql = "SELECT * FROM history" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) + " ORDER BY id DESC LIMIT ?"
        return try await StoreRow.fetchAll(self, sql: sql, arguments: arguments + [query.limit]).map(Self.historyEntry(from:))
    }

    static func historyConditions(_ query: HistoryQuery) -> ([String], SQLArguments) {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        if let mailbox = query.mailbox { conditions.append("mailbox = ?"); arguments += [mailbox] }
        if let org = query.organizationID { conditions.append("organizationId = ?"); arguments += [org] }
        if let since = query.since { conditions.append("at >= ?"); arguments += [since] }
        if let until = query.until { conditions.append("at < ?"); arguments += [until] }
        if let kind = query.kind {
            conditions.append("(action = ? OR action LIKE ? ESCAPE '\\')")
            arguments += [kind, kind.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + ".%"]
        }
        return (conditions, arguments)
    }

    static func historyEntry(from row: StoreRow) -> HistoryEntry {
        HistoryEntry(id: row["id"], at: row["at"], mailbox: row["mailbox"], actor: row["actor"], action: row["action"], detail: row["detail"],
                     actorKind: row["actorKind"], origin: row["origin"], before: row["before"], after: row["after"])
    }
}

/// What `history` reads.
public struct HistoryQuery: Sendable {
    public var mailbox: String?
    public var organizationID: Int64?
    public var since: Date?
    public var until: Date?
    public var kind: String?
    public var limit: Int

    public init(mailbox: String? = nil, organizationID: Int64? = nil, since: Date? = nil, until: Date? = nil, kind: String? = nil, limit: Int = 100) {
        self.mailbox = mailbox
        self.organizationID = organizationID
        self.since = since
        self.until = until
        self.kind = kind
        self.limit = limit
    }
}
