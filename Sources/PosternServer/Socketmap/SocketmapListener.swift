import Logging
import NIOCore
import PosternAuth
import PosternCore
import PosternProtocols

/// The socketmap front door: Postfix's `socketmap:unix:PATH:NAME` tables (virtual_mailbox_maps,
/// virtual_alias_maps, smtpd_sender_login_maps), answered from the routing index.
public enum SocketmapListener {
    /// Postfix closes its idle connections after 10 s; one idle this long is closed here.
    static let idleTimeout = TimeAmount.minutes(5)

    public static func frontDoor(routing: RoutingIndex, address: ListenAddress, logger: Logger,
                                 ready: @escaping @Sendable () -> Void = {}) -> FrontDoor {
        FrontDoor(name: "socketmap", address: address, logger: logger, ready: ready) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(SocketmapHandler(routing: routing, logger: logger))
            }
        }
    }

    /// The answer to one request: a lookup in the map it names.
    static func answer(_ request: SocketmapRequest, _ routing: RoutingIndex) -> SocketmapReply {
        guard let map = RoutingTable.Map(rawValue: request.map) else {
            return .perm("unknown map '\(request.map.prefix(40))': the maps are \(RoutingTable.Map.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return routing.lookup(map, request.key).map(SocketmapReply.ok) ?? .notFound
    }
}

/// Many requests per connection, answered in order: every complete request in a read is
/// answered, and the answers leave in one write.
final class SocketmapHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let routing: RoutingIndex
    private let logger: Logger
    private var buffer = ByteBuffer()
    /// The replies of one read, written at once; its storage is reused from read to read.
    private var out = ByteBuffer()
    private var idle: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    private var draining = false
    private var closed = false

    init(routing: RoutingIndex, logger: Logger) {
        self.routing = routing
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        out = context.channel.allocator.buffer(capacity: 256)
        armIdleTimer(context, at: .now() + SocketmapListener.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idle?.cancel()
        context.fireChannelInactive()
    }

    /// One timer per idle period, not one per request: when it fires, it closes the connection
    /// if nothing was read since, else waits for the rest of the period.
    private func armIdleTimer(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idle = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            let due = handler.lastRead + SocketmapListener.idleTimeout
            if due <= .now() { context.close(promise: nil) } else { handler.armIdleTimer(context, at: due) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var incoming = unwrapInboundIn(data)
        if buffer.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer.writeBuffer(&incoming)
        }
        lastRead = .now()
        out.clear()
        reading: while true {
            do throws(SocketmapRequest.DecodeError) {
                guard let request = try SocketmapRequest.decode(&buffer) else { break reading }
                SocketmapListener.answer(request, routing).encode(into: &out)
            } catch {
                switch error {
                case let .malformed(why):
                    SocketmapReply.perm(why).encode(into: &out)
                case let .framing(error):
                    // The next request cannot be found in what follows: say why, and close.
                    LogLimiter.shared.log(logger, .notice, kind: "socketmap connection closed", "closing socketmap connection: \(error)")
                    SocketmapReply.perm(Self.describe(error)).encode(into: &out)
                    closed = true
                    break reading
                }
            }
        }
        buffer.discardReadBytes()
        if out.readableBytes > 0 { context.write(wrapOutboundOut(out), promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        // A client that sends without reading the replies: stop reading until they drain.
        if !context.channel.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        if closed || (draining && buffer.readableBytes == 0) {
            closed = true
            context.close(promise: nil)
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is FrontDoor.Drain else { return context.fireUserInboundEventTriggered(event) }
        draining = true
        // Between requests: Postfix reconnects for its next lookup (to the next posternd).
        if buffer.readableBytes == 0 {
            closed = true
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    static func describe(_ error: Netstring.DecodeError) -> String {
        switch error {
        case .badLength: "not a netstring (the length must be decimal digits and a colon)"
        case let .tooLarge(limit): "request longer than \(limit) bytes"
        case .missingComma: "not a netstring (no comma after the request)"
        }
    }
}
