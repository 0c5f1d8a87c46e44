import Foundation
import PosternCore

extension StoreTransaction {
    public func insertToken(userID: Int64, kind: APIToken.Kind, name: String, digest: [UInt8], expiresAt: Date) async throws -> APIToken {
        let now = Date()
        let id = try await insert(sql: "INSERT INTO apiToken (userId, kind, name, digest, createdAt, expiresAt) VALUES (?, ?, ?, ?, ?, ?)",
                            arguments: [userID, kind.rawValue, name, digest, now, expiresAt])
        let login = try await String.fetchOne(self, sql: "SELECT login FROM \"user\" WHERE id = ?", arguments: [userID]) ?? ""
        return APIToken(id: id, login: login, kind: kind, name: name, createdAt: now, expiresAt: expiresAt, lastUsedAt: nil, lastIP: nil)
    }

    /// The token with this digest and its user, if it exists.
    public func token(digest: [UInt8]) async throws -> (token: APIToken, userID: Int64)? {
        try await StoreRow.fetchOne(self, sql: "SELECT t.*, u.login FROM apiToken t JOIN \"user\" u ON u.id = t.userId WHERE t.digest = ?",
                         arguments: [Data(digest)]).map { (Self.token(from: $0), $0["userId"]) }
    }

    public func tokens(userID: Int64? = nil) async throws -> [APIToken] {
        var sql = "SELECT t.*, u.login FROM apiToken t JOIN \"user\" u ON u.id = t.userId"
        var arguments: SQLArguments = []
        if let userID { sql += " WHERE t.userId = ?"; arguments = [userID] }
        return try await StoreRow.fetchAll(self, sql: sql + " ORDER BY u.login, t.id", arguments: arguments).map(Self.token(from:))
    }

    public func token(id: Int64) async throws -> (token: APIToken, userID: Int64)? {
        try await StoreRow.fetchOne(self, sql: "SELECT t.*, u.login FROM apiToken t JOIN \"user\" u ON u.id = t.userId WHERE t.id = ?",
                         arguments: [id]).map { (Self.token(from: $0), $0["userId"]) }
    }

    public func deleteToken(id: Int64) async throws {
        try await execute(sql: "DELETE FROM apiToken WHERE id = ?", arguments: [id])
    }

    public func touchToken(id: Int64, at date: Date, ip: String?) async throws {
        try await execute(sql: "UPDATE apiToken SET lastUsedAt = ?, lastIP = ? WHERE id = ?", arguments: [date, ip, id])
    }

    /// Drops tokens and sessions past their end.
    public func deleteExpiredTokens(at date: Date) async throws -> Int {
        try await execute(sql: "DELETE FROM apiToken WHERE expiresAt <= ?", arguments: [date])
    }

    static func token(from row: StoreRow) -> APIToken {
        APIToken(id: row["id"], login: row["login"], kind: APIToken.Kind(rawValue: row["kind"]) ?? .token, name: row["name"],
                 createdAt: row["createdAt"], expiresAt: row["expiresAt"], lastUsedAt: row["lastUsedAt"], lastIP: row["lastIP"])
    }
}
