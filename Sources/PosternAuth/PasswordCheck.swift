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
    /// As the client named it (PLAIN, LOGIN), for the failed-login log.
    public var mechanism: String

    public init(login: String, password: [UInt8], service: String, remoteIP: String?, mechanism: String = "PLAIN") {
        self.login = login
        self.password = password
        self.service = service
        self.remoteIP = remoteIP
        self.mechanism = mechanism
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
/// password's slow hash only when no device password matched, on a thread pool; throttling of
/// failed logins per IP and per login around both.
public final class PasswordCheck: Sendable {
    public let index: CredentialIndex
    public let lastUse: LastUseRecorder
    public let throttle: Throttle
    /// Correct generic passwords refused by a policy, for the mailboxes' action history.
    public let genericRefusals = GenericRefusals()
    /// Failed and refused logins, aggregated for `postern device failures`.
    public let failedLogins = FailedLogins()
    /// Set while this node may be behind the other nodes' revocations: every check is a temporary failure.
    public let freshness: Freshness
    private let key: ServerKey
    private let threadPool: NIOThreadPool

    public init(key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, threadPool: NIOThreadPool,
                throttle: Throttle = Throttle(), freshness: Freshness = Freshness()) {
        self.freshness = freshness
        self.key = key
        self.index = index
        self.lastUse = lastUse
        self.threadPool = threadPool
        self.throttle = throttle
    }

    /// An answer now (the usual case: no slow hash, no throttling delay), or later.
    public enum Outcome {
        case now(CheckResult)
        case later(EventLoopFuture<CheckResult>)
    }

    /// The whole check; a later answer completes on `eventLoop`. A throttled client's answer is
    /// held until its delay has passed since the request arrived (a timer on the event loop, no
    /// thread waits), so a slow generic hash does not add to the hold; a refusal is answered at once.
    public func check(_ request: CheckRequest, on eventLoop: any EventLoop) -> Outcome {
        let (outcome, delay) = evaluate(request, on: eventLoop)
        guard let delay else { return outcome }
        let deadline = NIODeadline.now() + .nanoseconds(delay.nanoseconds)
        let result: EventLoopFuture<CheckResult> = switch outcome {
        case let .now(r): eventLoop.makeSucceededFuture(r)
        case let .later(future): future
        }
        return .later(result.flatMap { r in eventLoop.scheduleTask(deadline: deadline) { r }.futureResult })
    }

    /// The same check for async callers (tests, the HTTP front doors).
    public func check(_ request: CheckRequest) async -> CheckResult {
        await Self.value(of: check(request, on: MultiThreadedEventLoopGroup.singleton.any()))
    }

    /// For front doors that tell the client to wait instead of waiting themselves (nginx's
    /// Auth-Wait): the answer without the throttling delay, and the delay the client should observe
    /// (nil when there is none, refusals included: they are answered at once).
    public func checkReportingWait(_ request: CheckRequest) async -> (result: CheckResult, wait: Duration?) {
        let (outcome, delay) = evaluate(request, on: MultiThreadedEventLoopGroup.singleton.any())
        return (await Self.value(of: outcome), delay)
    }

    /// Throttling verdict, lookup, slow hash if needed, and the throttling record of the result;
    /// everything but holding the answer back. The delay is nil when there is none to observe.
    private func evaluate(_ request: CheckRequest, on eventLoop: any EventLoop) -> (Outcome, Duration?) {
        if freshness.isStale { return (.now(.tempFail), nil) }
        let login = MailAddress.loginKey(request.login)
        let delay: Duration?
        switch throttle.verdict(login: login, ip: request.remoteIP) {
        case .allow: delay = nil
        case let .delay(d): delay = d
        case .refuse:
            failedLogins.record(request, login: login, throttled: true)
            return (.now(.tempFail), nil)
        }
        switch lookup(request, login: login) {
        case let .done(r):
            settle(r, request, login: login, delayed: delay != nil)
            return (.now(r), delay)
        case let .verifyGeneric(generic):
            return (.later(verify(generic, request, on: eventLoop).map { r in
                self.settle(r, request, login: login, delayed: delay != nil)
                return r
            }), delay)
        }
    }

    private static func value(of outcome: Outcome) async -> CheckResult {
        switch outcome {
        case let .now(result): result
        case let .later(future): (try? await future.get()) ?? .tempFail
        }
    }

    private enum Lookup {
        case done(CheckResult)
        case verifyGeneric(GenericCredential)
    }

    private func lookup(_ request: CheckRequest, login: String) -> Lookup {
        let digest = PasswordDigest(password: request.password, key: key)
        if let device = index.device(for: digest), device.address == login {
            // A password scoped to other services is refused like a wrong one (and the generic
            // password is not tried instead: the client did use this device's password).
            guard device.scope.allows(request.service) else { return .done(.fail) }
            // Expired: refused like a revoked password (the housekeeper then tells Dovecot).
            if device.expires != 0, device.expired(at: time(nil)) { return .done(.fail) }
            used(device.deviceID, request)
            return .done(.ok(user: device.address, deviceID: device.deviceID))
        }
        if let generic = index.generic(for: login) {
            guard generic.password.scheme.isSlow else {
                // Salted or unsalted SHA and PLAIN cost about as much as the HMAC: no need to leave the loop.
                guard LegacyHash.verify(password: request.password, against: generic.password),
                      !retired(generic, request) else { return .done(.fail) }
                used(generic.deviceID, request)
                return .done(.ok(user: generic.address, deviceID: generic.deviceID))
            }
            return .verifyGeneric(generic)
        }
        return .done(.fail)
    }

    /// Verifies a generic password on the thread pool; completes on `eventLoop`.
    private func verify(_ generic: GenericCredential, _ request: CheckRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        threadPool.runIfActive(eventLoop: eventLoop) {
            LegacyHash.verify(password: request.password, against: generic.password)
        }.map { matched in
            // The generic password may have been disconnected while the hash ran.
            guard matched, let current = self.index.generic(for: generic.address), current.deviceID == generic.deviceID,
                  !self.retired(current, request) else { return .fail }
            self.used(generic.deviceID, request)
            return .ok(user: generic.address, deviceID: generic.deviceID)
        }.recover { _ in .tempFail }
    }

    /// Whether a policy refuses this correct generic password for the request's service: then it
    /// fails exactly like a wrong one, and the refusal is noted for the mailbox's history.
    private func retired(_ generic: GenericCredential, _ request: CheckRequest) -> Bool {
        guard let policy = generic.policy else { return false }
        let now = Date()
        guard policy.refuses(request.service, at: now) else { return false }
        genericRefusals.record(address: generic.address, service: request.service, ip: request.remoteIP, policy: policy, at: now)
        return true
    }

    private func settle(_ result: CheckResult, _ request: CheckRequest, login: String, delayed: Bool) {
        switch result {
        case .ok: throttle.recordSuccess(login: login, ip: request.remoteIP)
        case .fail:
            throttle.recordFailure(login: login, ip: request.remoteIP)
            failedLogins.record(request, login: login, throttled: delayed)
        case .tempFail: break
        }
    }

    @inline(__always)
    private func used(_ deviceID: Int64, _ request: CheckRequest) {
        lastUse.record(deviceID: deviceID, LastUse(at: Date(), ip: request.remoteIP, service: request.service))
    }
}

extension Duration {
    /// Whole nanoseconds, for NIO's timers.
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
