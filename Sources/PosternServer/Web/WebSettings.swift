import Foundation

/// The web manager: where it listens, where its pages are, what mail clients are told.
public struct WebSettings: Sendable {
    /// HOST:PORT, off unless set (`web.listen`).
    public var listen: (host: String, port: Int)?
    /// The folder holding `templates/` and `static/`.
    public var directory = "./web"
    /// Cookies only over HTTPS: set when the manager sits behind a TLS proxy.
    public var secureCookies = false
    /// The header the trusted proxy puts the client IP in (X-Real-IP), believed only from loopback.
    public var clientIPHeader: String?
    /// A session unused this long is over.
    public var idle: TimeInterval = 30 * 60
    public var imapHost = "mail.example.org"
    public var imapPort = 993
    public var smtpHost = "mail.example.org"
    public var smtpPort = 587

    public init() {}
}
