import Crypto
import Foundation
import Logging
import PosternCore
import PosternStore

/// `postern backup DIR`: the database and the server key, copied while logins go on, with a
/// manifest that `postern restore` checks. Operator only.
public struct BackupPlane: Sendable {
    let store: Store
    /// Where SQLite's backup runs (it copies the file in one call).
    let blocking: any BlockingRunner
    let logger: Logger

    init(store: Store, blocking: any BlockingRunner, logger: Logger) {
        self.store = store
        self.blocking = blocking
        self.logger = logger
    }

    public func backup(to directory: String, serverKeyPath: String, actor: Actor) async throws -> BackupManifest {
        try await store.read { try await Access.authorize(actor, .backUp, in: $0) }
        let fm = FileManager.default
        guard directory.hasPrefix("/") else {
            throw PosternError(.relativePath, "give the backup directory as an absolute path")
        }
        if fm.fileExists(atPath: directory) {
            guard (try? fm.contentsOfDirectory(atPath: directory))?.isEmpty == true else {
                throw PosternError(.backupExists, "\(directory) exists and is not an empty directory; pick a new one")
            }
        } else {
            guard mkdir(directory, 0o700) == 0 else {
                throw PosternError(.cannotCreate, "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
        }
        chmod(directory, 0o700)
        let file = store.kind == .sqlite ? BackupManifest.databaseFile : BackupManifest.postgresDumpFile
        let database = directory + "/" + file
        let key = directory + "/" + BackupManifest.keyFile
        let store = store
        // PostgreSQL: the devices as they were when pg_dump began (it dumps one snapshot of its own).
        let counted = store.kind == .postgres ? try await store.read { try await $0.deviceCount() } : nil
        let copied = try await blocking.run { try store.backup(to: database) }
        let devices = counted ?? copied
        guard let keyBytes = fm.contents(atPath: serverKeyPath) else {
            throw PosternError(.noServerKey, "cannot read the server key \(serverKeyPath)")
        }
        try BackupRules.writePrivate(keyBytes, to: key)
        let manifest = BackupManifest(createdAt: Date(), devices: devices, files: [
            file: try BackupRules.sha256(of: database), BackupManifest.keyFile: Hex.encode(SHA256.hash(data: keyBytes)),
        ])
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try BackupRules.writePrivate(try encoder.encode(manifest), to: directory + "/" + BackupManifest.manifestFile)
        try await store.write { db in
            try await ActionLog.record(.backedUp(devices: devices, directory: directory), mailbox: nil, by: actor, in: db)
        }
        logger.info("backup written", metadata: ["directory": "\(directory)", "devices": "\(devices)"])
        return manifest
    }
}
