import Foundation
import Logging
import NIOCore
import NIOPosix
import PosternAuth
import PosternProtocols
import Synchronization

/// The Dovecot-auth front door: where Postfix, doveadm and Dovecot's Lua passdb ask for password checks.
public enum AuthListener {
    public static let maxLine = 16384
    /// CUID of the handshake: a connection counter from 1, per process.
    private static let connections = Atomic<UInt32>(0)

    public static func frontDoor(check: PasswordCheck, address: ListenAddress, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                                 logger: Logger, ready: @escaping @Sendable () -> Void = {}) -> FrontDoor {
        let pid = UInt32(getpid())
        return FrontDoor(name: "auth", address: address, group: group, logger: logger, ready: ready) { channel in
            let cuid = connections.add(1, ordering: .relaxed).newValue
            let handshake = AuthServerReply.handshake(mechanisms: AuthServerConnection.mechanisms, serverPID: pid,
                                                      connectionID: cuid, cookie: cookie())
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AuthConnectionHandler(check: check, handshake: handshake, maxLine: maxLine, logger: logger))
            }
        }
    }

    static func cookie() -> String {
        var rng = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<2 {
            let v = rng.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { out.append(hex[Int(v >> UInt64(shift) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
