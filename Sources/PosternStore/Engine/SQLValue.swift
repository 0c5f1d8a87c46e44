import Foundation

/// One value going into or coming out of SQL, in neither engine's type: the store's statements
/// are written once and each engine maps these to its own (SQLite's text dates, PostgreSQL's
/// timestamptz and bytea).
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case date(Date)
}

/// A Swift value a statement can take as an argument.
public protocol SQLEncodable: Sendable {
    var sqlValue: SQLValue { get }
}

/// A Swift value a column can be read as. A column that does not hold one is a schema bug:
/// reading it stops the process, as GRDB does.
public protocol SQLDecodable {
    static func decode(_ value: SQLValue) -> Self?
}

extension Int64: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(self) }
    public static func decode(_ value: SQLValue) -> Int64? {
        switch value {
        case let .integer(v): v
        case let .real(v): Int64(exactly: v)
        case let .text(v): Int64(v)
        default: nil
        }
    }
}

extension Int: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public static func decode(_ value: SQLValue) -> Int? { Int64.decode(value).map(Int.init) }
}

extension Bool: SQLEncodable, SQLDecodable {
    /// Stored as 0 or 1 in both engines (integer columns), so that statements compare the same.
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public static func decode(_ value: SQLValue) -> Bool? { Int64.decode(value).map { $0 != 0 } }
}

extension Double: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .real(self) }
    public static func decode(_ value: SQLValue) -> Double? {
        switch value {
        case let .real(v): v
        case let .integer(v): Double(v)
        default: nil
        }
    }
}

extension String: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .text(self) }
    public static func decode(_ value: SQLValue) -> String? {
        switch value {
        case let .text(v): v
        case let .integer(v): String(v)
        case let .blob(v): String(decoding: v, as: UTF8.self)
        default: nil
        }
    }
}

extension Data: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .blob(Array(self)) }
    public static func decode(_ value: SQLValue) -> Data? { [UInt8].decode(value).map { Data($0) } }
}

extension Array: SQLEncodable where Element == UInt8 {
    public var sqlValue: SQLValue { .blob(self) }
}

extension Array: SQLDecodable where Element == UInt8 {
    public static func decode(_ value: SQLValue) -> [UInt8]? {
        switch value {
        case let .blob(v): v
        case let .text(v): Array(v.utf8)
        default: nil
        }
    }
}

extension Date: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .date(self) }
    public static func decode(_ value: SQLValue) -> Date? {
        switch value {
        case let .date(v): v
        case let .text(v): StoredDate.parse(v)
        case let .integer(v): Date(timeIntervalSince1970: TimeInterval(v))
        case let .real(v): Date(timeIntervalSince1970: v)
        default: nil
        }
    }
}

extension Optional: SQLEncodable where Wrapped: SQLEncodable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Wrapped?? {
        if value == .null { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}

/// The arguments of one statement, written as an array literal of mixed values as GRDB's are.
public struct SQLArguments: ExpressibleByArrayLiteral, Sendable {
    public var values: [SQLValue]

    public init(arrayLiteral elements: (any SQLEncodable)?...) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    public init(_ values: [SQLValue]) { self.values = values }

    public static func += (lhs: inout SQLArguments, rhs: SQLArguments) { lhs.values += rhs.values }
    public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(lhs.values + rhs.values) }
}

/// SQLite keeps dates as text, "yyyy-MM-dd HH:mm:ss.SSS" in UTC (GRDB's format, which existing
/// databases hold); read here without a formatter, as the index loader reads a million of them.
enum StoredDate {
    static func parse(_ text: String) -> Date? {
        var utf8 = Array(text.utf8)
        guard utf8.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var n = 0
            for i in from..<(from + count) {
                let c = utf8[i]
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        if utf8[10] == UInt8(ascii: "T") { utf8[10] = UInt8(ascii: " ") }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var fraction = 0.0
        if utf8.count > 20, utf8[19] == UInt8(ascii: ".") {
            var scale = 0.1
            for c in utf8[20...] {
                guard c >= 48, c <= 57 else { break }
                fraction += Double(c - 48) * scale
                scale /= 10
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
