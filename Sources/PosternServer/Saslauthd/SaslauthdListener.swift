import Logging
import NIOCore
import PosternAuth
import PosternProtocols

/// The saslauthd front door: Cyrus SASL (`pwcheck_method: saslauthd`) and testsaslauthd.
public enum SaslauthdListener {
    /// A client that sends no complete request within this time is closed.
    static let requestTimeout = TimeAmount.seconds(10)

    public static func frontDoor(check: PasswordCheck, address: ListenAddress, logger: Logger,
                                 ready: @escaping @Sendable () -> Void = {}) -> FrontDoor {
        FrontDoor(name: "saslauthd", address: address, logger: logger, connectionsOnAcceptingLoop: true, ready: ready) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(SaslauthdHandler(check: check, logger: logger))
            }
        }
    }
}

/// One request per connection: gather the four counted strings, check, answer, close.
final class SaslauthdHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let check: PasswordCheck
    private let logger: Logger
    private var buffer = ByteBuffer()
    private var answered = false
    private var timeout: Scheduled<Void>?

    init(check: PasswordCheck, logger: Logger) {
        self.check = check
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: SaslauthdListener.requestTimeout) { bound.value.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var incoming = unwrapInboundIn(data)
        if buffer.readableBytes == 0 {
            buffer = incoming  // the usual case: the whole request in one read, decoded where it landed
        } else {
            buffer.writeBuffer(&incoming)
        }
        let request: SaslauthdRequest
        do {
            guard let decoded = try SaslauthdRequest.decode(&buffer) else { return }
            request = decoded
        } catch {
            LogLimiter.shared.log(logger, .notice, kind: "saslauthd connection closed", "closing saslauthd connection: \(error)")
            context.close(promise: nil)
            return
        }
        answered = true
        timeout?.cancel()
        let checkRequest = CheckRequest(login: request.address, password: request.password, service: request.service, remoteIP: nil)
        switch check.check(checkRequest, on: context.eventLoop) {
        case let .now(result):
            answer(result, context)  // the usual case: no future, no hop
        case let .later(future):
            let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            future.whenComplete { outcome in
                handler.value.answer((try? outcome.get()) ?? .tempFail, contextBound.value)
            }
        }
    }

    private func answer(_ result: CheckResult, _ context: ChannelHandlerContext) {
        switch result {
        case .ok: reply(.ok, context)
        case .fail: reply(.no, context)
        case .tempFail:
            // Closing without an answer makes libsasl2 report a temporary failure (454), not a wrong password.
            context.close(promise: nil)
        }
    }

    private func reply(_ reply: SaslauthdReply, _ context: ChannelHandlerContext) {
        // NIO attempts a flushed write at once, and a few bytes always fit in a fresh socket's
        // buffer: closing right after it loses nothing (and saves a promise per connection).
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.encoded)), promise: nil)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
