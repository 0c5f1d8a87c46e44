import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared engine: a PostgreSQL database that several posternd nodes write to, through
/// postgres-nio's `PostgresClient` (a pool of `database.pool.size` connections per node, opened
/// on demand). Reads run in parallel, each in one snapshot. Writes run one at a time per node
/// (`WriteTurn`: a caller waits by suspending), and one at a time across nodes: each write
/// transaction takes the same advisory lock first, so that the change log's sequence numbers are
/// committed in order and without gaps (what every node's catch-up relies on), and this node
/// applies its own changes in commit order. No statement blocks a thread: each suspends its caller.
final class PostgresEngine: Sendable {
    let settings: PostgresSettings
    let isNew: Bool
    private let client: PostgresClient
    /// Runs the client's pool (`PostgresClient.run`) until `close`.
    private let running: Task<Void, Never>
    private let turn = WriteTurn()
    private let probe = ReachabilityProbe()
    /// The change feed's own connection (`readOnFeedConnection`).
    private let feedConnection = Mutex<PostgresConnection?>(nil)
    /// The lock every write transaction takes (an arbitrary constant: "post" in ASCII).
    static let writeLock: Int64 = 0x706f_7374

    private init(settings: PostgresSettings, isNew: Bool) throws {
        self.settings = settings
        self.isNew = isNew
        var configuration = try settings.clientConfiguration()
        configuration.options.maximumConnections = max(1, settings.poolSize)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = settings.timeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: PostgresSettings.quiet)
        self.client = client
        running = Task { await client.run() }
    }

    /// Connects once to bring the schema up to date (every node runs the same migrations under the
    /// write lock), then opens the pool.
    static func open(_ settings: PostgresSettings) async throws -> PostgresEngine {
        let isNew: Bool
        do {
            let connection = try await PostgresConnector.connect(settings)
            do {
                isNew = try await PostgresSchema.migrate(PostgresConnectionAdapter(connection: connection, timeout: settings.timeout))
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch let error as StoreError {
            throw StoreOpenError.cannotConnect("\(settings.display): \(error)")
        }
        return try PostgresEngine(settings: settings, isNew: isNew)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T,
                            afterCommit: @escaping @Sendable (T) -> Void) async throws -> T {
        await turn.take()
        defer { turn.pass() }
        return try await leased { connection in
            try await connection.simple("BEGIN")
            let result: T
            do {
                _ = try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.writeLock))", [])
                result = try await body(StoreTransaction(connection))
                try await connection.simple("COMMIT")
            } catch {
                try? await connection.simple("ROLLBACK")
                throw error
            }
            afterCommit(result)
            return result
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        try await leased { connection in try await Self.snapshot(connection, body) }
    }

    /// Statements on a connection of the pool, each committed on its own: no write turn, no lock.
    func direct<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        try await leased { connection in try await body(StoreTransaction(connection)) }
    }

    /// One snapshot for the whole read, as SQLite's readers have.
    private static func snapshot<T: Sendable>(_ connection: PostgresConnectionAdapter,
                                              _ body: @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        try await connection.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        let result: T
        do {
            result = try await body(StoreTransaction(connection))
        } catch {
            try? await connection.simple("ROLLBACK")
            throw error
        }
        try await connection.simple("COMMIT")
        return result
    }

    /// A read on the change feed's own connection, outside the pool: the feed's catch-up is what
    /// proves the node in step (else it refuses logins past `database.maxLagSeconds`), so it does
    /// not wait out the pool's reconnection backoff after PostgreSQL restarts: each attempt
    /// connects at once if need be. One caller at a time (the feed's loop).
    func readOnFeedConnection<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        if let open = feedConnection.withLock({ $0 }), !open.isClosed {
            connection = open
        } else {
            connection = try await PostgresConnector.connect(settings)
            feedConnection.withLock { $0 = connection }
        }
        let adapter = PostgresConnectionAdapter(connection: connection, timeout: settings.timeout)
        do {
            return try await Self.snapshot(adapter, body)
        } catch let error as StoreError {
            if case .unavailable = error {
                feedConnection.withLock { $0 = nil }
                try? await connection.close()
            }
            throw error
        }
    }

    /// Runs `body` on a connection of the pool. Waiting for one is given up after
    /// `database.timeoutSeconds` (a server down or silent, every connection busy for that long);
    /// once it has one, each statement has its own deadline (`PostgresConnectionAdapter`).
    private func leased<T: Sendable>(_ body: @escaping @Sendable (PostgresConnectionAdapter) async throws -> T) async throws -> T {
        let client = client, timeout = settings.timeout, settings = settings, probe = probe
        let leased = Leased()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    leased.flag.store(true, ordering: .sequentiallyConsistent)
                    return try await body(PostgresConnectionAdapter(connection: connection, timeout: timeout))
                }
            }
            group.addTask {
                // A lease slow to come: the pool may be retrying a server that is down (it waits
                // out a backoff rather than failing the lease). One probe a second per node says
                // which: down fails at once, with why; up (the pool is busy) waits on.
                try await Task.sleep(for: .milliseconds(200))
                if !leased.flag.load(ordering: .sequentiallyConsistent), let down = await probe.unreachable(settings) {
                    throw StoreError.unavailable(down)
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                if !leased.flag.load(ordering: .sequentiallyConsistent) {
                    throw StoreError.unavailable("no connection to PostgreSQL within \(timeout.components.seconds) s (database.timeoutSeconds)")
                }
                return nil
            }
            do {
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        return result
                    }
                }
            } catch {
                group.cancelAll()
                // postgres-nio's errors as the store's; the planes' own (a refusal) pass through.
                throw error is PSQLError ? PostgresConnectionAdapter.mapped(error) : error
            }
            throw StoreError.failed("a PostgreSQL transaction ended without a result")
        }
    }

    private final class Leased: Sendable {
        let flag = Atomic<Bool>(false)
    }

    func close() {
        running.cancel()
        if let connection = feedConnection.withLock({ c -> PostgresConnection? in defer { c = nil }; return c }) {
            let _: EventLoopFuture<Void> = connection.close()
        }
    }
}

