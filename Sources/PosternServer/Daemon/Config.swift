import Configuration
import Foundation
import Hummingbird
import Logging
import PosternCore
import PosternAuth
import PosternStore
import SystemPackage
import Yams

/// A configuration value that cannot be used, with the key to fix.
public enum ConfigError: Error, CustomStringConvertible {
    case invalid(key: String, message: String)

    public var description: String {
        switch self {
        case let .invalid(key, message): "configuration \(key): \(message)"
        }
    }
}

/// Everything posternd reads at start. Every key is documented in conf/postern.yaml and can be
/// overridden by an environment variable: `auth.socketMode` → `POSTERN_AUTH_SOCKET_MODE`.
public struct DaemonConfig: Sendable {
    public var databasePath = "./var/postern.sqlite"
    /// `database.url`: `sqlite:PATH` or `postgres://…`; nil: SQLite at `databasePath`.
    public var databaseURL: String?
    /// This node's name in the shared change log (`node.name`; the host name by default).
    public var nodeName = ProcessInfo.processInfo.hostName
    /// How far behind the shared database a node may fall before it answers logins with a
    /// temporary failure (`database.maxLagSeconds`).
    public var maxLag: Duration = .seconds(10)
    /// How long a connection attempt or a statement waits for PostgreSQL before it is given up and
    /// its connection closed (`database.timeoutSeconds`); also the TCP keepalive and user timeout.
    public var databaseTimeout: Duration = .seconds(5)
    /// PostgreSQL: reader connections of this node, beside its writer (`database.pool.size`).
    public var databasePoolSize = PostgresSettings.defaultPoolSize
    /// How often a node reads the change log even when no notification came (`database.pollMilliseconds`).
    public var feedPoll: Duration = .milliseconds(1000)
    public var serverKeyPath = "./var/server.key"
    public var authSocket = "./var/run/auth.sock"
    public var authSocketMode: mode_t = 0o660
    public var authSocketGroup: String?
    public var authTCP: (host: String, port: Int)?
    public var hashThreads = 2
    /// Event-loop threads of the auth socket; 0: one per core.
    public var authEventLoops = 0
    /// nil: no saslauthd socket.
    public var saslauthdSocket: String? = "./var/run/saslauthd.sock"
    public var saslauthdSocketMode: mode_t = 0o660
    public var saslauthdSocketGroup: String?
    /// Postfix's socketmap tables (mailboxes, virtual, senders); nil: no socketmap socket.
    public var socketmapSocket: String? = "./var/run/socketmap.sock"
    public var socketmapSocketMode: mode_t = 0o660
    public var socketmapSocketGroup: String?
    public var socketmapMaxConnections = 1_000
    /// virtual_mailbox_maps' value for a mailbox (`%d` domain, `%n` local part, `%u` address): the
    /// maildir path under virtual_mailbox_base for virtual(8).
    public var mailboxPath = "%d/%n/"
    /// Postfix's recipient_delimiter: `alice+news@…` is looked up as `alice@…`; empty: none.
    public var recipientDelimiter: Character? = "+"
    /// Where mailboxes' Sieve scripts are written (off unless `sieve.scriptPath` is set).
    public var sieve = SieveSettings()
    /// `doveadm` with its options, for mailboxes' folders (`folders.doveadm`); nil: off.
    public var folderCommand: [String]?
    /// nginx auth_http: "HOST:PORT" or "unix:/path"; nil: off.
    public var authHTTPListen: BindAddress?
    /// Mail to members about their role.
    public var notify = Notifier.Settings()
    /// The web manager (off unless `web.listen` is set).
    public var web = WebSettings()
    /// The TCP control listener, for API tokens and sessions (off unless set; HOST:PORT).
    public var controlListen: (host: String, port: Int)?
    public var backends = MailBackends()
    public var controlSocket = "./var/run/control.sock"
    public var controlSocketMode: mode_t = 0o660
    public var controlSocketGroup: String?
    /// Control-socket callers by uid who are users, not the operator (`control.users: ["1001=alice@example.org"]`).
    public var controlUsers: [UInt32: String] = [:]
    public var authMaxConnections = 10_000
    public var saslauthdMaxConnections = 1_000
    /// nginx sends one request per connection and waits at most 60 s (auth_http_timeout).
    public var authHTTPLimits = HTTPLimits(requestTimeout: .seconds(10), idleTimeout: .seconds(30), maxConnections: 10_000)
    /// Imports may upload 64 MB: a slower request is allowed.
    public var controlLimits = HTTPLimits(requestTimeout: .seconds(300), idleTimeout: .seconds(60), maxConnections: 256, streamingBodies: true)
    public var lastUseFlushSeconds = 5.0
    public var throttle = Throttle.Policy()
    public var revocation = RevocationSettings()
    /// How often expired device passwords are handled (hooks, history).
    public var expiryCheck: Duration = .seconds(10)
    public var maxDevicesPerMailbox = 250
    /// A mail-server task (a Sieve script, a folder) failing this long makes /v1/health say "degraded".
    public var outboxDegradedAfter: Duration = .seconds(60)
    /// Device passwords unused for this many days are removed; nil: never.
    public var removeUnusedAfterDays: Int?
    public var seedsDirectory: String? = "./seeds"
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Reads the YAML file (if given) with environment variables taking precedence.
    public static func load(file: String?, environment: [String: String]? = nil) async throws -> DaemonConfig {
        var providers: [any ConfigProvider] = []
        let env = environment.map { EnvironmentVariablesProvider(environmentVariables: $0) } ?? EnvironmentVariablesProvider()
        providers.append(env.prefixKeys(with: "postern"))
        if let file {
            guard FileManager.default.fileExists(atPath: file) else {
                throw ConfigError.invalid(key: "--config", message: "no such file \(file)")
            }
            providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
        }
        var config = try DaemonConfig(reader: ConfigReader(providers: providers))
        // `control.users` may also be a YAML mapping {uid: login}, which the flat reader cannot list.
        if config.controlUsers.isEmpty, let file,
           let root = try? Yams.load(yaml: String(contentsOfFile: file, encoding: .utf8)) as? [String: Any],
           let users = (root["control"] as? [String: Any])?["users"] as? [AnyHashable: Any] {
            config.controlUsers = try Self.controlUsers(users.map { ("\($0.key)", "\($0.value)") })
        }
        return config
    }

