import PosternCore

/// The routing table Postfix's lookups read, behind a read-mostly lock: the socketmap answers
/// from it, and the control plane applies every committed change before it answers its caller.
public final class RoutingIndex: Sendable {
    private let table: ReadMostly<RoutingTable>

    public init(_ table: RoutingTable = RoutingTable()) {
        self.table = ReadMostly(table)
    }

    public func lookup(_ map: RoutingTable.Map, _ key: String) -> String? {
        table.read { $0.lookup(map, key) }
    }

    public func apply(_ changes: [RoutingTable.Change]) {
        table.write { table in for change in changes { table.apply(change) } }
    }

    public func apply(_ change: RoutingTable.Change) { apply([change]) }

    /// See `RoutingTable.loop(from:after:)`: checked on the table as it is, without copying it.
    public func loop(from start: String, after change: RoutingTable.Change) -> [String]? {
        table.read { $0.loop(from: start, after: change) }
    }

    public func isOurs(_ address: String) -> Bool { table.read { $0.isOurs(address) } }
    public func serves(domain: String) -> Bool { table.read { $0.serves(domain: domain) } }

    public var delimiter: Character? { table.read { $0.delimiter } }

    /// A table with this one's settings and no entries, to load.
    public var emptied: RoutingTable { table.read { RoutingTable(mailboxPath: $0.mailboxPath, delimiter: $0.delimiter) } }

    /// Replaces the table (at start, once loaded).
    public func replace(_ new: RoutingTable) { table.write { $0 = new } }
}
