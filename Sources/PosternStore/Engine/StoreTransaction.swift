import Foundation

/// Which database posternd keeps its record in.
public enum StoreEngineKind: String, Sendable {
    case sqlite
    case postgres
}

/// What an engine does for a transaction: run a statement, stream a query's rows. Statements are
/// written once, with `?` placeholders, in the SQL both engines speak (see `PostgresDialect`).
/// Asynchronous, so that PostgreSQL's round trips suspend the caller instead of blocking a thread;
/// SQLite's statements answer at once (`SQLiteEngine` runs the whole transaction on GRDB's thread).
protocol SQLConnection {
    var kind: StoreEngineKind { get }
    /// Runs a statement; returns the rows it changed.
    func execute(_ sql: String, _ arguments: [SQLValue]) async throws -> Int
    func query(_ sql: String, _ arguments: [SQLValue], _ row: (StoreRow) throws -> Void) async throws
    /// The rows in batches of about `cells` values, each handed to `body` before the next is read.
    func query(_ sql: String, _ arguments: [SQLValue], cells: Int, _ body: ([StoreRow]) async throws -> Void) async throws
}

/// The store as a plane sees it inside a transaction: the statements of `PosternStore`'s
/// extensions, on whichever engine holds the record. No engine type shows through.
public struct StoreTransaction {
    let connection: any SQLConnection

    init(_ connection: any SQLConnection) { self.connection = connection }

    public var engine: StoreEngineKind { connection.kind }

    /// Runs one statement; returns how many rows it changed.
    @discardableResult
    func execute(sql: String, arguments: SQLArguments = []) async throws -> Int {
        try await connection.execute(sql, arguments.values)
    }

    /// Runs an INSERT into a table with an `id` column; returns the new row's id.
    @discardableResult
    func insert(sql: String, arguments: SQLArguments = []) async throws -> Int64 {
        guard let id = try await Int64.fetchOne(self, sql: sql + " RETURNING id", arguments: arguments) else {
            throw StoreError.failed("an insert returned no id")
        }
        return id
    }

    /// A statement run many times in one transaction (engines keep their own statement caches).
    func cachedStatement(sql: String) throws -> Statement { Statement(transaction: self, sql: sql) }

    struct Statement {
        let transaction: StoreTransaction
        let sql: String

        @discardableResult
        func execute(arguments: SQLArguments = []) async throws -> Int { try await transaction.execute(sql: sql, arguments: arguments) }
    }
}

/// One row of a result, its columns by name (whatever their case) or by position.
public struct StoreRow {
    /// The columns' names, lowercased (PostgreSQL folds unquoted names; lookups ignore case).
    let names: [String]
    let values: [SQLValue]

    init(names: [String], values: [SQLValue]) {
        self.names = names
        self.values = values
    }

    public subscript<T: SQLDecodable>(_ index: Int) -> T {
        Self.decode(values[index], column: names[index])
    }

    public subscript<T: SQLDecodable>(_ name: String) -> T {
        let key = name.lowercased()
        guard let index = names.firstIndex(of: key) else { fatalError("no column \(name) in the result (\(names.joined(separator: ", ")))") }
        return Self.decode(values[index], column: name)
    }

    /// The raw value of a column, nil when the result has no such column.
    public func value(_ name: String) -> SQLValue? {
        names.firstIndex(of: name.lowercased()).map { values[$0] }
    }

    static func decode<T: SQLDecodable>(_ value: SQLValue, column: String) -> T {
        guard let decoded = T.decode(value) else { fatalError("column \(column) holds \(value), not a \(T.self)") }
        return decoded
    }

    static func fetchAll(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = []) async throws -> [StoreRow] {
        var rows: [StoreRow] = []
        try await tx.connection.query(sql, arguments.values) { rows.append($0) }
        return rows
    }

    static func fetchOne(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = []) async throws -> StoreRow? {
        var first: StoreRow?
        try await tx.connection.query(sql, arguments.values) { if first == nil { first = $0 } }
        return first
    }

    /// Streams the rows to `body` without collecting them (the index loader's million rows).
    static func forEach(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = [], _ body: (StoreRow) throws -> Void) async throws {
        try await tx.connection.query(sql, arguments.values, body)
    }

    /// Streams the rows in batches of about `cells` values (rows × columns) to an asynchronous
    /// `body` (`postern database copy` writes each batch to another store before reading on).
    static func forEachBatch(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = [], cells: Int,
                             _ body: ([StoreRow]) async throws -> Void) async throws {
        try await tx.connection.query(sql, arguments.values, cells: cells, body)
    }
}

extension SQLDecodable {
    /// The first column of the first row; nil when there is no row or it holds NULL.
    static func fetchOne(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = []) async throws -> Self? {
        guard let row = try await StoreRow.fetchOne(tx, sql: sql, arguments: arguments), let value = row.values.first, value != .null else { return nil }
        return StoreRow.decode(value, column: row.names[0]) as Self
    }

    /// The first column of every row.
    static func fetchAll(_ tx: StoreTransaction, sql: String, arguments: SQLArguments = []) async throws -> [Self] {
        var all: [Self] = []
        try await tx.connection.query(sql, arguments.values) { all.append(StoreRow.decode($0.values[0], column: $0.names[0])) }
        return all
    }
}

/// A statement the engine refused or could not run, in neither engine's type.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// A constraint said no (unique, foreign key, check, the history's append-only triggers).
    case constraint(String)
    /// The database cannot be reached or written (disk full, I/O error, server down).
    case unavailable(String)
    case failed(String)

    public var description: String {
        switch self {
        case let .constraint(m): "the database refused the change: \(m)"
        case let .unavailable(m): "the database is unavailable: \(m)"
        case let .failed(m): "database error: \(m)"
        }
    }
}

extension StoreRow: CustomStringConvertible {
    public var description: String {
        zip(names, values).map { name, value in
            switch value {
            case .null: "\(name):NULL"
            case let .integer(v): "\(name):\(v)"
            case let .real(v): "\(name):\(v)"
            case let .text(v): "\(name):\"\(v)\""
            case let .blob(v): "\(name):x'\(v.map { String(format: "%02x", $0) }.joined())'"
            case let .date(v): "\(name):\(v.timeIntervalSince1970)"
            }
        }.joined(separator: " ")
    }
}
