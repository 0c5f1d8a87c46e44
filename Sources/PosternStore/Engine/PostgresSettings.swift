import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// What `database.url` names for PostgreSQL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, or a
/// unix socket directory as libpq spells it, `postgres://USER@/DATABASE?host=/run/postgresql`, with
/// libpq's `sslmode=`, `sslrootcert=`, `hostaddr=` and `port=`.
public struct PostgresSettings: Sendable {
    public var host: String?
    public var port: Int
    public var socketDirectory: String?
    /// The address to connect to instead of looking `host` up (libpq's `hostaddr=`): the
    /// certificate is still checked against `host`.
    public var hostAddress: String?
    public var user: String
    public var password: String?
    public var database: String
    public var tls = PostgresTLS()
    /// How long a connection attempt or a statement may wait for the server (`database.timeoutSeconds`).
    public var timeout: Duration = .seconds(10)
    /// Connections of this node's pool (`database.pool.size`), shared by its reads and its writes.
    public var poolSize: Int = PostgresSettings.defaultPoolSize

    public init(host: String?, port: Int, socketDirectory: String?, hostAddress: String? = nil, user: String, password: String?,
                database: String, tls: PostgresTLS = PostgresTLS()) {
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        self.hostAddress = hostAddress
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Two per core, four at least.
    public static var defaultPoolSize: Int { max(4, 2 * ProcessInfo.processInfo.activeProcessorCount) }

    /// The URL without its password, for logs and errors.
    public var display: String {
        var query: [String] = []
        if let socketDirectory { query.append("host=\(socketDirectory)") }
        if let hostAddress { query.append("hostaddr=\(hostAddress)") }
        if socketDirectory == nil, tls != PostgresTLS() { query.append(tls.display) }
        let hostPart = host.map { "\($0):\(port)" } ?? ""
        return "postgres://\(user)@\(hostPart)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// Where TCP connections go: `hostaddr=` if given, else the host name.
    var connectHost: String { hostAddress ?? host ?? "localhost" }

    /// The name sent in the TLS handshake and checked against the certificate (verify-full): the
    /// host name, never an address (an address is checked against the certificate's IP entries).
    var tlsServerName: String? {
        guard let host, !PostgresTLS.isAddress(host) else { return nil }
        return host
    }

    /// postgres-nio's TLS setting for one connection (a context made from `tls`); unix sockets never use TLS.
    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard socketDirectory == nil, let configuration = try tls.configuration() else { return .disable }
        let context = try NIOSSLContext(configuration: configuration)
        return tls.mode == .prefer ? .prefer(context) : .require(context)
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let clientTLS: PostgresClient.Configuration.TLS
        switch try tls.configuration() {
        case nil: clientTLS = .disable
        case let configuration?: clientTLS = tls.mode == .prefer ? .prefer(configuration) : .require(configuration)
        }
        var configuration = PostgresClient.Configuration(host: connectHost, port: port, username: user, password: password, database: database,
                                                         tls: clientTLS)
        configuration.options.tlsServerName = tlsServerName
        return configuration
    }

    static let quiet: Logger = {
        var logger = Logger(label: "postern.store.postgres")
        logger.logLevel = .critical
        return logger
    }()
}

/// TLS to PostgreSQL as libpq's `sslmode=` and `sslrootcert=` set it. Over TCP only: a unix
/// socket is never encrypted (libpq does the same).
public struct PostgresTLS: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS if the server offers it, else clear (libpq's default), with no check of the certificate.
        case prefer
        /// TLS or no connection; the certificate is not checked, unless `sslrootcert=` is given
        /// (then as verify-ca, as libpq does).
        case require
        /// TLS, with a certificate signed by an authority of `sslrootcert=`; the name is not checked.
        case verifyCA = "verify-ca"
        /// TLS, with a certificate signed by an authority of `sslrootcert=` and made out to the host name.
        case verifyFull = "verify-full"
    }

    public var mode: Mode = .prefer
    /// A PEM file of the certificate authorities to trust (`sslrootcert=`); nil or `system`: the system's.
    public var rootCertificate: String?

    public init(mode: Mode = .prefer, rootCertificate: String? = nil) {
        self.mode = mode
        self.rootCertificate = rootCertificate
    }

    /// Whether the certificate's authority is checked (verify-ca, verify-full, or require with a root certificate).
    var checksAuthority: Bool { mode == .verifyCA || mode == .verifyFull || (mode == .require && rootCertificate != nil) }

    var display: String { "sslmode=\(mode.rawValue)" + (rootCertificate.map { "&sslrootcert=\($0)" } ?? "") }

