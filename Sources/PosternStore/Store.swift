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
    /// connection attempt or statement unanswered for `timeout` is given up (`database.timeoutSeconds`).
    public init(url: String, timeout: Duration = .seconds(10), poolSize: Int = PostgresSettings.defaultPoolSize) throws {
        switch try DatabaseURL(url) {
        case let .sqlite(path):
            let sqlite = try SQLiteEngine(path: path)
            engine = .sqlite(sqlite)
            isNew = sqlite.isNew
        case var .postgres(settings):
            settings.timeout = timeout
            settings.poolSize = poolSize
            let postgres = try PostgresEngine(settings)
            engine = .postgres(postgres)
            isNew = postgres.isNew
        }
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
    public func write<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> T,
                                   afterCommit: @Sendable (T) -> Void = { _ in }) throws -> T {
        do {
            let result: T
            switch engine {
            case let .sqlite(e): result = try e.write(body, afterCommit: afterCommit)
            case let .postgres(e): result = try e.write(body, afterCommit: afterCommit)
            }
            lastWriteFailure.withLock { $0 = nil }
            return result
        } catch let StoreError.unavailable(detail) {
            lastWriteFailure.withLock { $0 = detail }
            throw PosternError(.storeUnavailable,
                               "the database cannot be written (\(detail)): \(kind == .sqlite ? "free disk space or check the file" : "check that PostgreSQL is up and reachable"); nothing was changed")
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> T) throws -> T {
        do {
            switch engine {
            case let .sqlite(e): return try e.read(body)
            case let .postgres(e): return try e.read(body)
            }
        } catch let StoreError.unavailable(detail) {
            throw PosternError(.storeUnavailable, "the database cannot be read (\(detail)); nothing was changed")
        }
    }

    /// Closes the engine's connections (PostgreSQL); SQLite closes with the last reference.
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
