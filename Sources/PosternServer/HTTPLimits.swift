import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import PosternProtocols
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

    /// The Hummingbird server with these limits: the deadlines, and a body guard before the HTTP
    /// decoder that answers 413 as soon as a request declares a body over `bodyLimit` (a chunk
    /// size line or Content-Length), `streamedPaths` (bodies read as they arrive) excepted.
    func server(bodyLimit: Int, streamedPaths: [String] = []) -> HTTPServerBuilder {
        let limits = self
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(http: HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [HTTPDeadlineHandler(limits)])),
                                bodyLimit: bodyLimit, streamedPaths: streamedPaths)
        }
    }

    func configuration(address: BindAddress, name: String, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(address: address, serverName: "posternd",
                                 availableConnectionsDelegate: ConnectionCap(max: maxConnections, listener: name, logger: logger))
    }
}

/// Closes a connection whose request has not fully arrived `requestTimeout` after the connection
/// opened or after its head came (a client sending a byte at a time included), one idle for
/// `idleTimeout` after its last answer with no new request begun, and one whose request could not
/// be decoded, once its 400 is written (else it would stay half-closed, one file descriptor each).
final class HTTPDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: HTTPLimits
    private var deadline: Scheduled<Void>?
    private var broken = false
    /// Requests whose head came and whose answer is not written yet.
    private var unanswered = 0
    /// A request's head came and its end has not.
    private var receiving = false

    init(_ limits: HTTPLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) { arm(context, limits.requestTimeout) }
    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            receiving = true
            if unanswered == 1 { arm(context, limits.requestTimeout) }  // idle no more: the request's own clock
        case .end:
            receiving = false
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
            handler.answered(context)
        }
    }

    private func answered(_ context: ChannelHandlerContext) {
        unanswered = max(0, unanswered - 1)
        if broken { return context.close(promise: nil) }
        if receiving { return arm(context, limits.requestTimeout) }  // a pipelined request is arriving
        if unanswered == 0 { arm(context, limits.idleTimeout) }  // idle: until a next head comes
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

/// Hummingbird's HTTP/1 child channel with an `HTTPBodyGuardHandler` in front of its decoder.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let http: HTTP1Channel
    let bodyLimit: Int
    let streamedPaths: [String]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (limit, streamed) = (bodyLimit, streamedPaths)
        return http.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(HTTPBodyGuardHandler(HTTPBodyGuard(limit: limit, streamedPaths: streamed)), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }
}

/// Reads the raw bytes before the HTTP decoder does: a request that declares a body over the
/// limit gets `413` at once and the connection is closed (what follows cannot be framed).
final class HTTPBodyGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var guarded: HTTPBodyGuard
    private var refused = false

    init(_ guarded: HTTPBodyGuard) { self.guarded = guarded }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        guard case let .tooLarge(declared, limit) = guarded.feed(buffer.readableBytesView) else { return context.fireChannelRead(data) }
        refused = true
        let size = declared == .max ? "\(declared) or more" : "\(declared)"
        let body = #"{"error":{"code":"too_large","message":"the request declares a body of "# + size
            + #" bytes; at most \#(limit) are taken here (a passwd-file import has no such limit); nothing was changed"}}"#
        let head = "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: head + body))).whenComplete { _ in context.close(promise: nil) }
    }
}

/// Stops accepting at `max` open connections (they wait in the backlog, then the kernel refuses
/// them) and says so in one log line a minute; accepting resumes by itself.
struct ConnectionCap: AvailableConnectionsDelegate {
    let max: Int
    let listener: String
    let logger: Logger
    var open = 0

    init(max: Int, listener: String, logger: Logger) {
        self.max = max
        self.listener = listener
        self.logger = logger
    }

    mutating func connectionOpened() {
        open += 1
        if open >= max {
            LogLimiter.shared.log(logger, .warning, kind: "\(listener) at cap", "\(listener): \(open) connections open, the configured maximum; new ones wait until some close")
        }
    }

    mutating func connectionClosed() { open -= 1 }

    func isAcceptingNewConnections() -> Bool { open < max }
}
