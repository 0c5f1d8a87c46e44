@testable import PosternStore
import Testing

/// The `?` → `$n` and group_concat → string_agg translation of the statements for PostgreSQL.
@Suite struct PostgresDialectTests {
    @Test(arguments: [
        ("SELECT 1", "SELECT 1"),
        ("", ""),
        ("SELECT * FROM mailbox WHERE id = ?", "SELECT * FROM mailbox WHERE id = $1"),
        ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"),
        // Inside quoted strings and names, a ? is text.
        ("SELECT '?' , \"a?b\", ? FROM t", "SELECT '?' , \"a?b\", $1 FROM t"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
        ("SELECT group_concat(name, ',') FROM t WHERE x = ?", "SELECT string_agg(name, ',') FROM t WHERE x = $1"),
        ("SELECT 'group_concat(' || ?", "SELECT 'group_concat(' || $1"),
        ("SELECT grouping, ? FROM g", "SELECT grouping, $1 FROM g"),
        ("SELECT 'é' || ? -- ünïcödé", "SELECT 'é' || $1 -- ünïcödé"),
    ])
    func translates(_ sql: String, _ expected: String) {
        #expect(PostgresDialect.translate(sql) == expected)
    }

    @Test func aBatchStatementNumbersEveryPlaceholderInOrder() {
        let rows = Array(repeating: "(?, ?, ?, ?, ?)", count: 2_000).joined(separator: ", ")
        let out = PostgresDialect.translate("INSERT INTO history VALUES " + rows)
        #expect(out.hasSuffix("($9996, $9997, $9998, $9999, $10000)"))
        #expect(out.hasPrefix("INSERT INTO history VALUES ($1, $2, $3, $4, $5), ($6,"))
        #expect(!out.contains("?"))
    }
}

/// What a change-log notification carries: the number, and the change when it fits.
@Suite struct ChangeNotificationTests {
    @Test func aSmallChangeRidesAlongAndALargeOneIsReadFromTheLog() {
        let small = #"{"credentials":[]}"#
        #expect(LoggedChange.notified(LoggedChange.notification(seq: 42, change: small))! == (42, small))
        let large = String(repeating: "x", count: LoggedChange.notifiedChangeBytes + 1)
        let payload = LoggedChange.notification(seq: 43, change: large)
        #expect(payload == "43" && LoggedChange.notified(payload)! == (43, nil))
        #expect(LoggedChange.notified("x y") == nil && LoggedChange.notified("") == nil)
    }
}
