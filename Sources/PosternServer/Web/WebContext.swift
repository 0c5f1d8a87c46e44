import Crypto
import Foundation
import Hummingbird
import NIOCore
import PosternCore

/// A web request: its connection, and once its cookie was read, who is signed in.
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public var actor: Actor?
    /// The session's secret, to end it at sign-out and to derive the forms' CSRF token.
    var session: String?
    var csrf: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var maxUploadSize: Int { 64 << 10 }
}

/// The CSRF token of a session: an HMAC of its secret, so it needs no storage and another
/// session's token never fits.
enum CSRF {
    static func token(session: String, key: SymmetricKey) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array("postern csrf\u{0}\(session)".utf8), using: key).prefix(18))
    }

    static func matches(_ given: String?, _ expected: String?) -> Bool {
        guard let given, let expected, given.utf8.count == expected.utf8.count else { return false }
        return zip(given.utf8, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