/// Whether PostgreSQL takes connections now, asked at most once a second (a new connection,
/// closed at once); nil: it does, or nobody knows yet.
final class ReachabilityProbe: Sendable {
    private struct State {
        var checkedAt: ContinuousClock.Instant?
        var down: String?
    }
    private let state = Mutex(State())

    func unreachable(_ settings: PostgresSettings) async -> String? {
        let now = ContinuousClock.now
        let cached = state.withLock { s -> String?? in
            if let at = s.checkedAt, now - at < .seconds(1) { return .some(s.down) }
            s.checkedAt = now
            return nil
        }
        if let cached { return cached }
        var down: String?
        do {
            let connection = try await PostgresConnector.connect(settings)
            try? await connection.close()
        } catch let StoreError.unavailable(why) {
            down = why
        } catch {
            down = "\(error)"
        }
        state.withLock { $0.down = down }
        return down
    }
}

/// This node's writes, one at a time, in the order they asked: a write waits by suspending.
final class WriteTurn: Sendable {
    private struct State {
        var taken = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// The callers waiting for the turn.
    var waiting: Int { state.withLock { $0.waiting.count } }

    func take() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if !state.taken {
                    state.taken = true
                    return true
                }
                state.waiting.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    func pass() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.taken = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// A postgres-nio connection as the store's statements see it. A statement that has no answer
/// within `timeout` closes the connection (a server or network that went silent): it fails as
/// unavailable and the session opens a new connection for the next call.
struct PostgresConnectionAdapter: SQLConnection {
    let connection: PostgresConnection
    let timeout: Duration
    var kind: StoreEngineKind { .postgres }

    func execute(_ sql: String, _ arguments: [SQLValue]) async throws -> Int {
        let result = try await answer(connection.query(PostgresQuery(unsafeSQL: PostgresDialect.translate(sql), binds: try Self.binds(arguments)),
                                               logger: PostgresSettings.quiet))
        return result.metadata.rows ?? 0
    }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (StoreRow) throws -> Void) async throws {
        for row in try await rows(sql, arguments) { try body(row) }
    }

    func query(_ sql: String, _ arguments: [SQLValue], cells: Int, _ body: ([StoreRow]) async throws -> Void) async throws {
        var batch: [StoreRow] = []
        for row in try await rows(sql, arguments) {
            batch.append(row)
            if batch.count * row.names.count >= cells {
                try await body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await body(batch) }
    }

    private func rows(_ sql: String, _ arguments: [SQLValue]) async throws -> [StoreRow] {
        let result = try await answer(connection.query(PostgresQuery(unsafeSQL: PostgresDialect.translate(sql), binds: try Self.binds(arguments)),
                                                       logger: PostgresSettings.quiet))
        var names: [String]?
        var rows: [StoreRow] = []
        rows.reserveCapacity(result.rows.count)
        for row in result.rows {
            var values: [SQLValue] = []
            values.reserveCapacity(names?.count ?? 8)
            var columns: [String] = []
            for cell in row {
                values.append(try Self.value(cell))
                if names == nil { columns.append(cell.columnName.lowercased()) }
            }
            if names == nil { names = columns }
            rows.append(StoreRow(names: names!, values: values))
        }
        return rows
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
    func simple(_ sql: String) async throws {
        _ = try await answer(connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresSettings.quiet))
    }

    private func answer<T: Sendable>(_ future: EventLoopFuture<T>) async throws -> T {
        let deadline = Deadline(connection, timeout)
        defer { deadline.cancel() }
        do {
            return try await future.get()
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
