import Foundation
import PosternCore
import Synchronization

/// The durable record, on one of two engines: an SQLite file (the embedded default) or a
/// PostgreSQL database shared by several posternd nodes. The planes see only `StoreTransaction`.
public final class Store: Sendable {
    enum Engine: Sendable {
        case sqlite(SQLiteEngine)
        case postgres(PostgresEngine)
    }

    let engine: Engine
    /// True when this open created the database (seeds are loaded then).
    public let isNew: Bool

    /// The last write's failure, if the last write failed (health reports it).
    private let lastWriteFailure = Mutex<String?>(nil)

    /// Opens (creating it if need be) the SQLite database at `path`.
    public init(path: String) throws {
        let sqlite = try SQLiteEngine(path: path)
        engine = .sqlite(sqlite)
        isNew = sqlite.isNew
    }

    /// Opens the database `database.url` names: `sqlite:PATH` or `postgres://…`. On PostgreSQL a
    /// connection attempt or statement unanswered for `timeout` is given up (`database.timeoutSeconds`),
    /// and the node keeps a pool of `poolSize` connections (`database.pool.size`).
    public static func open(url: String, timeout: Duration = .seconds(10), poolSize: Int = PostgresSettings.defaultPoolSize) async throws -> Store {
        switch try DatabaseURL(url) {
        case let .sqlite(path):
            return try Store(path: path)
        case var .postgres(settings):
            settings.timeout = timeout
            settings.poolSize = poolSize
            let postgres = try await PostgresEngine.open(settings)
            return Store(engine: .postgres(postgres), isNew: postgres.isNew)
        }
    }

    private init(engine: Engine, isNew: Bool) {
        self.engine = engine
        self.isNew = isNew
    }

    public var kind: StoreEngineKind {
        switch engine {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// nil when the last write went through; else what went wrong.
    public var writeFailure: String? { lastWriteFailure.withLock { $0 } }

    /// Runs `body` in one write transaction, then `afterCommit` with its result while still holding the
    /// writer, so that the in-memory index sees changes in the order the store committed them.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T,
                                   afterCommit: @escaping @Sendable (T) -> Void = { _ in }) async throws -> T {
        do {
            let result: T
            switch engine {
            case let .sqlite(e): result = try await e.write(body, afterCommit: afterCommit)
            case let .postgres(e): result = try await e.write(body, afterCommit: afterCommit)
            }
            lastWriteFailure.withLock { $0 = nil }
            return result
        } catch let StoreError.unavailable(detail) {
            lastWriteFailure.withLock { $0 = detail }
            throw PosternError(.storeUnavailable,
                               "the database cannot be written (\(detail)): \(kind == .sqlite ? "free disk space or check the file" : "check that PostgreSQL is up and reachable"); nothing was changed")
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        do {
            switch engine {
            case let .sqlite(e): return try await e.read(body)
            case let .postgres(e): return try await e.read(body)
            }
        } catch let StoreError.unavailable(detail) {
            throw PosternError(.storeUnavailable, "the database cannot be read (\(detail)); nothing was changed")
        }
    }

    /// Statements outside the change log, for counters every node shares (failed account
    /// passwords): on PostgreSQL on a connection of the pool, each statement its own transaction,
    /// with no write turn and no write lock, so that counting never waits behind the writes; on
    /// SQLite in a write transaction.
    public func tally<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        do {
            switch engine {
            case let .sqlite(e): return try await e.write(body, afterCommit: { _ in })
            case let .postgres(e): return try await e.direct(body)
            }
        } catch let StoreError.unavailable(detail) {
            throw PosternError(.storeUnavailable, "the database cannot be written (\(detail)); nothing was changed")
        }
    }

    /// A read for the change feed's catch-up: on PostgreSQL on a connection of its own, outside
    /// the pool (`PostgresEngine.readOnFeedConnection`); on SQLite an ordinary read.
    public func readChangeLog<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> T) async throws -> T {
        guard case let .postgres(e) = engine else { return try await read(body) }
        do {
            return try await e.readOnFeedConnection(body)
        } catch let StoreError.unavailable(detail) {
            throw PosternError(.storeUnavailable, "the database cannot be read (\(detail)); nothing was changed")
        }
    }

    /// Closes the engine's pool (PostgreSQL); SQLite closes with the last reference.
    public func shutdown() {
        if case let .postgres(e) = engine { e.close() }
    }
}

/// Why posternd will not open its database, with what to do.
public enum StoreOpenError: Error, CustomStringConvertible {
    case empty(path: String)
    case corrupt(path: String, detail: String)
    case badURL(String)
    case cannotConnect(String)

    public var description: String {
        switch self {
        case let .empty(path):
            "the database \(path) is an empty file: restore it from a backup (postern restore), or remove it to start afresh"
        case let .corrupt(path, detail):
            "the database \(path) is damaged (\(detail)): restore it from a backup (postern restore)"
        case let .badURL(why): "database.url: \(why)"
        case let .cannotConnect(why): "cannot reach PostgreSQL: \(why)"
        }
    }
}
