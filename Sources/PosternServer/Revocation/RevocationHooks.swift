import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import PosternControl
import PosternCore
import PosternStore
import ServiceLifecycle

/// Tells Dovecot about revoked passwords off the request path: the control API enqueues and
/// answers at once; each call (a doveadm HTTP API request, or a command) gets a timeout and
/// retries; a failure is logged, counted and written to the mailbox's action history, and never
/// reaches the API's answer.
public final class RevocationHooks: Service, RevocationSink, Sendable {
    public let settings: RevocationSettings
    private let stream: AsyncStream<RevocationEvent>
    private let continuation: AsyncStream<RevocationEvent>.Continuation
    private let logger: Logger
    private let failures: Counter
    private let runs: Counter
    /// Where a failure is recorded in the mailbox's action history (nil in tests that need none).
    private let failuresLog: RevocationFailures?

    /// Exit codes that mean "done": doveadm kick exits 68 when no session matched.
    static let successfulExitCodes: Set<Int32> = [0, 68]

    public init(settings: RevocationSettings, store: Store?, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.failuresLog = store.map(RevocationFailures.init)
        (stream, continuation) = AsyncStream.makeStream(of: RevocationEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        failures = Counter(label: "postern_revocation_hook_failures_total")
        runs = Counter(label: "postern_revocation_hook_runs_total")
    }

    /// Queues an event; returns at once.
    public func enqueue(_ event: RevocationEvent) {
        guard !settings.isEmpty else { return }
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

    /// One step: what it is (for the log and the history) and how to do it once.
    struct Step: Sendable {
        let what: String
        let attempt: @Sendable () async -> Outcome
    }

    func steps(_ event: RevocationEvent) -> [Step] {
        let timeout = settings.timeout
        if let api = settings.doveadmHTTP {
            return event.actions.enumerated().map { i, action in
                let tag = "postern\(i)"
                return Step(what: "doveadm HTTP \(Self.name(action))") { await Self.call(api, action, tag: tag, timeout: timeout) }
            }
        }
        return settings.commands.plan(event).map { command in
            Step(what: command.joined(separator: " ")) { await Self.run(command, timeout: timeout).outcome }
        }
    }

    static func name(_ action: RevocationAction) -> String {
        switch action {
        case let .flushCache(user): "auth cache flush \(user)"
        case let .kick(user, ip): "kick \(user)" + (ip.map { " " + RevocationAction.network($0) } ?? "")
        }
    }

    func handle(_ event: RevocationEvent) async {
        for step in steps(event) {
            var attempt = 0
            while true {
                attempt += 1
                runs.increment()
                let outcome = await step.attempt()
                if case let .done(how) = outcome {
                    logger.info("revocation hook ran", metadata: ["command": "\(step.what)", "result": "\(how)"])
                    break
                }
                if attempt > settings.retries {
                    failures.increment()
                    let what = "\(step.what) \(outcome) after \(attempt) attempt(s)"
                    logger.error("revocation hook failed: \(what)")
                    await failuresLog?.record(mailbox: event.address, what)
                    break
                }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// The result of one attempt.
    enum Outcome: Sendable, CustomStringConvertible {
        case done(String)
        case failed(String)

        var description: String {
            switch self {
            case let .done(how), let .failed(how): how
            }
        }
    }

    /// One doveadm HTTP API call with a deadline.
    static func call(_ api: DoveadmHTTP, _ action: RevocationAction, tag: String, timeout: Duration) async -> Outcome {
        var request = HTTPClientRequest(url: api.url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: api.authorization)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(DoveadmHTTP.body(action, tag: tag))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let body = try await response.body.collect(upTo: 1 << 20)
            return switch DoveadmHTTP.decode(status: Int(response.status.code), body: Array(body.readableBytesView), tag: tag) {
            case let .done(how): .done(how)
            case let .failed(why): .failed(why)
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return .failed("timed out")
        } catch {
            return .failed("could not reach \(api.url) (\(error))")
        }
    }

    enum ProcessOutcome: Sendable, CustomStringConvertible {
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

        var outcome: Outcome {
            if case let .exited(code) = self, RevocationHooks.successfulExitCodes.contains(code) { return .done(description) }
            return .failed(description)
        }
    }

    /// Runs one command with a deadline, `input` on its standard input; its output goes nowhere.
    static func run(_ command: [String], timeout: Duration, input: Data? = nil) async -> ProcessOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        let pipe = input.map { _ in Pipe() }
        process.standardInput = pipe ?? FileHandle.nullDevice
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
        if let pipe, let input {
            try? pipe.fileHandleForWriting.write(contentsOf: input)  // a message: far below the pipe's buffer
            try? pipe.fileHandleForWriting.close()
        }
        return await withTaskGroup(of: ProcessOutcome.self) { group in
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
