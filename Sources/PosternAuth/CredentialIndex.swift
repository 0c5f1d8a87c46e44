import Foundation
import PosternCore

/// What a device password's digest leads to.
public struct DeviceCredential: Sendable, Equatable, Codable {
    public let deviceID: Int64
    /// The mailbox address, which is the canonical login (`user=` in the answer).
    public let address: String
    public let scope: ServiceScope
    /// When the password stops working, in seconds since 1970; 0: never. Four bytes that fit in
    /// the struct's padding: a million devices cost no more memory for it.
    public let expires: UInt32

    public init(deviceID: Int64, address: String, scope: ServiceScope = .all, expiresAt: Date? = nil) {
        self.deviceID = deviceID
        self.address = address
        self.scope = scope
        self.expires = expiresAt.map { UInt32(clamping: Int64($0.timeIntervalSince1970.rounded(.up))) } ?? 0
    }

    /// Whether the password has expired at `now` (seconds since 1970).
    @inline(__always)
    public func expired(at now: Int) -> Bool { expires != 0 && now >= Int(expires) }
}

/// A mailbox's generic password, verified only when no device password matched, with the policy
/// that may retire it (resolved from the mailbox, mail service and organization levels).
public struct GenericCredential: Sendable, Equatable, Codable {
    public let deviceID: Int64
    public let address: String
    public let password: GenericPassword
    public var policy: GenericPolicy?

    public init(deviceID: Int64, address: String, password: GenericPassword, policy: GenericPolicy? = nil) {
        self.deviceID = deviceID
        self.address = address
        self.password = password
        self.policy = policy
    }
}

/// The in-memory index the password check reads: digest → device, address → generic password.
/// Loaded from the store at start; every write changes it before the control API answers.
public final class CredentialIndex: Sendable {
    /// One change, applied after the store committed it.
    /// Codable: the change log carries them to the other nodes (digests, never passwords).
    public enum Change: Sendable, Equatable, Codable {
        /// A device password (a new device, or a rotated one after `removeDevice` of its old digest).
        case addDevice(PasswordDigest, DeviceCredential)
        case setGeneric(GenericCredential)
        /// The policy that now applies to a mailbox's generic password (nil: none).
        case setGenericPolicy(address: String, GenericPolicy?)
        /// Removes a device of either kind by its id; a device password also by its digest (the
        /// store has it): the index keeps no id → digest map, which would cost 80 MB at 1M devices.
        case removeDevice(Int64, digest: PasswordDigest?)
    }

    private struct State {
        var byDigest: [PasswordDigest: DeviceCredential] = [:]
        var generic = GenericTable()
    }

    private let state = ReadMostly(State())

    public init() {}

    public func device(for digest: PasswordDigest) -> DeviceCredential? {
        state.read { $0.byDigest[digest] }
    }

    public func generic(for address: String) -> GenericCredential? {
        state.read { $0.generic.get(address) }
    }

    public var count: (devices: Int, generic: Int) {
        state.read { ($0.byDigest.count, $0.generic.count) }
    }

    public func apply(_ changes: [Change]) {
        state.write { state in
            for change in changes {
                switch change {
                case let .addDevice(digest, credential):
                    state.byDigest[digest] = credential
                case let .setGeneric(credential):
                    state.generic.set(credential)
                case let .setGenericPolicy(address, policy):
                    state.generic.setPolicy(address, policy)
                case let .removeDevice(id, digest):
                    if let digest, state.byDigest[digest]?.deviceID == id { state.byDigest[digest] = nil }
                    state.generic.remove(deviceID: id)
                }
            }
        }
    }

    public func reserve(devices: Int, generic: Int = 0) {
        state.write {
            $0.byDigest.reserveCapacity(devices)
            $0.generic.reserve(generic)
        }
    }
}