    /// uid → login pairs, checked: a uid other than root, a login that is an email address.
    static func controlUsers(_ pairs: [(String, String)]) throws -> [UInt32: String] {
        var users: [UInt32: String] = [:]
        for (uidText, loginText) in pairs {
            guard let uid = UInt32(uidText.trimmingCharacters(in: .whitespaces)), let login = try? User.login(loginText) else {
                throw ConfigError.invalid(key: "control.users", message: "'\(uidText.prefix(40))=\(loginText.prefix(80))' is not UID=LOGIN, such as 1001=alice@example.org")
            }
            guard uid != 0 else { throw ConfigError.invalid(key: "control.users", message: "uid 0 is root, always the operator") }
            users[uid] = login
        }
        return users
    }

    init(reader c: ConfigReader) throws {
        // Every value is read as text and parsed here, so a bad value is an error naming its key
        // instead of a silent fallback to the default.
        func text(_ key: ConfigKey) -> String? {
            c.string(forKey: key) ?? c.int(forKey: key).map { String($0) } ?? c.double(forKey: key).map { String($0) }
                ?? c.bool(forKey: key).map { String($0) }
        }
        func path(_ key: ConfigKey, _ fallback: String) throws -> String {
            let value = text(key) ?? fallback
            guard !value.isEmpty else { throw ConfigError.invalid(key: "\(key)", message: "must not be empty") }
            return value
        }
        func optional(_ key: ConfigKey) -> String? {
            let value = text(key) ?? ""
            return value.isEmpty ? nil : value
        }
        func number(_ key: ConfigKey, _ fallback: Double) throws -> Double {
            guard let value = text(key) else { return fallback }
            guard let parsed = Double(value) else { throw ConfigError.invalid(key: "\(key)", message: "'\(value)' is not a number") }
            return parsed
        }
        func mode(_ key: ConfigKey, _ fallback: String) throws -> mode_t {
            let text = text(key) ?? fallback
            guard let value = mode_t(text, radix: 8), value <= 0o777 else {
                throw ConfigError.invalid(key: "\(key)", message: "'\(text)' is not an octal file mode such as \"0660\" (quote it in YAML)")
            }
            return value
        }
        databasePath = try path("database.path", databasePath)
        if let url = optional("database.url") {
            do { _ = try DatabaseURL(url) } catch { throw ConfigError.invalid(key: "database.url", message: "\(error)") }
            databaseURL = url
        }
        nodeName = optional("node.name") ?? nodeName
        guard nodeName.count <= 200 else { throw ConfigError.invalid(key: "node.name", message: "at most 200 characters") }
        let lag = try number("database.maxLagSeconds", 10)
        guard lag >= 1, lag <= 3600 else { throw ConfigError.invalid(key: "database.maxLagSeconds", message: "must be 1 to 3600 seconds") }
        maxLag = .milliseconds(Int64(lag * 1000))
        let poll = try number("database.pollMilliseconds", 1000)
        guard poll >= 50, poll <= lag * 1000 / 2 else {
            throw ConfigError.invalid(key: "database.pollMilliseconds", message: "must be 50 ms to half of database.maxLagSeconds")
        }
        feedPoll = .milliseconds(Int64(poll))
        let timeout = try number("database.timeoutSeconds", 5)
        guard timeout >= 1, timeout <= 600 else { throw ConfigError.invalid(key: "database.timeoutSeconds", message: "must be 1 to 600 seconds") }
        databaseTimeout = .milliseconds(Int64(timeout * 1000))
        serverKeyPath = try path("serverKey.path", serverKeyPath)
        authSocket = try path("auth.socket", authSocket)
        authSocketMode = try mode("auth.socketMode", "0660")
        authSocketGroup = optional("auth.socketGroup")
        func hostPort(_ key: ConfigKey) throws -> (host: String, port: Int)? {
            guard let text = optional(key) else { return nil }
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                  colon > text.startIndex else {
                throw ConfigError.invalid(key: "\(key)", message: "'\(text)' is not HOST:PORT, such as 127.0.0.1:12345")
            }
            return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
        }
        authTCP = try hostPort("auth.tcp")
        // A bare port is on loopback: tokens travel in clear over plain HTTP.
        if let listen = optional("control.listen"), let port = Int(listen) {
            guard (1...65535).contains(port) else { throw ConfigError.invalid(key: "control.listen", message: "'\(listen)' is not a port") }
            controlListen = ("127.0.0.1", port)
        } else {
            controlListen = try hostPort("control.listen")
        }
        if let command = text("notify.sendmail") {
            notify.command = command.split(separator: " ").map(String.init)
        }
        if let listen = optional("web.listen"), let port = Int(listen) {
            web.listen = ("127.0.0.1", port)  // a bare port is on loopback
        } else {
            web.listen = try hostPort("web.listen")
        }
        web.directory = try path("web.directory", web.directory)
        web.secureCookies = (text("web.secureCookies") ?? "false").lowercased() == "true"
        web.clientIPHeader = optional("web.clientIPHeader")
        web.idle = try number("web.idleMinutes", web.idle / 60) * 60
        web.imapHost = optional("web.imapHost") ?? web.imapHost
        web.smtpHost = optional("web.smtpHost") ?? web.smtpHost
        web.imapPort = Int(try number("web.imapPort", Double(web.imapPort)))
        web.smtpPort = Int(try number("web.smtpPort", Double(web.smtpPort)))
        if let (host, port) = try hostPort("notify.smtp") { notify.smtp = SMTPRelay(host: host, port: port) }
        if let from = optional("notify.from") {
            guard (try? MailAddress(from)) != nil else { throw ConfigError.invalid(key: "notify.from", message: "'\(from)' is not a mail address") }
            notify.from = from
        }
        if let listen = optional("authHTTP.listen") {
            if listen.hasPrefix("unix:") {
                authHTTPListen = .unixDomainSocket(path: String(listen.dropFirst(5)))
            } else if let (host, port) = try hostPort("authHTTP.listen") {
                authHTTPListen = .hostname(host, port: port)
            }
        }
        backends = MailBackends(imap: try hostPort("authHTTP.imapBackend"), pop3: try hostPort("authHTTP.pop3Backend"),
                                smtp: try hostPort("authHTTP.smtpBackend"))
        hashThreads = Int(try number("auth.hashThreads", Double(hashThreads)))
        guard (1...64).contains(hashThreads) else { throw ConfigError.invalid(key: "auth.hashThreads", message: "must be 1 to 64") }
        saslauthdSocket = text("saslauthd.socket") ?? saslauthdSocket
        if saslauthdSocket?.isEmpty == true { saslauthdSocket = nil }
        saslauthdSocketMode = try mode("saslauthd.socketMode", "0660")
        saslauthdSocketGroup = optional("saslauthd.socketGroup")
        socketmapSocket = text("socketmap.socket") ?? socketmapSocket
        if socketmapSocket?.isEmpty == true { socketmapSocket = nil }
        socketmapSocketMode = try mode("socketmap.socketMode", "0660")
        socketmapSocketGroup = optional("socketmap.socketGroup")
        mailboxPath = text("routing.mailboxPath") ?? mailboxPath
        guard !mailboxPath.isEmpty, !mailboxPath.contains(where: { $0.isNewline || $0 == "," }) else {
            throw ConfigError.invalid(key: "routing.mailboxPath", message: "must be a path template such as %d/%n/ (no comma, no line break)")
        }
        if let delimiter = text("routing.recipientDelimiter") {
            guard delimiter.count <= 1, delimiter.allSatisfy({ $0.isASCII && !$0.isLetter && !$0.isNumber && $0 != "@" && $0 != "." && !$0.isWhitespace }) else {
                throw ConfigError.invalid(key: "routing.recipientDelimiter", message: "must be one character such as + or -, or empty for none (as Postfix's recipient_delimiter)")
            }
            recipientDelimiter = delimiter.first
        }
        folderCommand = optional("folders.doveadm").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        sieve.scriptPath = optional("sieve.scriptPath")
        sieve.activePath = optional("sieve.activePath")
        sieve.sievec = text("sieve.sievec") ?? sieve.sievec
        sieve.owner = optional("sieve.owner")
        let spamHeader = text("sieve.spamHeader") ?? "X-Spam-Score"
        guard !spamHeader.isEmpty, spamHeader.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw ConfigError.invalid(key: "sieve.spamHeader", message: "must be a header name such as X-Spam-Score")
        }
        switch text("sieve.spamHeaderKind") ?? "score" {
        case "score": sieve.spamHeader = .score(spamHeader)
        case "flag": sieve.spamHeader = .flag(spamHeader)
        default: throw ConfigError.invalid(key: "sieve.spamHeaderKind", message: "must be score (a number, X-Spam-Score) or flag (yes/no, X-Spam-Status)")
        }
        for (key, template) in [("sieve.scriptPath", sieve.scriptPath), ("sieve.activePath", sieve.activePath)] {
            guard let template else { continue }
            guard template.hasPrefix("/") || template.hasPrefix("./"), template.contains("%n") || template.contains("%u") else {
                throw ConfigError.invalid(key: key, message: "must be a path with %n or %u in it (one per mailbox), such as /var/vmail/%d/%n/sieve/postern.sieve")
            }
        }
        if sieve.activePath != nil, sieve.scriptPath == nil {
            throw ConfigError.invalid(key: "sieve.activePath", message: "needs sieve.scriptPath (the script it points at)")
        }
        if let owner = sieve.owner, getpwnam(owner) == nil {
            throw ConfigError.invalid(key: "sieve.owner", message: "no user \(owner) on this system")
        }
        controlSocket = try path("control.socket", controlSocket)
        controlSocketMode = try mode("control.socketMode", "0660")
        controlSocketGroup = optional("control.socketGroup")
        controlUsers = try Self.controlUsers((c.stringArray(forKey: "control.users") ?? []).compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts == [""] { return nil }
            return (parts[0], parts.count == 2 ? parts[1] : "")
        })
        lastUseFlushSeconds = try number("lastUse.flushSeconds", lastUseFlushSeconds)
        guard lastUseFlushSeconds > 0, lastUseFlushSeconds <= 3600 else {
            throw ConfigError.invalid(key: "lastUse.flushSeconds", message: "must be more than 0 and at most 3600")
        }
        func count(_ key: ConfigKey, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            let value = try number(key, Double(fallback))
            guard value == value.rounded(), range.contains(Int(value)) else {
                throw ConfigError.invalid(key: "\(key)", message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(value)
        }
        func seconds(_ key: ConfigKey, _ fallback: Duration, _ range: ClosedRange<Double>) throws -> Duration {
            let value = try number(key, Double(fallback.components.seconds) + Double(fallback.components.attoseconds) / 1e18)
            guard range.contains(value) else {
                throw ConfigError.invalid(key: "\(key)", message: "must be from \(range.lowerBound) to \(range.upperBound) seconds")
            }
            return .milliseconds(Int64(value * 1000))
        }
        authEventLoops = try count("auth.eventLoops", authEventLoops, 0...256)
        authMaxConnections = try count("auth.maxConnections", authMaxConnections, 1...1_000_000)
        saslauthdMaxConnections = try count("saslauthd.maxConnections", saslauthdMaxConnections, 1...1_000_000)
        socketmapMaxConnections = try count("socketmap.maxConnections", socketmapMaxConnections, 1...1_000_000)
        func limits(_ prefix: String, _ fallback: HTTPLimits) throws -> HTTPLimits {
            HTTPLimits(requestTimeout: try seconds(ConfigKey("\(prefix).requestTimeoutSeconds"), fallback.requestTimeout, 0.1...3600),
                       idleTimeout: try seconds(ConfigKey("\(prefix).idleTimeoutSeconds"), fallback.idleTimeout, 0.1...3600),
                       maxConnections: try count(ConfigKey("\(prefix).maxConnections"), fallback.maxConnections, 1...1_000_000),
                       streamingBodies: fallback.streamingBodies)
        }
        authHTTPLimits = try limits("authHTTP", authHTTPLimits)
        controlLimits = try limits("control", controlLimits)
        throttle.freeFailures = try count("throttle.freeFailures", throttle.freeFailures, 0...1_000_000_000)
        throttle.refuseAfter = try count("throttle.refuseAfter", throttle.refuseAfter, 1...1_000_000_000)
        throttle.reportAfter = try count("throttle.reportAfter", throttle.reportAfter, 1...100_000)
        throttle.firstDelay = try seconds("throttle.firstDelaySeconds", throttle.firstDelay, 0...60)
        // Postfix gives up on an answer after 10 s, and then loses its connection to Postern.
        throttle.maxDelay = try seconds("throttle.maxDelaySeconds", throttle.maxDelay, 0...9)
        throttle.window = try seconds("throttle.windowSeconds", throttle.window, 1...86_400)
        throttle.maxEntries = try count("throttle.maxEntries", throttle.maxEntries, 1_000...10_000_000)
        revocation.commands = RevocationCommands(flush: optional("revocation.flushCommand"), kickDevice: optional("revocation.kickDeviceCommand"),
                                                 kickAll: optional("revocation.kickAllCommand"))
        revocation.doveadmHTTP = try Self.doveadmHTTP(url: optional("revocation.doveadmHTTP.url"), key: optional("revocation.doveadmHTTP.apiKey"),
                                                      keyFile: optional("revocation.doveadmHTTP.apiKeyFile"))
        if revocation.doveadmHTTP != nil, !revocation.commands.isEmpty {
            throw ConfigError.invalid(key: "revocation.doveadmHTTP.url",
                                      message: "set either the doveadm HTTP API or the revocation commands, not both")
        }
        revocation.timeout = try seconds("revocation.timeoutSeconds", revocation.timeout, 0.1...300)
        revocation.retries = try count("revocation.retries", revocation.retries, 0...10)
        expiryCheck = try seconds("devices.expiryCheckSeconds", expiryCheck, 0.1...3600)
        maxDevicesPerMailbox = try count("devices.maxPerMailbox", maxDevicesPerMailbox, 1...100_000)
        databasePoolSize = try count("database.pool.size", databasePoolSize, 1...256)
        outboxDegradedAfter = try seconds("outbox.degradedAfterSeconds", outboxDegradedAfter, 0...86_400)
        let unused = try count("devices.removeUnusedAfterDays", 0, 0...36_500)
        removeUnusedAfterDays = unused == 0 ? nil : unused
        seedsDirectory = text("seeds.directory") ?? seedsDirectory
        if seedsDirectory?.isEmpty == true { seedsDirectory = nil }
        let level = text("log.level") ?? "info"
        guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigError.invalid(key: "log.level", message: "'\(level)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = parsed
    }

    /// The doveadm HTTP API settings: a loopback http URL and its key, given inline or in a file
    /// readable by posternd only.
    static func doveadmHTTP(url: String?, key: String?, keyFile: String?) throws -> DoveadmHTTP? {
        guard let url else {
            if key != nil || keyFile != nil {
                throw ConfigError.invalid(key: "revocation.doveadmHTTP.url", message: "an API key is set but no URL")
            }
            return nil
        }
        guard let parsed = URL(string: url), parsed.scheme == "http", parsed.host != nil, parsed.port != nil else {
            throw ConfigError.invalid(key: "revocation.doveadmHTTP.url",
                                      message: "'\(url)' is not an http URL with a port, such as http://127.0.0.1:8080/doveadm/v1")
        }
        let secret: String
        switch (key, keyFile) {
        case let (key?, nil): secret = key
        case let (nil, file?):
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigError.invalid(key: "revocation.doveadmHTTP.apiKeyFile", message: "cannot read \(file)")
            }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case (nil, nil):
            throw ConfigError.invalid(key: "revocation.doveadmHTTP.apiKey", message: "the doveadm HTTP API needs doveadm_api_key: set apiKey or apiKeyFile")
        case (_?, _?):
            throw ConfigError.invalid(key: "revocation.doveadmHTTP.apiKey", message: "set apiKey or apiKeyFile, not both")
        }
        guard !secret.isEmpty else { throw ConfigError.invalid(key: "revocation.doveadmHTTP.apiKey", message: "the API key is empty") }
        return DoveadmHTTP(url: url, apiKey: secret)
    }
}
