import Foundation
import PosternCore

/// Users, their memberships, and what they were given: the facts the rule set decides from.
extension StoreTransaction {
    // MARK: users

    public func createUser(login: String, displayName: String, passwordHash: String?) async throws -> User {
        let login = try User.login(login)
        let name = try Names.validate(displayName.isEmpty ? login : displayName, what: "a display name")
        if try await user(login: login) != nil {
            throw PosternError(.userExists, "a user with login \(login) already exists")
        }
        let now = Date()
        let id = try await insert(sql: "INSERT INTO \"user\" (login, displayName, passwordHash, createdAt) VALUES (?, ?, ?, ?)",
                            arguments: [login, name, passwordHash, now])
        return User(id: id, login: login, displayName: name, canSignIn: passwordHash != nil, createdAt: now)
    }

    public func user(login: String) async throws -> User? {
        try await StoreRow.fetchOne(self, sql: "SELECT * FROM \"user\" WHERE lower(login) = lower(?)", arguments: [login]).map(Self.user(from:))
    }

    public func requireUser(login: String) async throws -> User {
        guard let found = try await user(login: try User.login(login)) else {
            throw PosternError(.userNotFound, "no user with login \(login.prefix(254)); `postern user add` creates one")
        }
        return found
    }

    public func passwordHash(userID: Int64) async throws -> String? {
        try await String.fetchOne(self, sql: "SELECT passwordHash FROM \"user\" WHERE id = ?", arguments: [userID])
    }

    public func setPasswordHash(userID: Int64, _ hash: String) async throws {
        try await execute(sql: "UPDATE \"user\" SET passwordHash = ? WHERE id = ?", arguments: [hash, userID])
    }

    public func removeUser(id: Int64) async throws {
        try await execute(sql: "DELETE FROM \"user\" WHERE id = ?", arguments: [id])
    }

    static func user(from row: StoreRow) -> User {
        User(id: row["id"], login: row["login"], displayName: row["displayName"], canSignIn: (row["passwordHash"] as String?) != nil,
             createdAt: row["createdAt"])
    }

    // MARK: members

    public func role(userID: Int64, organizationID: Int64) async throws -> Role? {
        try await String.fetchOne(self, sql: "SELECT role FROM membership WHERE userId = ? AND organizationId = ?",
                            arguments: [userID, organizationID]).flatMap(Role.init(rawValue:))
    }

    public func setRole(userID: Int64, organizationID: Int64, _ role: Role) async throws {
        try await execute(sql: """
            INSERT INTO membership (userId, organizationId, role, createdAt) VALUES (?, ?, ?, ?)
            ON CONFLICT (userId, organizationId) DO UPDATE SET role = excluded.role
            """, arguments: [userID, organizationID, role.rawValue, Date()])
    }

    /// Takes the user out of the organization with what they were given there.
    public func removeMembership(userID: Int64, organizationID: Int64) async throws {
        try await execute(sql: """
            DELETE FROM mailboxAccess WHERE userId = ? AND mailboxId IN
              (SELECT m.id FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId WHERE s.organizationId = ?)
            """, arguments: [userID, organizationID])
        try await execute(sql: "DELETE FROM serviceGrant WHERE userId = ? AND mailServiceId IN (SELECT id FROM mailService WHERE organizationId = ?)",
                    arguments: [userID, organizationID])
        try await execute(sql: "DELETE FROM membership WHERE userId = ? AND organizationId = ?", arguments: [userID, organizationID])
    }

