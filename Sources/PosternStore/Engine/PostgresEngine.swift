import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared engine: a PostgreSQL database that several posternd nodes write to. Writes run one
/// at a time per node on a writer connection, and one at a time across nodes: each write
/// transaction takes the same advisory lock first, so that the change log's sequence numbers are
/// committed in order and without gaps (what every node's catch-up relies on). Reads run in
/// parallel on `database.pool.size` connections.
final class PostgresEngine: Sendable {
    let settings: PostgresSettings
    let isNew: Bool
    private let writer: PostgresSession
    private let readers: SessionPool
    /// The lock every write transaction takes (an arbitrary constant: "post" in ASCII).
    static let writeLock: Int64 = 0x706f_7374

    init(_ settings: PostgresSettings) throws {
        self.settings = settings
        writer = PostgresSession(settings, label: "writer")
        readers = SessionPool(settings, size: settings.poolSize)
        do {
            isNew = try writer.run { connection in try PostgresSchema.migrate(connection) }
        } catch let error as StoreError {
            throw StoreOpenError.cannotConnect("\(settings.display): \(error)")
        }
    }

    func write<T>(_ body: (StoreTransaction) throws -> T, afterCommit: (T) -> Void) throws -> T {
        try writer.run { connection in
            try connection.simple("BEGIN")
            let result: T
            do {
                _ = try connection.execute("SELECT pg_advisory_xact_lock(\(Self.writeLock))", [])
                result = try body(StoreTransaction(connection))
                try connection.simple("COMMIT")
            } catch {
                try? connection.simple("ROLLBACK")
                throw error
            }
            afterCommit(result)
            return result
        }
    }

    func read<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try readers.run { connection in
            // One snapshot for the whole read, as SQLite's readers have.
            try connection.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { try? connection.simple("COMMIT") }
            return try body(StoreTransaction(connection))
        }
    }

    func close() {
        writer.close()
        readers.close()
    }
}

/// Reader connections, each used by one read at a time: a read takes an idle one (opened on first
/// use), or waits for one to come back. The calling thread is a control thread (never an event loop).
final class SessionPool: Sendable {
    private let sessions: [PostgresSession]
    private let idle: Mutex<[Int]>
    private let available: DispatchSemaphore

    init(_ settings: PostgresSettings, size: Int) {
        let size = max(1, size)
        sessions = (0..<size).map { PostgresSession(settings, label: "reader-\($0)") }
        idle = Mutex(Array((0..<size).reversed()))
        available = DispatchSemaphore(value: size)
    }

    func run<T>(_ body: (PostgresConnectionAdapter) throws -> T) throws -> T {
        available.wait()
        let index = idle.withLock { $0.removeLast() }
        defer {
            idle.withLock { $0.append(index) }
            available.signal()
        }
        return try sessions[index].run(body)
    }

    func close() { for session in sessions { session.close() } }
}

/// One connection used by one caller at a time, reopened when it was lost. Its statements block
/// the calling thread (as GRDB's do), never an event loop: callers are tasks and threads of posternd.
final class PostgresSession: Sendable {
    let settings: PostgresSettings
    let label: String
    private let state = Mutex<PostgresConnection?>(nil)
    /// Serializes this session's users (a PostgreSQL connection runs one transaction at a time).
    private let queue: DispatchQueue

    init(_ settings: PostgresSettings, label: String) {
        self.settings = settings
        self.label = label
        queue = DispatchQueue(label: "postern.store.\(label)")
    }

    /// Runs `body` on the session's connection, opening it first if need be. A lost connection
    /// is dropped, so that the next call opens a new one.
    func run<T>(_ body: (PostgresConnectionAdapter) throws -> T) throws -> T {
        try queue.sync {
            let connection = try open()
            do {
                return try body(PostgresConnectionAdapter(connection: connection, timeout: settings.timeout))
            } catch let error as StoreError {
                if case .unavailable = error { drop() }
                throw error
            }
        }
    }

    private func open() throws -> PostgresConnection {
        if let connection = state.withLock({ $0 }), !connection.isClosed { return connection }
        let connection = try PostgresConnector.connectBlocking(settings)
        state.withLock { $0 = connection }
        return connection
    }

    private func drop() {
        let connection = state.withLock { c -> PostgresConnection? in defer { c = nil }; return c }
        guard let connection else { return }
        let closed: EventLoopFuture<Void> = connection.close()
        // Waited for (off the event loop): postgres-nio insists a connection is closed before it goes.
        if !connection.eventLoop.inEventLoop { try? closed.wait() }
    }

    deinit { drop() }

    func close() {
        queue.sync { drop() }
    }
}

