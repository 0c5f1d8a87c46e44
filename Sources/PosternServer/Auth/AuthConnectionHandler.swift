import Logging
import NIOCore
import PosternAuth
import PosternProtocols

/// Performs what `AuthServerConnection` decides for one Dovecot auth connection. Replies are
/// written as they are decided and flushed once per read batch, so pipelined requests cost one write.
/// It frames lines itself (`LineFrameDecoder` over the bytes as read) rather than behind a
/// `ByteToMessageHandler`: one handler call per read instead of one pipeline hop per line.
final class AuthConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var connection = AuthServerConnection()
    private let check: PasswordCheck
    private let handshake: [UInt8]
    private let logger: Logger
    private var out: [UInt8] = []
    private var framing: LineFrameDecoder
    /// Bytes of a line not complete yet.
    private var partial: ByteBuffer?
    /// The line being handled, in a buffer reused from line to line.
    private var line: [UInt8] = []
    /// Set once the connection is being closed: lines already read are not acted on.
    private var closing = false
    /// Set when the door shuts down: the connection ends with its next answer, when the client
    /// waits for nothing more (Postfix and the Lua passdb send one request at a time). Before that
    /// answer is written, the connection's input is shut down, so that the client's next request
    /// fails to write at once (EPIPE on a unix socket) and Postfix reconnects and resends it to the
    /// next process instead of losing it. One still idle after `FrontDoor.idleGrace` is closed.
    private var draining = false
    private var answeredWhileDraining = false

    init(check: PasswordCheck, handshake: AuthServerReply, maxLine: Int, logger: Logger) {
        self.check = check
        self.framing = LineFrameDecoder(maxLength: maxLine)
        self.handshake = handshake.encoded
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: handshake)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = partial {
            partial = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        do {
            while !closing, let frame = try framing.next(&bytes) {
                line.removeAll(keepingCapacity: true)
                frame.withUnsafeReadableBytes { line.append(contentsOf: $0) }
                handle(line[...], context: context)
            }
        } catch {
            close(context, because: "\(error)")
            return
        }
        if bytes.readableBytes > 0 { partial = bytes }
    }

    private func close(_ context: ChannelHandlerContext, because reason: String) {
        LogLimiter.shared.log(logger, .notice, kind: "auth connection closed", "closing auth connection: \(reason)")
        closing = true
        flush(context)
        context.close(promise: nil)
    }

    private func handle(_ line: ArraySlice<UInt8>, context: ChannelHandlerContext) {
        switch connection.receive(line: line) {
        case .none:
            break
        case let .reply(reply):
            reply.encode(into: &out)
        case let .close(error):
            close(context, because: "\(error)")
        case let .check(attempt):
            let request = CheckRequest(login: attempt.login, password: attempt.password, service: attempt.service, remoteIP: attempt.remoteIP,
                                       mechanism: attempt.mechanism)
            switch check.check(request, on: context.eventLoop) {
            case let .now(result):
                answer(attempt, result)
            case let .later(future):
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                future.whenComplete { outcome in
                    let handler = loopBound.value
                    handler.answer(attempt, (try? outcome.get()) ?? .tempFail)
                    handler.flush(contextBound.value)
                }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is FrontDoor.Drain else { return context.fireUserInboundEventTriggered(event) }
        draining = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(FrontDoor.idleGrace.nanoseconds)) {
            let (handler, context) = bound.value
            handler.answeredWhileDraining = true  // waited long enough: close as soon as idle
            handler.flush(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        LogLimiter.shared.log(logger, .notice, kind: "auth connection error", "auth connection error, closing: \(error)")
        context.close(promise: nil)
    }

    private func answer(_ attempt: AuthAttempt, _ result: CheckResult) {
        guard connection.finish(id: attempt.id) else { return }  // cancelled meanwhile
        let reply: AuthServerReply = switch result {
        case let .ok(user, _): .ok(id: attempt.id, user: user)
        case .fail: .fail(id: attempt.id, user: attempt.login, code: nil, reason: nil)
        case .tempFail: .fail(id: attempt.id, user: attempt.login, code: .tempFail, reason: nil)
        }
        reply.encode(into: &out)
        if draining { answeredWhileDraining = true }
    }

    /// Writes the replies decided so far; while draining, the last one ends the connection.
    private func flush(_ context: ChannelHandlerContext) {
        let last = draining && answeredWhileDraining && !closing && connection.isIdle
        if last {
            closing = true
            context.close(mode: .input, promise: nil)
        }
        if !out.isEmpty, context.channel.isActive {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: out)), promise: nil)
        }
        out.removeAll(keepingCapacity: true)
        if last { context.close(promise: nil) }
    }
}
