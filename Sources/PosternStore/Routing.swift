import Foundation
import PosternCore

/// Aliases and redirections: rows the routing index is loaded from and kept in step with.
extension StoreTransaction {
    /// Whether an address is taken, by a mailbox or an alias, whatever its case: the reason.
    public func addressTaken(_ address: String) async throws -> String? {
        if let box = try await String.fetchOne(self, sql: "SELECT address FROM mailbox WHERE lower(address) = lower(?)", arguments: [address]) {
            return "it is the mailbox \(box)"
        }
        if let owner = try await String.fetchOne(self, sql: """
            SELECT m.address FROM alias a JOIN mailbox m ON m.id = a.mailboxId WHERE a.address = ?
            """, arguments: [address.lowercased()]) {
            return "it is already an alias of \(owner)"
        }
        return nil
    }

    public func insertAlias(_ address: String, mailboxID: Int64, mailbox: String, at date: Date = Date()) async throws -> Alias {
        try await execute(sql: "INSERT INTO alias (mailboxId, address, createdAt) VALUES (?, ?, ?)", arguments: [mailboxID, address, date])
        return Alias(address: address, mailbox: mailbox, createdAt: date)
    }

    /// The alias (lowercase address) of this mailbox, if it is one of its aliases.
    public func alias(_ address: String, mailboxID: Int64) async throws -> Alias? {
        try await StoreRow.fetchOne(self, sql: """
            SELECT a.address, a.createdAt, m.address AS mailbox FROM alias a JOIN mailbox m ON m.id = a.mailboxId
            WHERE a.address = ? AND a.mailboxId = ?
            """, arguments: [address.lowercased(), mailboxID]).map { Alias(address: $0["address"], mailbox: $0["mailbox"], createdAt: $0["createdAt"]) }
    }

    public func deleteAlias(_ address: String) async throws {
        try await execute(sql: "DELETE FROM alias WHERE address = ?", arguments: [address.lowercased()])
    }

    /// One mailbox's aliases, or every alias (for the index), in address order.
    public func aliases(mailboxID: Int64? = nil) async throws -> [Alias] {
        let filter = mailboxID == nil ? "" : "WHERE a.mailboxId = ?"
        return try await StoreRow.fetchAll(self, sql: """
            SELECT a.address, a.createdAt, m.address AS mailbox FROM alias a JOIN mailbox m ON m.id = a.mailboxId \(filter) ORDER BY a.address
            """, arguments: mailboxID.map { [$0] } ?? []).map { Alias(address: $0["address"], mailbox: $0["mailbox"], createdAt: $0["createdAt"]) }
    }

    public func aliasCount(mailboxID: Int64) async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM alias WHERE mailboxId = ?", arguments: [mailboxID]) ?? 0
    }

    public func setRedirection(mailboxID: Int64, _ redirection: Redirection, at date: Date = Date()) async throws {
        try await execute(sql: """
            INSERT INTO redirection (mailboxId, targets, keepCopy, updatedAt) VALUES (?, ?, ?, ?)
            ON CONFLICT(mailboxId) DO UPDATE SET targets = excluded.targets, keepCopy = excluded.keepCopy, updatedAt = excluded.updatedAt
            """, arguments: [mailboxID, redirection.targets.joined(separator: "\n"), redirection.keepCopy, date])
    }

    public func redirection(mailboxID: Int64, mailbox: String) async throws -> Redirection? {
        try await StoreRow.fetchOne(self, sql: "SELECT targets, keepCopy FROM redirection WHERE mailboxId = ?", arguments: [mailboxID]).map {
            Redirection(mailbox: mailbox, targets: ($0["targets"] as String).split(separator: "\n").map(String.init), keepCopy: $0["keepCopy"])
        }
    }

    public func deleteRedirection(mailboxID: Int64) async throws {
        try await execute(sql: "DELETE FROM redirection WHERE mailboxId = ?", arguments: [mailboxID])
    }

    /// The redirections that send mail to one of `addresses` (any case), with their mailboxes' ids:
    /// what a mailbox's removal takes out of others' redirections.
    public func redirections(to addresses: [String]) async throws -> [(mailboxID: Int64, redirection: Redirection)] {
        guard !addresses.isEmpty else { return [] }
        // Targets are stored one per line: a whole line matches, never a part of one.
        let escaped = addresses.map { "%\n" + $0.lowercased().replacingOccurrences(of: "!", with: "!!").replacingOccurrences(of: "%", with: "!%")
            .replacingOccurrences(of: "_", with: "!_") + "\n%" }
        let match = Array(repeating: "lower('\n' || r.targets || '\n') LIKE ? ESCAPE '!'", count: escaped.count).joined(separator: " OR ")
        return try await StoreRow.fetchAll(self, sql: """
            SELECT r.mailboxId, m.address, r.targets, r.keepCopy FROM redirection r JOIN mailbox m ON m.id = r.mailboxId
            WHERE \(match) ORDER BY m.address
            """, arguments: SQLArguments(escaped.map { $0.sqlValue })).map {
            ($0["mailboxId"], Redirection(mailbox: $0["address"], targets: ($0["targets"] as String).split(separator: "\n").map(String.init),
                                          keepCopy: $0["keepCopy"]))
        }
    }

    /// Every domain of every mail service (for the index).
    public func servedDomains() async throws -> [String] {
        try await String.fetchAll(self, sql: "SELECT name FROM domain ORDER BY name")
    }

    /// Every redirection (for the index).
    public func redirections() async throws -> [Redirection] {
        try await StoreRow.fetchAll(self, sql: "SELECT m.address, r.targets, r.keepCopy FROM redirection r JOIN mailbox m ON m.id = r.mailboxId").map {
            Redirection(mailbox: $0["address"], targets: ($0["targets"] as String).split(separator: "\n").map(String.init), keepCopy: $0["keepCopy"])
        }
    }

    /// Every mailbox address (for the index), without the rest of the row.
    /// Every mailbox's address (the routing index at start), 100,000 to a statement by id.
    public func forEachMailboxAddress(chunk: Int = 100_000, _ body: (String) throws -> Void) async throws {
        var after: Int64 = 0
        var read = chunk
        while read == chunk {
            read = 0
            try await StoreRow.forEach(self, sql: "SELECT id, address FROM mailbox WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, chunk]) {
                after = $0[0]
                read += 1
                try body($0[1])
            }
        }
    }

    public func redirectionScope(organizationID: Int64) async throws -> RedirectionScope {
        try await String.fetchOne(self, sql: "SELECT redirectionScope FROM organization WHERE id = ?", arguments: [organizationID])
            .flatMap(RedirectionScope.init(rawValue:)) ?? .any
    }

    public func setRedirectionScope(organizationID: Int64, _ scope: RedirectionScope) async throws {
        try await execute(sql: "UPDATE organization SET redirectionScope = ? WHERE id = ?", arguments: [scope.rawValue, organizationID])
    }

    /// The domains of every mail service of an organization.
    public func domains(organizationID: Int64) async throws -> Set<String> {
        Set(try await String.fetchAll(self, sql: """
            SELECT d.name FROM domain d JOIN mailService s ON s.id = d.mailServiceId WHERE s.organizationId = ?
            """, arguments: [organizationID]))
    }

    /// The domains of one mail service.
    public func domains(serviceID: Int64) async throws -> [String] {
        try await String.fetchAll(self, sql: "SELECT name FROM domain WHERE mailServiceId = ? ORDER BY name", arguments: [serviceID])
    }
}
