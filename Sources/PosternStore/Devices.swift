import Foundation
import PosternCore

/// A device row as the index loader sees it: the credential, never shown to anyone.
public struct StoredCredential: Sendable {
    public let deviceID: Int64
    public let address: String
    public let digest: [UInt8]?
    public let generic: GenericPassword?
    public let scope: ServiceScope
    public let expiresAt: Date?
}

extension StoreTransaction {
    public func devices(mailboxID: Int64) async throws -> [Device] {
        try await StoreRow.fetchAll(self, sql: "SELECT * FROM device WHERE mailboxId = ? ORDER BY kind = 'device', createdAt, id",
                         arguments: [mailboxID]).map(Self.device(from:))
    }

    /// The devices of a mailbox whose name equals `name` but for ASCII case: what a new name is
    /// checked against, without reading every device of the mailbox.
    public func devices(mailboxID: Int64, named name: String) async throws -> [Device] {
        try await StoreRow.fetchAll(self, sql: "SELECT * FROM device WHERE mailboxId = ? AND lower(name) = lower(?)", arguments: [mailboxID, name])
            .map(Self.device(from:))
    }

    /// One device of a mailbox, by its id or by its exact name (index lookups either way).
    public func device(mailboxID: Int64, id: Int64?, name: String?) async throws -> Device? {
        if let id {
            return try await StoreRow.fetchOne(self, sql: "SELECT * FROM device WHERE mailboxId = ? AND id = ?", arguments: [mailboxID, id]).map(Self.device(from:))
        }
        return try await StoreRow.fetchOne(self, sql: "SELECT * FROM device WHERE mailboxId = ? AND name = ?", arguments: [mailboxID, name]).map(Self.device(from:))
    }

