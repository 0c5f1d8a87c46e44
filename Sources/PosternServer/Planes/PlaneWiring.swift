import Foundation
import Logging
import NIOCore
import NIOPosix
import PosternAuth
import PosternControl
import PosternCore
import PosternStore
import ServiceLifecycle

/// The daemon's side of the planes' ports: revocation hooks, the Sieve writer, doveadm for
/// folders, NIO's thread pool for blocking work.
extension Planes {
    public init(store: Store, key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, hooks: RevocationHooks? = nil,
                maxDevicesPerMailbox: Int = 250, mailFrom: String? = nil, routing: RoutingIndex = RoutingIndex(), sieve: SieveWriter? = nil,
                folderCommand: [String]? = nil, feed: ChangeFeed = ChangeFeed(), confirmations: (any Lockout)? = nil, logger: Logger) {
        self.init(store: store, key: key, index: index, lastUse: lastUse,
                  mailServers: MailServers(revocations: hooks, sieve: sieve, folders: folderCommand.flatMap(DoveadmFolders.init)),
                  maxDevicesPerMailbox: maxDevicesPerMailbox, mailFrom: mailFrom, routing: routing, feed: feed,
                  blocking: ThreadPoolRunner(), confirmations: confirmations, logger: logger)
    }
}

/// What blocks a thread: sievec and doveadm waited for, Argon2id account passwords, SQLite's
/// backup. On threads of their own, never the cooperative pool or an event loop (the store needs
/// none: its statements suspend).
struct ThreadPoolRunner: BlockingRunner {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Self.threads.runIfActive(body)
    }

    /// 4 threads per core, 16 at least: most of their time is a wait for a process.
    static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(16, 4 * System.coreCount))
        pool.start()
        return pool
    }()
}

/// `doveadm mailbox …` as configured (`folders.doveadm`), with a 30 s deadline.
struct DoveadmFolders: FolderCommand {
    let command: [String]

    init?(_ command: [String]) {
        guard !command.isEmpty else { return nil }
        self.command = command
    }

    func run(_ arguments: [String]) -> (status: Int32, output: String) { Command.run(command + arguments, timeout: 30) }
}

extension ImportPlane {
    /// An import read from an HTTP body as it arrives.
    public func importPasswdFile<Body: AsyncSequence>(streaming body: Body, actor: Actor, gate: ImportGate? = nil,
                                                      progress: (ImportEvent.Progress) async throws -> Void = { _ in })
        async throws -> ImportReport where Body.Element == ByteBuffer {
        try await importPasswdFile(chunks: body.map { $0.readableBytesView }, actor: actor, gate: gate, progress: progress)
    }
}

/// Runs the import gate as a service: it comes last in the group, so it hears the shutdown
/// first, and the control API then waits for an import that is already stopping, not for the whole file.
public struct ImportGateService: Service {
    public let gate: ImportGate
    public init(gate: ImportGate) { self.gate = gate }

    public func run() async throws {
        try? await gracefulShutdown()
        gate.stop()
    }
}
