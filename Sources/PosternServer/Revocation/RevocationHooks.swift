import Foundation
import Logging
import Metrics
import PosternCore
import PosternStore
import ServiceLifecycle

/// Runs the revocation commands off the request path: the control API enqueues and answers at
/// once; each command gets a timeout and retries; a failure is logged, counted and written to
/// the mailbox's action history, and never reaches the API's answer.
public final class RevocationHooks: Service, Sendable {
    public let commands: RevocationCommands
    private let stream: AsyncStream<RevocationEvent>
    private let continuation: AsyncStream<RevocationEvent>.Continuation
    private let logger: Logger
    private let failures: Counter
    private let runs: Counter
    /// Where a failure is recorded in the mailbox's action history (nil in tests that need none).
    private let store: Store?

    /// Exit codes that mean "done": doveadm kick exits 68 when no session matched.
    static let successfulExitCodes: Set<Int32> = [0, 68]

    public init(commands: RevocationCommands, store: Store?, logger: Logger) {
        self.commands = commands
        self.logger = logger
        self.store = store
        (stream, continuation) = AsyncStream.makeStream(of: RevocationEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        failures = Counter(label: "postern_revocation_hook_failures_total")
        runs = Counter(label: "postern_revocation_hook_runs_total")
    }

    /// Queues an event; returns at once.
    public func enqueue(_ event: RevocationEvent) {
        guard !commands.isEmpty else { return }
        continuation.yield(event)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await event in stream {
                await handle(event)
            }
        } onGracefulShutdown: { [continuation] in
            // Stop taking events; the ones queued already still run (each bounded by timeout × retries).
            continuation.finish()
        }
    }

    func handle(_ event: RevocationEvent) async {
        for command in commands.plan(event) {
            var attempt = 0
            while true {
                attempt += 1
                runs.increment()
                let outcome = await Self.run(command, timeout: commands.timeout)
                if case .exited(let code) = outcome, Self.successfulExitCodes.contains(code) {
                    logger.info("revocation hook ran", metadata: ["command": "\(command.joined(separator: " "))", "exit": "\(code)"])
                    break
                }
                if attempt > commands.retries {
                    failures.increment()
                    let what = "\(command.joined(separator: " ")) \(outcome) after \(attempt) attempt(s)"
                    logger.error("revocation hook failed: \(what)")
                    try? store?.write { db in
                        try db.appendHistory(HistoryEntry(mailbox: event.address, actor: "postern", action: "revocation.hook_failed", detail: what))
                    }
                    break
                }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    enum Outcome: Sendable, CustomStringConvertible {
        case exited(Int32)
        case timedOut
        case cannotStart(String)

        var description: String {
            switch self {
            case let .exited(code): "exited \(code)"
            case .timedOut: "timed out"
            case let .cannotStart(why): "could not start (\(why))"
            }
        }
    }

    /// Runs one command with a deadline; its output goes to the log only on failure.
    static func run(_ command: [String], timeout: Duration) async -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let finished = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { p in
            finished.continuation.yield(p.terminationStatus)
            finished.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            return .cannotStart("\(error)")
        }
        return await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                for await code in finished.stream { return .exited(code) }
                return .exited(-1)
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await group.next()!
            if case .timedOut = first, process.isRunning {
                process.terminate()
            }
            group.cancelAll()
            return first
        }
    }
}
