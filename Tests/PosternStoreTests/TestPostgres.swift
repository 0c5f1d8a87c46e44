import Foundation
import PosternStore

/// A real PostgreSQL server for the tests: Debian's `initdb` and `pg_ctl` in a temp directory,
/// started once per test process and stopped at its exit. It listens on a unix socket (where the
/// tests connect) and on a loopback TCP port with `ssl=on`, which takes TLS connections only
/// (`hostssl`), with a certificate for `db.postern.test` made by the test's own certificate
/// authority (`openssl`, which scripts/test installs).
/// Each test gets a database of its own. scripts/test installs `postgresql`; without it the
/// PostgreSQL cases fail, saying so (they are not skipped).
final class TestPostgres: Sendable {
    let directory: String
    let socketDirectory: String
    let bin: String
    /// The TCP port (loopback only), also the unix socket's number.
    let port: Int
    /// ca.crt (the authority of the server's certificate), other-ca.crt (an authority that signed nothing of it).
    let tlsDirectory: String

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
                    return "postgres://postgres@/\(name)?host=\(server.socketDirectory)&port=\(server.port)"
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
        tlsDirectory = directory + "/tls"
        port = try Self.freePort()
        try Self.makeCertificates(in: tlsDirectory)
        // initdb will not run as root: the server runs as the postgres user, in a directory it owns.
        try Self.run(["/bin/chown", "-R", "postgres:postgres", directory])
        try Self.run(Self.asPostgres([bin + "/initdb", "-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]))
        // TCP takes TLS only: a connection without it is refused by pg_hba, so a test that gets in used TLS.
        try "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n"
            .write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
        try Self.run(Self.asPostgres([bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "30", "start",
                                 "-o", "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories=\(socketDirectory) -c fsync=off "
                                     + "-c max_connections=200 -c ssl=on -c ssl_cert_file=\(tlsDirectory)/server.crt -c ssl_key_file=\(tlsDirectory)/server.key"]))
        let dataDirectory = directory + "/data", pgctl = bin + "/pg_ctl"
        TestPostgres.stopAtExit = { _ = try? TestPostgres.run(TestPostgres.asPostgres([pgctl, "-D", dataDirectory, "-m", "immediate", "stop"])) }
        atexit { TestPostgres.stopAtExit?() }
    }

    /// A `database.url` over TCP to `database` with these query parameters (host name and TLS).
    func tcpURL(host: String, database: String = "postgres", _ parameters: String) -> String {
        "postgres://postgres@\(host):\(port)/\(database)?\(parameters)"
    }

    /// A port nobody listens on now (bound, then let go).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestPostgresError.failed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestPostgresError.failed("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A certificate authority, the server's key and certificate for db.postern.test (signed by it),
    /// and a second authority that signed nothing of the server's.
    static func makeCertificates(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = "/usr/bin/openssl"
        for authority in ["ca", "other-ca"] {
            try run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Postern test \(authority)",
                     "-keyout", "\(directory)/\(authority).key", "-out", "\(directory)/\(authority).crt"])
        }
        try "subjectAltName=DNS:db.postern.test\n".write(toFile: directory + "/server.ext", atomically: false, encoding: .utf8)
        try run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=db.postern.test",
                 "-keyout", directory + "/server.key", "-out", directory + "/server.csr"])
        try run([openssl, "x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.crt", "-CAkey", directory + "/ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", directory + "/server.ext", "-out", directory + "/server.crt"])
        // PostgreSQL refuses a key that others can read.
        chmod(directory + "/server.key", 0o600)
    }

    nonisolated(unsafe) static var stopAtExit: (() -> Void)?

    func psql(_ sql: String) throws {
        try Self.run(Self.asPostgres([bin + "/psql", "-h", socketDirectory, "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql]))
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
