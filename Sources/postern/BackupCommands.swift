import ArgumentParser
import Crypto
import Foundation
import PosternCore
import PosternStore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy posternd's database and server key into a new directory, while logins go on.",
        discussion: "The directory is on posternd's host, created 0700; keep it as safe as the server key itself. `postern restore DIR` brings it back.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "A directory that does not exist yet, or is empty.") var directory: String

    func run() async throws {
        let absolute = SocketPath.absolute(directory)
        try await options.perform(BackupManifest.self, { try await $0.send(.POST, "/v1/backup", json: BackupInput(directory: absolute)) }) {
            print("backup of \($0.devices) device(s) written to \(absolute) (\($0.files.keys.sorted().joined(separator: ", ")))")
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup back in place of a stopped posternd's database and server key.",
        discussion: """
            Checks every file against the backup's manifest, refuses while posternd answers on its control socket, \
            and moves the files it replaces aside (NAME.before-restore-TIMESTAMP). The paths are posternd's \
            database.path and serverKey.path (POSTERN_DATABASE_PATH, POSTERN_SERVER_KEY_PATH). \
            A backup of PostgreSQL (postern.pgdump) is restored with pg_restore into the new, empty database \
            --database-url names (POSTERN_DATABASE_URL); stop every node first.
            """)
    @OptionGroup var options: GlobalOptions
    @Argument(help: "A directory written by `postern backup`.") var directory: String
    @Option(name: .long, help: "posternd's database.path.") var database = ProcessInfoShim.environment("POSTERN_DATABASE_PATH") ?? "./var/postern.sqlite"
    @Option(name: .customLong("server-key"), help: "posternd's serverKey.path.")
    var serverKey = ProcessInfoShim.environment("POSTERN_SERVER_KEY_PATH") ?? "./var/server.key"
    @Option(name: .customLong("database-url"), help: "For a backup of PostgreSQL: the new, empty database to restore into (postgres://…).")
    var databaseURL = ProcessInfoShim.environment("POSTERN_DATABASE_URL")

    func run() async throws {
        do {
            let restored = try restore()
            if options.json { Output.printJSON(restored) } else { print("restored \(restored.devices) device(s) from \(directory); start posternd") }
        } catch let error as CLIError {
            throw Output.fail(error, json: options.json)
        }
    }

    func restore() throws -> BackupManifest {
        let fm = FileManager.default
        if let fd = try? UnixSocket.connect(options.socket, what: "posternd's control socket", timeoutSeconds: 2) {
            close(fd)
            throw CLIError(code: "daemon_running", message: "posternd answers on \(options.socket): stop it first, then restore")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = fm.contents(atPath: directory + "/" + BackupManifest.manifestFile),
              let manifest = try? decoder.decode(BackupManifest.self, from: data) else {
            throw CLIError(code: "not_a_backup", message: "\(directory) holds no readable \(BackupManifest.manifestFile): not a backup written by `postern backup`")
        }
        let postgres = manifest.files[BackupManifest.postgresDumpFile] != nil
        for name in [postgres ? BackupManifest.postgresDumpFile : BackupManifest.databaseFile, BackupManifest.keyFile] {
            guard let expected = manifest.files[name], let actual = Self.sha256(directory + "/" + name), actual == expected else {
                throw CLIError(code: "backup_damaged", message: "\(directory)/\(name) is missing or does not match the manifest; nothing was changed")
            }
        }
        if postgres {
            let settings: PostgresSettings
            do {
                guard let databaseURL, case let .postgres(parsed) = try DatabaseURL(databaseURL) else {
                    throw CLIError(code: "database_url_required",
                                   message: "this is a backup of PostgreSQL: name the new, empty database to restore into with --database-url postgres://…")
                }
                settings = parsed
            } catch let error as StoreOpenError {
                throw CLIError(code: "bad_request", message: "\(error)")
            }
            do {
                try PostgresDump.restore(directory + "/" + BackupManifest.postgresDumpFile, into: settings)
            } catch let error as PostgresDumpError {
                throw CLIError(code: "restore_failed", message: "\(error)")
            }
        }
        let stamp = Int(Date().timeIntervalSince1970)
        let files = postgres ? [(BackupManifest.keyFile, serverKey)] : [(BackupManifest.databaseFile, database), (BackupManifest.keyFile, serverKey)]
        for (from, to) in files {
            try fm.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let staged = to + ".restoring"
            try? fm.removeItem(atPath: staged)
            guard let bytes = fm.contents(atPath: directory + "/" + from), fm.createFile(atPath: staged, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError(code: "cannot_write", message: "cannot write \(staged)")
            }
            chmod(staged, 0o600)
            for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: to + suffix) {
                try fm.moveItem(atPath: to + suffix, toPath: to + suffix + ".before-restore-\(stamp)")
            }
            guard rename(staged, to) == 0 else { throw CLIError(code: "cannot_write", message: "cannot move \(staged) to \(to)") }
        }
        return manifest
    }

    static func sha256(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

enum SocketPath {
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }
}
