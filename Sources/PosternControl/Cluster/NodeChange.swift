import PosternAuth
import PosternCore

/// What one committed write changes on every node: the password index, the routing index, and
/// the mail servers to tell. It goes into the change log with the write, and each node applies
/// it to its own indexes and runs the revocation hooks for its own Dovecot. Digests, never passwords.
public struct NodeChange: Codable, Sendable, Equatable {
    public var credentials: [CredentialIndex.Change] = []
    public var routing: [RoutingTable.Change] = []
    public var revocations: [Revocation] = []

    /// Passwords revoked: the hooks to run, and the devices whose last use each node forgets and
    /// whose IPs, as each node saw them, it adds to the session kick.
    public struct Revocation: Codable, Sendable, Equatable {
        public var event: RevocationEvent
        public var devices: [Int64]
        /// The devices are gone (not rotated): their last use is forgotten.
        public var gone: Bool

        public init(event: RevocationEvent, devices: [Int64], gone: Bool = true) {
            self.event = event
            self.devices = devices
            self.gone = gone
        }
    }

    public init(credentials: [CredentialIndex.Change] = [], routing: [RoutingTable.Change] = [], revocations: [Revocation] = []) {
        self.credentials = credentials
        self.routing = routing
        self.revocations = revocations
    }

    public var isEmpty: Bool { credentials.isEmpty && routing.isEmpty && revocations.isEmpty }

    public static func credentials(_ changes: [CredentialIndex.Change]) -> NodeChange { NodeChange(credentials: changes) }
    public static func routing(_ changes: [RoutingTable.Change]) -> NodeChange { NodeChange(routing: changes) }
}
