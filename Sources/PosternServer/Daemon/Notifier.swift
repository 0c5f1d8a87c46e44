import Foundation
import Logging
import NIOPosix
import PosternCore
import PosternStore
import ServiceLifecycle

/// Sends the outbox (mail to members about their role) through a sendmail command, by default the
/// local Postfix's. A message that cannot be sent is retried with a growing pause and logged; after
/// a day of tries it is given up, with an error in the log. A change never waits for its mail.
public struct Notifier: Service {
    public struct Settings: Sendable, Equatable {
        /// The sendmail command and its first arguments ("/usr/sbin/sendmail"); posternd adds
        /// `-i -f FROM -- RECIPIENT` and writes the message on its standard input. Empty: no mail.
        public var command: [String] = ["/usr/sbin/sendmail"]
        public var from: String = "postern@\(ProcessInfo.processInfo.hostName)"
        /// An SMTP relay (HOST:PORT) to use instead of the command.
        var smtp: SMTPRelay?
        public var interval: Duration = .seconds(2)
        public init() {}
    }

    static let maxAttempts = 30
    let store: Store
    let settings: Settings
    let logger: Logger

    public init(store: Store, settings: Settings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// After `attempts` failures: 30 s, 1 min, 2 min… up to an hour.
    static func retryDelay(after attempts: Int) -> TimeInterval { min(3600, 30 * pow(2, Double(min(attempts, 12)))) }

    public func run() async throws {
        guard !settings.command.isEmpty || settings.smtp != nil else {
            try? await gracefulShutdown()  // a service that returns would stop the whole group
            return
        }
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
            } catch {
                return
            }
            await sendDue()
        }
    }

    func sendDue() async {
        let due: [OutboxMessage]
        do { due = try await store.write { try await $0.claimDueMail(at: Date(), lease: 300) } } catch {
            logger.error("cannot read the outbox: \(error)")
            return
        }
        for message in due {
            let outcome = await send(message)
            do {
                if outcome == nil {
                    try await store.write { try await $0.mailSent(id: message.id) }
                    logger.info("mail sent", metadata: ["to": "\(message.recipient)"])
                } else if message.attempts + 1 >= Self.maxAttempts {
                    try await store.write { try await $0.mailSent(id: message.id) }
                    logger.error("mail given up after \(Self.maxAttempts) tries", metadata: ["to": "\(message.recipient)", "last": "\(outcome ?? "")"])
                } else {
                    let delay = Self.retryDelay(after: message.attempts)
                    try await store.write { try await $0.mailFailed(id: message.id, error: outcome ?? "", retryAt: Date() + delay) }
                    logger.warning("mail not sent; will retry", metadata: [
                        "to": "\(message.recipient)", "via": "\(via)", "outcome": "\(outcome ?? "")",
                        "retryInSeconds": "\(Int(delay))",
                    ])
                }
            } catch {
                logger.error("cannot update the outbox: \(error)")
            }
        }
    }

    /// How mail leaves: the relay, or the command.
    var via: String { settings.smtp.map { "smtp \($0.host):\($0.port)" } ?? settings.command.joined(separator: " ") }

    /// Hands one message on; nil when it was taken, else why not.
    func send(_ message: OutboxMessage) async -> String? {
        if let relay = settings.smtp {
            let from = settings.from
            let helo = from.split(separator: "@").last.map(String.init) ?? "localhost"
            return (try? await NIOThreadPool.singleton.runIfActive { () -> String? in
                do { try relay.send(from: from, to: message.recipient, message: message.message, helo: helo) } catch { return "\(error)" }
                return nil
            }) ?? "the thread pool is stopping"
        }
        let outcome = await RevocationHooks.run(settings.command + ["-i", "-f", settings.from, "--", message.recipient],
                                                timeout: .seconds(30), input: Data(message.message.utf8))
        if case .exited(0) = outcome { return nil }
        return "\(outcome)"
    }
}
