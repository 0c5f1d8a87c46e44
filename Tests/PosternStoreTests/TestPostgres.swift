import Foundation
import PosternStore

/// A real PostgreSQL server for the tests: Debian's `initdb` and `pg_ctl` in a temp directory,
/// listening on a unix socket only, started once per test process and stopped at its exit.
/// Each test gets a database of its own. scripts/test installs `postgresql`; without it the
/// PostgreSQL cases fail, saying so (they are not skipped).
final class TestPostgres: Sendable {
    let directory: String
    let socketDirectory: String
    let bin: String

    static let shared: Result<TestPostgres, TestPostgresError> = Result { try TestPostgres() }.mapError { $0 as? TestPostgresError ?? .failed("\($0)") }

    /// A new, empty database on the shared server, as a `database.url`. initdb, pg_ctl and psql
    /// take seconds on a loaded machine: they run on a thread of their own, so that they never
    /// hold the test process's cooperative pool (two threads here) from the other suites.
    static func freshURL() async throws -> String {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<String, Error>) in
            Thread {
                done.resume(with: Result {
                    let server = try shared.get()
                    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
                    try server.psql("CREATE DATABASE \(name)")
                    return "postgres://postgres@/\(name)?host=\(server.socketDirectory)"
                })
            }.start()
        }
    }

    private init() throws {
        guard let version = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last else {
            throw TestPostgresError.failed("PostgreSQL is not installed (/usr/lib/postgresql): scripts/test installs Debian's postgresql")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        directory = NSTemporaryDirectory() + "postern-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        socketDirectory = directory + "/run"
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        // initdb will not run as root: the server runs as the postgres user, in a directory it owns.
        try Self.run(["/bin/chown", "-R", "postgres:postgres", directory])
        try Self.run(Self.asPostgres([bin + "/initdb", "-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]))
        try Self.run(Self.asPostgres([bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "30", "start",
                                 "-o", "-c listen_addresses='' -c unix_socket_directories=\(socketDirectory) -c fsync=off -c max_connections=200"]))
        let dataDirectory = directory + "/data", pgctl = bin + "/pg_ctl"
        TestPostgres.stopAtExit = { _ = try? TestPostgres.run(TestPostgres.asPostgres([pgctl, "-D", dataDirectory, "-m", "immediate", "stop"])) }
        atexit { TestPostgres.stopAtExit?() }
    }

    nonisolated(unsafe) static var stopAtExit: (() -> Void)?

    func psql(_ sql: String) throws {
        try Self.run(Self.asPostgres([bin + "/psql", "-h", socketDirectory, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql]))
    }

    static func asPostgres(_ command: [String]) -> [String] {
        getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
    }

    /// Runs a command to its end, its output into a file (not a pipe: the server pg_ctl starts would
    /// hold a pipe open for ever), with posix_spawn and waitpid.
    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let log = NSTemporaryDirectory() + "postern-pg-cmd-\(UUID().uuidString)"
        defer { unlink(log) }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw TestPostgresError.failed("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else {
            throw TestPostgresError.failed("\(command.joined(separator: " ")) exited \(code): \(text.suffix(600))")
        }
        return text
    }
}

enum TestPostgresError: Error, CustomStringConvertible {
    case failed(String)
    var description: String { if case let .failed(m) = self { m } else { "" } }
}

extension StoreEngineKind: CaseIterable {
    public static var allCases: [StoreEngineKind] { [.sqlite, .postgres] }
}

/// The `database.url` of a new, empty database on `kind`.
func freshURL(_ kind: StoreEngineKind) async throws -> String {
    switch kind {
    case .sqlite: "sqlite:" + NSTemporaryDirectory() + "postern-store-\(UUID().uuidString)/db/postern.sqlite"
    case .postgres: try await TestPostgres.freshURL()
    }
}
