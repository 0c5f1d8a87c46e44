import Foundation
import PosternCore

extension StoreTransaction {
    public func organizationID(_ name: String) async throws -> Int64 {
        guard let id = try await Int64.fetchOne(self, sql: "SELECT id FROM organization WHERE lower(name) = lower(?)", arguments: [name]) else {
            throw PosternError.organizationNotFound(name)
        }
        return id
    }

    public func createOrganization(_ name: String) async throws -> Organization {
        let name = try Names.validate(name, what: "an organization name")
        if try await Bool.fetchOne(self, sql: "SELECT 1 FROM organization WHERE lower(name) = lower(?)", arguments: [name]) == true {
            throw PosternError(.organizationExists, "an organization named \"\(name)\" already exists")
        }
        let now = Date()
        let id = try await insert(sql: "INSERT INTO organization (name, createdAt) VALUES (?, ?)", arguments: [name, now])
        return Organization(id: id, name: name, createdAt: now)
    }

    /// Every organization (tests; requests read pages).
    func organizations() async throws -> [Organization] {
        try await StoreRow.fetchAll(self, sql: "SELECT id, name, createdAt FROM organization ORDER BY name").map {
            Organization(id: $0["id"], name: $0["name"], createdAt: $0["createdAt"])
        }
    }

    public func removeOrganization(_ name: String) async throws -> Organization {
        let id = try await organizationID(name)
        let services = try await String.fetchAll(self, sql: "SELECT name FROM mailService WHERE organizationId = ? ORDER BY name", arguments: [id])
        guard services.isEmpty else {
            throw PosternError(.organizationNotEmpty,
                               "organization \"\(name)\" still has mail services (\(services.joined(separator: ", "))); remove them first")
        }
        guard let row = try await StoreRow.fetchOne(self, sql: "SELECT id, name, createdAt FROM organization WHERE id = ?", arguments: [id]) else {
            throw PosternError.organizationNotFound(name)
        }
        let org = Organization(id: row["id"], name: row["name"], createdAt: row["createdAt"])
        try await execute(sql: "DELETE FROM organization WHERE id = ?", arguments: [id])
        return org
    }

    // MARK: mail services

    public func createMailService(name: String, organization: String, domains: [String]) async throws -> MailService {
        let orgID = try await organizationID(organization)
        let name = try Names.validate(name, what: "a mail service name")
        guard !domains.isEmpty else {
            throw PosternError(.missingDomain, "a mail service needs at least one domain")
        }
        var normalized: [String] = []
        for domain in domains {
            let d = domain.lowercased()
            try MailAddress.validate(domain: d)
            if let owner = try await String.fetchOne(self, sql: """
                SELECT s.name FROM domain d JOIN mailService s ON s.id = d.mailServiceId WHERE d.name = ?
                """, arguments: [d]) {
                throw PosternError(.domainTaken, "domain \(d) already belongs to mail service \"\(owner)\"")
            }
            if !normalized.contains(d) { normalized.append(d) }
        }
        if try await Bool.fetchOne(self, sql: "SELECT 1 FROM mailService WHERE lower(name) = lower(?)", arguments: [name]) == true {
            throw PosternError(.mailServiceExists, "a mail service named \"\(name)\" already exists")
        }
        let now = Date()
        let id = try await insert(sql: "INSERT INTO mailService (organizationId, name, createdAt) VALUES (?, ?, ?)", arguments: [orgID, name, now])
        for d in normalized {
            try await execute(sql: "INSERT INTO domain (name, mailServiceId) VALUES (?, ?)", arguments: [d, id])
        }
        return MailService(id: id, name: name, organization: organization, domains: normalized, createdAt: now)
    }

    /// Every mail service (tests; requests read pages).
    func mailServices() async throws -> [MailService] { try await mailServices(where: "") }

    /// One mail service by id, read alone.
    public func mailService(id: Int64) async throws -> MailService? { try await mailServices(where: "WHERE s.id = ?", [id]).first }

    private func mailServices(where filter: String, _ arguments: SQLArguments = []) async throws -> [MailService] {
        try await StoreRow.fetchAll(self, sql: Self.serviceSelect + " \(filter) ORDER BY s.name", arguments: arguments).map(Self.mailService(from:))
    }

    /// The names of an organization's mail services, the first `limit` by name.
    public func serviceNames(organizationID: Int64, limit: Int) async throws -> [String] {
        try await String.fetchAll(self, sql: "SELECT name FROM mailService WHERE organizationId = ? ORDER BY lower(name) LIMIT ?", arguments: [organizationID, limit])
    }

    /// A mail service with its organization's name and its domains (in name order).
    static let serviceSelect = """
        SELECT s.id, s.name, s.createdAt, o.name AS org,
               (SELECT group_concat(name, ' ') FROM (SELECT name FROM domain WHERE mailServiceId = s.id ORDER BY name) AS sorted) AS domains
        FROM mailService s JOIN organization o ON o.id = s.organizationId
        """

    static func mailService(from row: StoreRow) -> MailService {
        let domains: String? = row["domains"]
        return MailService(id: row["id"], name: row["name"], organization: row["org"],
                           domains: domains.map { $0.split(separator: " ").map(String.init) } ?? [], createdAt: row["createdAt"])
    }

    public func removeMailService(_ name: String) async throws -> MailService {
        guard let service = try await mailServices(where: "WHERE lower(s.name) = lower(?)", [name]).first else {
            throw PosternError.serviceNotFound(name)
        }
        let count = try await Int.fetchOne(self, sql: "SELECT count(*) FROM mailbox WHERE mailServiceId = ?", arguments: [service.id]) ?? 0
        guard count == 0 else {
            throw PosternError(.mailServiceNotEmpty, "mail service \"\(service.name)\" still has \(count) mailbox(es); remove them first")
        }
        try await execute(sql: "DELETE FROM mailService WHERE id = ?", arguments: [service.id])
        return service
    }

    /// The mail service that holds a domain, or nil.
    func mailService(forDomain domain: String) async throws -> (id: Int64, name: String)? {
        try await StoreRow.fetchOne(self, sql: """
            SELECT s.id, s.name FROM domain d JOIN mailService s ON s.id = d.mailServiceId WHERE d.name = ?
            """, arguments: [domain]).map { ($0["id"], $0["name"]) }
    }
}
