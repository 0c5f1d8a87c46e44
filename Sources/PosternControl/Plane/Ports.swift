import Foundation
import PosternCore
import PosternProtocols

/// What the planes ask of the world outside the store, each behind a protocol that the daemon
/// (PosternServer) fills: the mail servers to tell, the Sieve scripts to write, the folders to
/// change, and where blocking work runs.

/// Tells the local mail servers about revoked passwords (auth cache flush, session kick), off
/// the request path: `enqueue` returns at once.
public protocol RevocationSink: Sendable {
    func enqueue(_ event: RevocationEvent)
}

/// A script written beside the old one and compiled, waiting to be put in place after the commit.
public struct PreparedScript: Sendable {
    public let temporary: String
    public let final: String
    public let active: String?

    public init(temporary: String, final: String, active: String?) {
        self.temporary = temporary
        self.final = final
        self.active = active
    }
}

/// Writes mailboxes' Sieve scripts in two steps, both after the change's commit (the outbox):
/// `prepare` writes the script beside the old one and compiles it (no lock held), `install` puts
/// it in place; `abandon` drops one that a newer script overtook.
public protocol SieveScriptWriter: Sendable {
    var spamHeader: SieveScript.SpamHeader { get }
    /// nil when scripts are not written.
    func prepare(_ script: String, for address: MailAddress) throws -> PreparedScript?
    func install(_ script: PreparedScript) throws
    func abandon(_ script: PreparedScript)
    /// Refuses, up front, a mailbox that cannot have a script (an address unusable in a file path).
    func check(_ address: MailAddress) throws
}

/// Runs `doveadm mailbox …` for a mailbox's folders: the exit status and what it said.
public protocol FolderCommand: Sendable {
    func run(_ arguments: [String]) -> (status: Int32, output: String)
}

/// Runs store work (which blocks on fsync, or on a slow hash) away from the cooperative pool.
public protocol BlockingRunner: Sendable {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T
}

/// The cooperative pool itself: for tests and tools with nothing better.
public struct InlineRunner: BlockingRunner {
    public init() {}
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T { try body() }
}

/// The ports a node's planes use; nil: nobody to tell, nothing written.
public struct MailServers: Sendable {
    public var revocations: (any RevocationSink)?
    public var sieve: (any SieveScriptWriter)?
    public var folders: (any FolderCommand)?

    public init(revocations: (any RevocationSink)? = nil, sieve: (any SieveScriptWriter)? = nil, folders: (any FolderCommand)? = nil) {
        self.revocations = revocations
        self.sieve = sieve
        self.folders = folders
    }
}
