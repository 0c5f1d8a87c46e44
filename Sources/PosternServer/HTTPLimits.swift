import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Limits of an HTTP listener (auth_http, control): how long a request may take to arrive, how
/// long a kept-alive connection may idle, and how many connections may be open.
public struct HTTPLimits: Sendable, Equatable {
    public var requestTimeout: Duration
    public var idleTimeout: Duration
    public var maxConnections: Int
    /// Whether a request body that keeps arriving may take longer than `requestTimeout` (the
    /// control API's streamed imports): each part of the body then restarts the clock, so only a
    /// stall of `requestTimeout` closes the connection. The head must still arrive in time.
    public var streamingBodies: Bool

    public init(requestTimeout: Duration, idleTimeout: Duration, maxConnections: Int, streamingBodies: Bool = false) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.streamingBodies = streamingBodies
    }

    /// The Hummingbird server with these limits: a handler per connection, and the cap.
    func server() -> HTTPServerBuilder {
        let limits = self
        return .http1(configuration: .init(additionalChannelHandlers: [HTTPDeadlineHandler(limits)]))
    }

    func configuration(address: BindAddress, name: String, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(address: address, serverName: "posternd",
                                 availableConnectionsDelegate: ConnectionCap(max: maxConnections, listener: name, logger: logger))
    }
}

/// Closes a connection whose request has not fully arrived `requestTimeout` after the connection
/// opened (a client sending a byte at a time included), one idle longer than `idleTimeout` after
/// its last answer, and one whose request could not be decoded, once its 400 is written (else it
/// would stay half-closed, one file descriptor each, for good).
final class HTTPDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: HTTPLimits
    private var deadline: Scheduled<Void>?
    private var broken = false

    init(_ limits: HTTPLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) { arm(context, limits.requestTimeout) }
    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .end:
            deadline?.cancel()  // the answer is the responder's business now
            deadline = nil
        case .body where limits.streamingBodies && deadline != nil:
            arm(context, limits.requestTimeout)
        default: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = bound.value
            if handler.broken { context.close(promise: nil) } else { handler.arm(context, handler.limits.idleTimeout + handler.limits.requestTimeout) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        broken = true
        context.fireErrorCaught(error)
    }

    private func arm(_ context: ChannelHandlerContext, _ after: Duration) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(after.nanoseconds)) { bound.value.close(promise: nil) }
    }
}

/// Stops accepting at `max` open connections (they wait in the backlog, then the kernel refuses
/// them) and says so in one log line a minute; accepting resumes by itself.
struct ConnectionCap: AvailableConnectionsDelegate {
    let max: Int
    let listener: String
    let logger: Logger
    var open = 0
    private var lastWarning: ContinuousClock.Instant?

    init(max: Int, listener: String, logger: Logger) {
        self.max = max
        self.listener = listener
        self.logger = logger
    }

    mutating func connectionOpened() {
        open += 1
        if open >= max, lastWarning.map({ ContinuousClock.now - $0 > .seconds(60) }) ?? true {
            lastWarning = .now
            logger.warning("\(listener): \(open) connections open, the configured maximum; new ones wait until some close")
        }
    }

    mutating func connectionClosed() { open -= 1 }

    func isAcceptingNewConnections() -> Bool { open < max }
}