/// A postgres-nio connection as the store's statements see it. A statement that has no answer
/// within `timeout` closes the connection (a server or network that went silent): it fails as
/// unavailable and the session opens a new connection for the next call.
struct PostgresConnectionAdapter: SQLConnection {
    let connection: PostgresConnection
    let timeout: Duration
    var kind: StoreEngineKind { .postgres }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let result = try wait(connection.query(PostgresQuery(unsafeSQL: PostgresDialect.translate(sql), binds: try Self.binds(arguments)),
                                               logger: PostgresSettings.quiet))
        return result.metadata.rows ?? 0
    }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (StoreRow) throws -> Void) throws {
        let result = try wait(connection.query(PostgresQuery(unsafeSQL: PostgresDialect.translate(sql), binds: try Self.binds(arguments)),
                                               logger: PostgresSettings.quiet))
        var names: [String]?
        for row in result.rows {
            var values: [SQLValue] = []
            values.reserveCapacity(names?.count ?? 8)
            var columns: [String] = []
            for cell in row {
                values.append(try Self.value(cell))
                if names == nil { columns.append(cell.columnName.lowercased()) }
            }
            if names == nil { names = columns }
            try body(StoreRow(names: names!, values: values))
        }
    }

    /// A round trip that proves the server still answers, within the deadline (for a task, not a thread).
    func ping() async throws {
        let deadline = Deadline(connection, timeout)
        defer { deadline.cancel() }
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1"), logger: PostgresSettings.quiet).get()
        } catch {
            throw deadline.expired ? Self.silent(timeout) : Self.mapped(error)
        }
    }

    static func silent(_ timeout: Duration) -> StoreError {
        .unavailable("PostgreSQL did not answer within \(timeout.components.seconds) s (database.timeoutSeconds): connection closed")
    }

    /// A statement without arguments, in the simple protocol (BEGIN, COMMIT, DDL).
    func simple(_ sql: String) throws {
        _ = try wait(connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresSettings.quiet))
    }

    private func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let deadline = Deadline(connection, timeout)
        defer { deadline.cancel() }
        do {
            return try future.wait()
        } catch {
            throw deadline.expired ? Self.silent(timeout) : Self.mapped(error)
        }
    }

    /// Closes the connection unless cancelled within `timeout`: what is waiting on it then fails.
    struct Deadline {
        private final class Flag: Sendable {
            let raised = Atomic<Bool>(false)
        }
        private let task: Scheduled<Void>
        private let fired = Flag()

        init(_ connection: PostgresConnection, _ timeout: Duration) {
            let fired = fired
            task = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                fired.raised.store(true, ordering: .sequentiallyConsistent)
                let _: EventLoopFuture<Void> = connection.close()
            }
        }

        var expired: Bool { fired.raised.load(ordering: .sequentiallyConsistent) }
        func cancel() { task.cancel() }
    }

    static func binds(_ values: [SQLValue]) throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case let .integer(v): binds.append(v)
            case let .real(v): binds.append(v)
            case let .text(v): binds.append(v)
            case let .blob(v): binds.append(ByteBuffer(bytes: v))
            case let .date(v): binds.append(v)
            }
        }
        return binds
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bytea: return .blob(Array(buffer: try cell.decode(ByteBuffer.self)))
        case .timestamptz, .timestamp, .date: return .date(try cell.decode(Date.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    static func mapped(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let psql = error as? PSQLError else { return .failed("\(error)") }
        if let state = psql.serverInfo?[.sqlState] {
            let message = psql.serverInfo?[.message] ?? "error \(state)"
            // 23: integrity constraint violation; P0001: a trigger's RAISE (the append-only history).
            if state.hasPrefix("23") || state == "P0001" { return .constraint("\(state): \(message)") }
            // 08: connection exception; 57P: operator intervention (shutdown, restart); 53: out of resources.
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") { return .unavailable("\(state): \(message)") }
            return .failed("\(state): \(message)")
        }
        return .unavailable(describe(error))
    }

    /// What went wrong reaching the server, without the query or its values.
    static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            if let underlying = psql.underlying as? IOError { return "\(psql.code): \(String(cString: strerror(underlying.errnoCode)))" }
            if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
            return "\(psql.code)"
        }
        return "\(error)"
    }
}

/// What `database.url` names for PostgreSQL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, or a
/// unix socket directory as libpq spells it, `postgres://USER@/DATABASE?host=/run/postgresql`.
public struct PostgresSettings: Sendable {
    public var host: String?
    public var port: Int
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    /// How long a connection attempt or a statement may wait for the server (`database.timeoutSeconds`).
    public var timeout: Duration = .seconds(10)
    /// Reader connections of this node (`database.pool.size`), beside its one writer.
    public var poolSize: Int = PostgresSettings.defaultPoolSize

    /// Two per core, four at least.
    public static var defaultPoolSize: Int { max(4, 2 * ProcessInfo.processInfo.activeProcessorCount) }

    /// The URL without its password, for logs and errors.
    public var display: String {
        "postgres://\(user)@\(host ?? "")\(host != nil ? ":\(port)" : "")/\(database)\(socketDirectory.map { "?host=\($0)" } ?? "")"
    }

    var configuration: PostgresConnection.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        return .init(host: host ?? "localhost", port: port, username: user, password: password, database: database, tls: .disable)
    }

    static let quiet: Logger = {
        var logger = Logger(label: "postern.store.postgres")
        logger.logLevel = .critical
        return logger
    }()
}

/// `database.url`, parsed.
public enum DatabaseURL: Sendable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    public init(_ text: String) throws {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw StoreOpenError.badURL("sqlite: needs a file path, as in sqlite:./var/postern.sqlite") }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"), let url = URLComponents(string: text) else {
            // The URL itself is not repeated: it may hold a password.
            throw StoreOpenError.badURL("it is neither sqlite:PATH nor postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else { throw StoreOpenError.badURL("the PostgreSQL URL names no database (postgres://USER@HOST/DATABASE)") }
        guard let user = url.user, !user.isEmpty else { throw StoreOpenError.badURL("the PostgreSQL URL names no user (postgres://USER@HOST/DATABASE)") }
        let socket = url.queryItems?.first { $0.name == "host" }?.value
        if let socket, !socket.hasPrefix("/") { throw StoreOpenError.badURL("host= takes a unix socket directory, as in ?host=/run/postgresql") }
        let host = url.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || socket != nil else { throw StoreOpenError.badURL("the PostgreSQL URL names no host and no ?host=SOCKET_DIRECTORY") }
        self = .postgres(PostgresSettings(host: socket == nil ? host : nil, port: url.port ?? 5432, socketDirectory: socket,
                                          user: user.removingPercentEncoding ?? user, password: url.password?.removingPercentEncoding,
                                          database: database))
    }
}