    public func members(organizationID: Int64) async throws -> [Member] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT u.login, u.displayName, o.name AS organization, ms.role FROM membership ms
            JOIN \"user\" u ON u.id = ms.userId JOIN organization o ON o.id = ms.organizationId
            WHERE ms.organizationId = ? ORDER BY u.login
            """, arguments: [organizationID]).map {
            Member(login: $0["login"], displayName: $0["displayName"], organization: $0["organization"], role: Role(rawValue: $0["role"]) ?? .external)
        }
    }

    public func legalRepresentativeCount(organizationID: Int64) async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM membership WHERE organizationId = ? AND role = 'legal-representative'",
                         arguments: [organizationID]) ?? 0
    }

    // MARK: what users were given

    public func setAccess(userID: Int64, mailboxID: Int64, _ permissions: MailboxPermission) async throws {
        try await execute(sql: """
            INSERT INTO mailboxAccess (userId, mailboxId, permissions, updatedAt) VALUES (?, ?, ?, ?)
            ON CONFLICT (userId, mailboxId) DO UPDATE SET permissions = excluded.permissions, updatedAt = excluded.updatedAt
            """, arguments: [userID, mailboxID, Int(permissions.rawValue), Date()])
    }

    public func access(userID: Int64, mailboxID: Int64) async throws -> MailboxPermission? {
        try await Int.fetchOne(self, sql: "SELECT permissions FROM mailboxAccess WHERE userId = ? AND mailboxId = ?", arguments: [userID, mailboxID])
            .map { MailboxPermission(rawValue: UInt16(truncatingIfNeeded: $0)) }
    }

    public func removeAccess(userID: Int64, mailboxID: Int64) async throws {
        try await execute(sql: "DELETE FROM mailboxAccess WHERE userId = ? AND mailboxId = ?", arguments: [userID, mailboxID])
    }

    /// Who may do what on a mailbox (by login), or what one user was given (by mailbox).
    public func accessList(mailboxID: Int64? = nil, userID: Int64? = nil, organizationID: Int64? = nil) async throws -> [MailboxAccess] {
        var sql = """
            SELECT u.login, m.address, a.permissions FROM mailboxAccess a JOIN \"user\" u ON u.id = a.userId
            JOIN mailbox m ON m.id = a.mailboxId JOIN mailService s ON s.id = m.mailServiceId
            """
        var conditions: [String] = []
        var arguments: SQLArguments = []
        if let mailboxID { conditions.append("a.mailboxId = ?"); arguments += [mailboxID] }
        if let userID { conditions.append("a.userId = ?"); arguments += [userID] }
        if let organizationID { conditions.append("s.organizationId = ?"); arguments += [organizationID] }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return try await StoreRow.fetchAll(self, sql: sql + " ORDER BY m.address, u.login", arguments: arguments).map {
            MailboxAccess(login: $0["login"], mailbox: $0["address"], permissions: MailboxPermission(rawValue: UInt16(truncatingIfNeeded: $0["permissions"] as Int)))
        }
    }

    public func grantService(userID: Int64, serviceID: Int64) async throws {
        try await execute(sql: "INSERT INTO serviceGrant (userId, mailServiceId) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [userID, serviceID])
    }

    public func revokeService(userID: Int64, serviceID: Int64) async throws -> Bool {
        try await execute(sql: "DELETE FROM serviceGrant WHERE userId = ? AND mailServiceId = ?", arguments: [userID, serviceID]) > 0
    }

    /// The logins a mail service was given to.
    public func serviceGrants(serviceID: Int64) async throws -> [String] {
        try await String.fetchAll(self, sql: "SELECT u.login FROM serviceGrant g JOIN \"user\" u ON u.id = g.userId WHERE g.mailServiceId = ? ORDER BY u.login",
                            arguments: [serviceID])
    }

    /// The mail services of one organization given to a user, by name.
    public func serviceGrantNames(userID: Int64, organizationID: Int64) async throws -> [String] {
        try await String.fetchAll(self, sql: """
            SELECT s.name FROM serviceGrant g JOIN mailService s ON s.id = g.mailServiceId WHERE g.userId = ? AND s.organizationId = ? ORDER BY s.name
            """, arguments: [userID, organizationID])
    }

    /// How many organizations a user belongs to.
    public func membershipCount(userID: Int64) async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM membership WHERE userId = ?", arguments: [userID]) ?? 0
    }

    public func defaultPermissions(serviceID: Int64) async throws -> MailboxPermission {
        MailboxPermission(rawValue: UInt16(truncatingIfNeeded: try await Int.fetchOne(self, sql: "SELECT defaultPermissions FROM mailService WHERE id = ?",
                                                                                 arguments: [serviceID]) ?? 0))
    }

    public func setDefaultPermissions(serviceID: Int64, _ permissions: MailboxPermission) async throws {
        try await execute(sql: "UPDATE mailService SET defaultPermissions = ? WHERE id = ?", arguments: [Int(permissions.rawValue), serviceID])
    }

    /// Everything the rule set needs to know of one user, read in the transaction that acts.
    public func rights(userID: Int64) async throws -> Rights {
        var rights = Rights()
        for row in try await StoreRow.fetchAll(self, sql: "SELECT organizationId, role FROM membership WHERE userId = ?", arguments: [userID]) {
            if let role = Role(rawValue: row["role"]) { rights.roles[row["organizationId"]] = role }
        }
        rights.services = Set(try await Int64.fetchAll(self, sql: "SELECT mailServiceId FROM serviceGrant WHERE userId = ?", arguments: [userID]))
        for row in try await StoreRow.fetchAll(self, sql: "SELECT mailboxId, permissions FROM mailboxAccess WHERE userId = ?", arguments: [userID]) {
            rights.mailboxes[row["mailboxId"]] = MailboxPermission(rawValue: UInt16(truncatingIfNeeded: row["permissions"] as Int))
        }
        return rights
    }

    // MARK: targets

    public func mailboxTarget(_ address: MailAddress) async throws -> MailboxTarget? {
        try await StoreRow.fetchOne(self, sql: """
            SELECT m.id, m.mailServiceId, s.organizationId FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId WHERE m.address = ?
            """, arguments: [address.description]).map {
            MailboxTarget(id: $0["id"], address: address.description, service: ServiceTarget(id: $0["mailServiceId"], organizationID: $0["organizationId"]))
        }
    }

    public func serviceTarget(name: String) async throws -> ServiceTarget? {
        try await StoreRow.fetchOne(self, sql: "SELECT id, organizationId FROM mailService WHERE lower(name) = lower(?)", arguments: [name]).map {
            ServiceTarget(id: $0["id"], organizationID: $0["organizationId"])
        }
    }
}

extension StoreTransaction {
    /// The LIKE pattern of the addresses in `domain` (its `\`, `%` and `_` taken literally).
    static func inDomain(_ domain: String) -> String {
        "%@" + domain.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// The addresses of one mail service's mailboxes, read by its index.
    public func mailboxAddresses(serviceID: Int64) async throws -> [String] {
        try await String.fetchAll(self, sql: "SELECT address FROM mailbox WHERE mailServiceId = ? ORDER BY address", arguments: [serviceID])
    }
}