    /// NIOSSL's client configuration for this mode; nil: no TLS.
    func configuration() throws -> TLSConfiguration? {
        guard mode != .disable else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch (mode, checksAuthority) {
        case (.verifyFull, _): configuration.certificateVerification = .fullVerification
        case (_, true): configuration.certificateVerification = .noHostnameVerification
        default: configuration.certificateVerification = .none
        }
        if let rootCertificate, rootCertificate != "system" {
            guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                throw StoreOpenError.badURL("sslrootcert=\(rootCertificate) is not a readable file (a PEM file of certificate authorities, or system)")
            }
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } catch {
                throw StoreOpenError.badURL("sslrootcert=\(rootCertificate) holds no PEM certificate: \(error)")
            }
        }
        return configuration
    }

    static func isAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }

    /// Why a TLS connection failed, in the operator's words (nil: not a TLS failure).
    static func describe(_ error: any Error, _ settings: PostgresSettings) -> String? {
        if let psql = error as? PSQLError, psql.code == .sslUnsupported {
            return "the server does not offer TLS, and sslmode=\(settings.tls.mode.rawValue) requires it (ssl=on in postgresql.conf)"
        }
        let underlying = (error as? PSQLError)?.underlying ?? error
        let roots = settings.tls.rootCertificate.map { "sslrootcert=\($0)" } ?? "the system's certificate authorities"
        if let extra = underlying as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate is not made out to \(settings.host ?? settings.connectHost) (sslmode=verify-full checks the name: "
                + "use the name the certificate holds, with hostaddr= for its address)"
        }
        if let ssl = underlying as? NIOSSLError, case .handshakeFailed = ssl {
            let text = "\(ssl)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
                return "the server's certificate is not signed by \(roots) (sslmode=\(settings.tls.mode.rawValue))"
            }
            return "the TLS handshake failed: \(text)"
        }
        return nil
    }
}

/// `database.url`, parsed.
public enum DatabaseURL: Sendable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// The query parameters of a PostgreSQL URL, as libpq names them.
    static let parameters: Set<String> = ["host", "hostaddr", "port", "sslmode", "sslrootcert"]

    public init(_ text: String) throws {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw StoreOpenError.badURL("sqlite: needs a file path, as in sqlite:./var/postern.sqlite") }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"), let url = URLComponents(string: text) else {
            // The URL itself is not repeated: it may hold a password.
            throw StoreOpenError.badURL("it is neither sqlite:PATH nor postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else { throw StoreOpenError.badURL("the PostgreSQL URL names no database (postgres://USER@HOST/DATABASE)") }
        guard let user = url.user, !user.isEmpty else { throw StoreOpenError.badURL("the PostgreSQL URL names no user (postgres://USER@HOST/DATABASE)") }
        var query: [String: String] = [:]
        for item in url.queryItems ?? [] {
            guard Self.parameters.contains(item.name) else {
                throw StoreOpenError.badURL("the PostgreSQL URL's parameter \(item.name)= is not one Postern reads "
                                            + "(\(Self.parameters.sorted().joined(separator: "=, "))=)")
            }
            query[item.name] = item.value ?? ""
        }
        let socket = query["host"]
        if let socket, !socket.hasPrefix("/") { throw StoreOpenError.badURL("host= takes a unix socket directory, as in ?host=/run/postgresql") }
        let host = url.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || socket != nil else { throw StoreOpenError.badURL("the PostgreSQL URL names no host and no ?host=SOCKET_DIRECTORY") }
        var port = url.port ?? 5432
        if let text = query["port"] {
            guard let number = Int(text), (1...65535).contains(number) else { throw StoreOpenError.badURL("port=\(text) is not a port number (1 to 65535)") }
            port = number
        }
        let hostAddress = query["hostaddr"]
        if let hostAddress, !PostgresTLS.isAddress(hostAddress) {
            throw StoreOpenError.badURL("hostaddr=\(hostAddress) is not an IP address (the host name goes before the path)")
        }
        var tls = PostgresTLS()
        if let mode = query["sslmode"] {
            guard let known = PostgresTLS.Mode(rawValue: mode) else {
                throw StoreOpenError.badURL("sslmode=\(mode) is not one of \(PostgresTLS.Mode.allCases.map(\.rawValue).joined(separator: ", "))"
                                            + (mode == "allow" ? " (for allow, use prefer)" : ""))
            }
            tls.mode = known
        }
        if let root = query["sslrootcert"] {
            guard !root.isEmpty else { throw StoreOpenError.badURL("sslrootcert= needs a PEM file's path, or system") }
            guard tls.mode != .disable, tls.mode != .prefer || query["sslmode"] == nil else {
                throw StoreOpenError.badURL("sslrootcert= is checked only with sslmode=require, verify-ca or verify-full")
            }
            tls.rootCertificate = root
            // libpq: a root certificate without sslmode means verify-ca.
            if query["sslmode"] == nil { tls.mode = .verifyCA }
        }
        self = .postgres(PostgresSettings(host: socket == nil ? host : nil, port: port, socketDirectory: socket,
                                          hostAddress: socket == nil ? hostAddress : nil,
                                          user: user.removingPercentEncoding ?? user, password: url.password?.removingPercentEncoding,
                                          database: database, tls: tls))
    }
}
