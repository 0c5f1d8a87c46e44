import Foundation
import NIOCore
import NIOPosix
import PosternCore

/// One password check as a front door asks it.
public struct CheckRequest: Sendable {
    public var login: String
    public var password: [UInt8]
    public var service: String
    public var remoteIP: String?

    public init(login: String, password: [UInt8], service: String, remoteIP: String?) {
        self.login = login
        self.password = password
        self.service = service
        self.remoteIP = remoteIP
    }
}

/// The answer of a check.
public enum CheckResult: Sendable, Equatable {
    /// Logged in; `user` is the canonical login (the mailbox address).
    case ok(user: String, deviceID: Int64)
    /// Wrong password or unknown login: the two look the same to the client.
    case fail
    /// Postern could not decide (internal trouble): the client should try again later.
    case tempFail
}

/// The password check: one keyed digest and one index lookup for device passwords; the generic
/// password's slow hash only when no device password matched, on a thread pool.
public final class PasswordCheck: Sendable {
    public let index: CredentialIndex
    public let lastUse: LastUseRecorder
    private let key: ServerKey
    private let threadPool: NIOThreadPool

    public init(key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, threadPool: NIOThreadPool) {
        self.key = key
        self.index = index
        self.lastUse = lastUse
        self.threadPool = threadPool
    }

    /// The fast part: answers at once for a device password, or says the generic password must be verified.
    public enum Immediate: Sendable {
        case done(CheckResult)
        case verifyGeneric(GenericCredential)
    }

    public func checkFast(_ request: CheckRequest) -> Immediate {
        let login = MailAddress.loginKey(request.login)
        let digest = PasswordDigest(password: request.password, key: key)
        if let device = index.device(for: digest), device.address == login {
            // A password scoped to other services is refused like a wrong one (and the generic
            // password is not tried instead: the client did use this device's password).
            guard device.scope.allows(request.service) else { return .done(.fail) }
            used(device.deviceID, request)
            return .done(.ok(user: device.address, deviceID: device.deviceID))
        }
        if let generic = index.generic(for: login) {
            guard generic.password.scheme.isSlow else {
                // Unsalted or salted SHA and PLAIN cost about as much as the HMAC: no need to leave the loop.
                guard LegacyHash.verify(password: request.password, against: generic.password) else { return .done(.fail) }
                used(generic.deviceID, request)
                return .done(.ok(user: generic.address, deviceID: generic.deviceID))
            }
            return .verifyGeneric(generic)
        }
        return .done(.fail)
    }

    /// The whole check; completes on `eventLoop`. The slow hash never runs on the event loop.
    public func check(_ request: CheckRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        switch checkFast(request) {
        case let .done(result):
            return eventLoop.makeSucceededFuture(result)
        case let .verifyGeneric(generic):
            return verify(generic, request, on: eventLoop)
        }
    }

    /// Verifies a generic password on the thread pool; completes on `eventLoop`.
    public func verify(_ generic: GenericCredential, _ request: CheckRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        threadPool.runIfActive(eventLoop: eventLoop) {
            LegacyHash.verify(password: request.password, against: generic.password)
        }.map { matched in
            // The generic password may have been disconnected while the hash ran.
            guard matched, self.index.generic(for: generic.address)?.deviceID == generic.deviceID else { return .fail }
            self.used(generic.deviceID, request)
            return .ok(user: generic.address, deviceID: generic.deviceID)
        }.recover { _ in .tempFail }
    }

    /// The same check for async callers (tests, the control API's own checks).
    public func check(_ request: CheckRequest) async -> CheckResult {
        switch checkFast(request) {
        case let .done(result):
            return result
        case let .verifyGeneric(generic):
            do {
                let matched = try await threadPool.runIfActive {
                    LegacyHash.verify(password: request.password, against: generic.password)
                }
                guard matched, index.generic(for: generic.address)?.deviceID == generic.deviceID else { return .fail }
                used(generic.deviceID, request)
                return .ok(user: generic.address, deviceID: generic.deviceID)
            } catch {
                return .tempFail
            }
        }
    }

    @inline(__always)
    private func used(_ deviceID: Int64, _ request: CheckRequest) {
        lastUse.record(deviceID: deviceID, LastUse(at: Date(), ip: request.remoteIP, service: request.service))
    }
}
