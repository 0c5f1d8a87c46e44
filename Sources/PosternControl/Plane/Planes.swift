import Foundation
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// Every plane of one node, built from the same node state and ports: what the daemon wires and
/// the front doors call. It decides nothing itself.
public struct Planes: Sendable {
    public let node: Node
    public let devices: DevicesPlane
    public let people: PeoplePlane
    public let directory: DirectoryPlane
    public let routing: RoutingPlane
    public let mailSettings: MailSettingsPlane
    public let imports: ImportPlane
    public let backups: BackupPlane
    /// What writes asked of the mail servers (scripts, folders), done after their commit.
    public let outbox: ServerOutbox
    /// The server key device-password digests are taken under.
    public let serverKey: ServerKey

    public init(store: Store, key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, mailServers: MailServers,
                maxDevicesPerMailbox: Int = 250, mailFrom: String? = nil, routing: RoutingIndex = RoutingIndex(), feed: ChangeFeed = ChangeFeed(),
                blocking: any BlockingRunner = InlineRunner(), confirmations: (any Lockout)? = nil, logger: Logger) {
        let node = Node(store: store, index: index, routing: routing, lastUse: lastUse, feed: feed, revocations: mailServers.revocations)
        let scripts = MailboxScripts(writer: mailServers.sieve)
        let outbox = ServerOutbox(node: node, scripts: scripts, folders: mailServers.folders, blocking: blocking, logger: logger, state: OutboxState())
        self.outbox = outbox
        self.node = node
        self.serverKey = key
        devices = DevicesPlane(node: node, key: key, maxPerMailbox: maxDevicesPerMailbox, logger: logger)
        people = PeoplePlane(store: store, key: key, mailFrom: mailFrom, blocking: blocking, confirmations: confirmations)
        directory = DirectoryPlane(node: node)
        self.routing = RoutingPlane(node: node, outbox: outbox)
        mailSettings = MailSettingsPlane(node: node, outbox: outbox, folderCommand: mailServers.folders, blocking: blocking, logger: logger)
        imports = ImportPlane(node: node, key: key, blocking: blocking, logger: logger)
        backups = BackupPlane(store: store, blocking: blocking, logger: logger)
    }

    /// The rule set's answer for an action with no plane behind it (reading the metrics), as a refusal or nothing.
    public func authorize(_ actor: Actor, _ action: Action) async throws {
        try await Access.enforce(Policy.decide(try store.rights(of: actor), action), actor, PosternError(.notFound, "not found"))
    }

    // This node's state, for the daemon's wiring and its health answers.
    public var store: Store { node.store }
    public var index: CredentialIndex { node.index }
    public var routingIndex: RoutingIndex { node.routing }
    public var feed: ChangeFeed { node.feed }
    public var lastUse: LastUseRecorder { node.lastUse }
}