    public func deviceCount(mailboxID: Int64) async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM device WHERE mailboxId = ?", arguments: [mailboxID]) ?? 0
    }

    static func device(from row: StoreRow) -> Device {
        let lastAt: Date? = row["lastUsedAt"]
        return Device(id: row["id"], name: row["name"], kind: DeviceKind(rawValue: row["kind"]) ?? .device,
                      createdAt: row["createdAt"], rotatedAt: row["rotatedAt"],
                      lastUse: lastAt.map { LastUse(at: $0, ip: row["lastIP"], service: row["lastService"] ?? "") },
                      scope: ServiceScope(stored: row["scopes"]), expiresAt: row["expiresAt"])
    }

    public func insertDevice(mailboxID: Int64, name: String, digest: [UInt8], scope: ServiceScope = .all, expiresAt: Date? = nil) async throws -> Device {
        let now = Date()
        let id = try await insert(sql: "INSERT INTO device (mailboxId, name, kind, digest, createdAt, scopes, expiresAt) VALUES (?, ?, 'device', ?, ?, ?, ?)",
                            arguments: [mailboxID, name, digest, now, scope.stored, expiresAt])
        return Device(id: id, name: name, kind: .device, createdAt: now, scope: scope, expiresAt: expiresAt)
    }

    /// Sets when a device password stops working (nil: never); its expiry is handled anew.
    public func setExpiry(deviceID: Int64, _ expiresAt: Date?) async throws -> Device {
        try await execute(sql: "UPDATE device SET expiresAt = ?, expiryHandled = 0 WHERE id = ?", arguments: [expiresAt, deviceID])
        guard let row = try await StoreRow.fetchOne(self, sql: "SELECT * FROM device WHERE id = ?", arguments: [deviceID]) else {
            throw PosternError(.deviceNotFound, "device \(deviceID) no longer exists")
        }
        return Self.device(from: row)
    }

    /// Device passwords that expired by `now` and whose expiry was not handled yet, with their mailbox.
    public func expiredDevices(at now: Date) async throws -> [(address: String, device: Device)] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT d.*, m.address AS mailboxAddress FROM device d JOIN mailbox m ON m.id = d.mailboxId
            WHERE d.expiresAt IS NOT NULL AND d.expiresAt <= ? AND d.expiryHandled = 0
            """, arguments: [now]).map { ($0["mailboxAddress"], Self.device(from: $0)) }
    }

    public func markExpiryHandled(deviceID: Int64) async throws {
        try await execute(sql: "UPDATE device SET expiryHandled = 1 WHERE id = ?", arguments: [deviceID])
    }

    /// Device passwords (not generic ones) whose last use, or creation if never used, is older than `cutoff`.
    public func devicesUnused(since cutoff: Date) async throws -> [(address: String, device: Device)] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT d.*, m.address AS mailboxAddress FROM device d JOIN mailbox m ON m.id = d.mailboxId
            WHERE d.kind = 'device' AND COALESCE(d.lastUsedAt, d.createdAt) < ?
            """, arguments: [cutoff]).map { ($0["mailboxAddress"], Self.device(from: $0)) }
    }

    /// Changes which services a device password may log in to.
    public func setScope(deviceID: Int64, _ scope: ServiceScope) async throws -> Device {
        try await execute(sql: "UPDATE device SET scopes = ? WHERE id = ? AND kind = 'device'", arguments: [scope.stored, deviceID])
        guard let row = try await StoreRow.fetchOne(self, sql: "SELECT * FROM device WHERE id = ?", arguments: [deviceID]) else {
            throw PosternError(.deviceNotFound, "device \(deviceID) no longer exists")
        }
        return Self.device(from: row)
    }

    public func rotateDevice(id: Int64, digest: [UInt8]) async throws -> Device {
        try await execute(sql: "UPDATE device SET digest = ?, rotatedAt = ? WHERE id = ? AND kind = 'device'",
                    arguments: [Data(digest), Date(), id])
        guard let row = try await StoreRow.fetchOne(self, sql: "SELECT * FROM device WHERE id = ?", arguments: [id]) else {
            throw PosternError(.deviceNotFound, "device \(id) no longer exists")
        }
        return Self.device(from: row)
    }

    /// The stored digest of a device password (never leaves the daemon).
    public func deviceDigest(id: Int64) async throws -> [UInt8]? {
        try await Data.fetchOne(self, sql: "SELECT digest FROM device WHERE id = ?", arguments: [id]).map { Array($0) }
    }

    /// The devices of a mailbox with their digests (nil for a generic password), for taking them
    /// out of the password index.
    public func deviceDigests(mailboxID: Int64) async throws -> [(id: Int64, digest: [UInt8]?)] {
        try await StoreRow.fetchAll(self, sql: "SELECT id, digest FROM device WHERE mailboxId = ?", arguments: [mailboxID]).map { row in
            let digest: Data? = row[1]
            return (row[0], digest.map { Array($0) })
        }
    }

    public func deleteDevices(ids: [Int64]) async throws {
        for id in ids { try await execute(sql: "DELETE FROM device WHERE id = ?", arguments: [id]) }
    }

    /// Sets the mailbox's generic password, replacing any earlier one; returns its device id.
    public func setGenericPassword(mailboxID: Int64, _ password: GenericPassword) async throws -> Int64 {
        try await execute(sql: "DELETE FROM device WHERE mailboxId = ? AND kind = 'generic'", arguments: [mailboxID])
        return try await insert(sql: "INSERT INTO device (mailboxId, name, kind, genericHash, createdAt) VALUES (?, ?, 'generic', ?, ?)",
                   arguments: [mailboxID, DeviceRules.genericName, password.stored, Date()])
    }

    /// Generic passwords stored in clear text (imported before they were hashed on the way in),
    /// by the partial index `device_clear_text`: nothing read when there are none.
    public func clearTextGenericPasswords() async throws -> [(deviceID: Int64, address: String, password: GenericPassword)] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT d.id, m.address, d.genericHash FROM device d JOIN mailbox m ON m.id = d.mailboxId
            WHERE d.kind = 'generic' AND d.genericHash LIKE '{PLAIN}%'
            """).compactMap { row in
            let hash: String = row[2]
            return (try? GenericPassword(parsing: hash)).map { (row[0], row[1], $0) }
        }
    }

    /// Replaces a generic password's stored value if it is still `old`; false when it changed meanwhile.
    @discardableResult
    public func replaceGenericPassword(deviceID: Int64, _ old: GenericPassword, with new: GenericPassword) async throws -> Bool {
        try await execute(sql: "UPDATE device SET genericHash = ? WHERE id = ? AND kind = 'generic' AND genericHash = ?",
                          arguments: [new.stored, deviceID, old.stored]) == 1
    }

    public func genericPassword(mailboxID: Int64) async throws -> GenericPassword? {
        try await String.fetchOne(self, sql: "SELECT genericHash FROM device WHERE mailboxId = ? AND kind = 'generic'", arguments: [mailboxID])
            .flatMap { try? GenericPassword(parsing: $0) }
    }

    /// Writes a batch of last uses; devices deleted meanwhile are skipped. Several nodes write
    /// the uses they saw: the latest wins, whichever node flushes last.
    public func recordLastUse(_ batch: [Int64: LastUse]) async throws {
        let statement = try cachedStatement(sql: "UPDATE device SET lastUsedAt = ?, lastIP = ?, lastService = ? WHERE id = ? AND (lastUsedAt IS NULL OR lastUsedAt < ?)")
        for (id, use) in batch {
            try await statement.execute(arguments: [use.at, use.ip, use.service, id, use.at])
        }
    }

    /// Every credential, for loading the in-memory index at start: in id order, `chunk` rows to a
    /// statement (one snapshot: the caller's read), so that no statement runs for longer than
    /// PostgreSQL's statement deadline allows, nor holds millions of rows at once, at any size.
    public func forEachCredential(chunk: Int = 50_000, _ body: (StoredCredential) throws -> Void) async throws {
        var after: Int64 = 0
        var read = chunk
        while read == chunk {
            read = 0
            try await StoreRow.forEach(self, sql: """
                SELECT d.id, m.address, d.digest, d.genericHash, d.scopes, d.expiresAt FROM device d JOIN mailbox m ON m.id = d.mailboxId
                WHERE d.id > ? ORDER BY d.id LIMIT ?
                """, arguments: [after, chunk]) { row in
                // Columns by position, not by name: this runs once per device at start (2M rows).
                let digest: [UInt8]? = row[2]
                let hash: String? = row[3]
                let id: Int64 = row[0]
                try body(StoredCredential(deviceID: id, address: row[1], digest: digest,
                                          generic: hash.flatMap { try? GenericPassword(parsing: $0) }, scope: ServiceScope(stored: row[4]),
                                          expiresAt: row[5]))
                after = id
                read += 1
            }
        }
    }

    /// Device passwords (not generic ones): digests that only the server key makes usable.
    public func devicePasswordCount() async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM device WHERE digest IS NOT NULL") ?? 0
    }

    /// Device passwords and generic passwords, in one pass over the table.
    public func credentialCounts() async throws -> (devices: Int, generic: Int) {
        let row = try await StoreRow.fetchOne(self, sql: "SELECT count(digest) AS devices, count(*) - count(digest) AS generic FROM device")
        return (row?["devices"] ?? 0, row?["generic"] ?? 0)
    }

    public func deviceCount() async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM device") ?? 0
    }
}
