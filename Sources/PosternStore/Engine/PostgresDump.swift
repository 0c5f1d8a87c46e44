import Foundation

/// PostgreSQL's own backup tools, run for `postern backup` and `postern restore`: `pg_dump
/// --format=custom` (one consistent snapshot, while every node goes on writing) and `pg_restore`
/// into an empty database. The connection goes in libpq's environment variables, the password
/// among them, never on a command line another user could read in `ps`.
public enum PostgresDump {
    /// Writes the database into `path` (an existing file, truncated).
    public static func dump(_ settings: PostgresSettings, to path: String) throws {
        try run(tool("pg_dump"), ["--format=custom", "--no-owner", "--no-privileges", "--file=\(path)", settings.database], settings)
    }

    /// Restores a dump into the database `settings` names, which must hold no table yet.
    public static func restore(_ path: String, into settings: PostgresSettings) throws {
        let tables = try run(tool("psql"), ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c",
                                            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", settings.database], settings)
        guard tables.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else {
            throw PostgresDumpError.notEmpty(settings.display)
        }
        try run(tool("pg_restore"), ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", "--dbname=\(settings.database)", path],
                settings)
    }

    /// libpq's environment for these settings.
    static func environment(_ settings: PostgresSettings) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        env["PGHOST"] = settings.socketDirectory ?? settings.host ?? "localhost"
        env["PGPORT"] = String(settings.port)
        env["PGUSER"] = settings.user
        env["PGDATABASE"] = settings.database
        env["PGCONNECT_TIMEOUT"] = String(max(2, settings.timeout.components.seconds))
        if let password = settings.password { env["PGPASSWORD"] = password }
        if let address = settings.hostAddress { env["PGHOSTADDR"] = address }
        if settings.socketDirectory == nil {
            env["PGSSLMODE"] = settings.tls.mode.rawValue
            if let root = settings.tls.rootCertificate { env["PGSSLROOTCERT"] = root }
        }
        return env
    }

    /// The tool from PATH, else from the newest /usr/lib/postgresql/N/bin.
    static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        if let newest = versions.last, FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(newest)/bin/\(name)") {
            return "/usr/lib/postgresql/\(newest)/bin/\(name)"
        }
        throw PostgresDumpError.noTool(name)
    }

    /// Runs a tool to its end; its output, or its error output in the error.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], _ settings: PostgresSettings) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = environment(settings)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Both read to their end before waiting: a full pipe would stop the tool.
        let errors = ReadAll(err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let why = String(decoding: errors.wait(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw PostgresDumpError.failed(tool: (tool as NSString).lastPathComponent, status: process.terminationStatus, why: String(why.suffix(600)))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A pipe read to its end on a thread of its own.
    final class ReadAll: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            Thread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }.start()
        }
        func wait() -> Data {
            done.wait()
            return data
        }
    }
}

public enum PostgresDumpError: Error, CustomStringConvertible {
    case noTool(String)
    case failed(tool: String, status: Int32, why: String)
    case notEmpty(String)

    public var description: String {
        switch self {
        case let .noTool(name): "\(name) is not installed (Debian's postgresql-client): PostgreSQL is backed up and restored with its own tools"
        case let .failed(tool, status, why): "\(tool) exited \(status): \(why)"
        case let .notEmpty(url): "\(url) already holds tables: restore into a new, empty database (createdb), then point database.url at it"
        }
    }
}
