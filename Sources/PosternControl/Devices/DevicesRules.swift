import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// What the devices plane derives from values: index entries, history names, where a device was
/// seen. The rules a change must satisfy are `DeviceRules` (PosternCore), shared with the CLI.
enum DevicesRules {
    /// One device of a mailbox by reference (`#ID`, `ID` or name), read by index, not by listing.
    static func find(_ reference: String, mailboxID: Int64, in db: StoreTransaction, mailbox: String) async throws -> Device {
        let (id, name) = DeviceRules.parse(reference)
        guard let device = try await db.device(mailboxID: mailboxID, id: id, name: name) else { throw PosternError.deviceNotFound(reference, mailbox: mailbox) }
        return device
    }

    /// The index entry of a device password.
    static func credential(_ device: Device, _ address: String) -> DeviceCredential {
        DeviceCredential(deviceID: device.id, address: address, scope: device.scope, expiresAt: device.expiresAt)
    }

    /// Takes a device out of the password index: by its digest for a device password.
    static func removal(_ device: (id: Int64, digest: [UInt8]?)) -> CredentialIndex.Change {
        .removeDevice(device.id, digest: device.digest.flatMap { PasswordDigest(bytes: $0) })
    }

    static func named(_ device: Device) -> HistoryAction.DeviceName { .init(device.name, id: device.id) }

    /// Where a device was seen: its IPs since start, and the stored last one (from before a restart).
    static func seenAt(_ device: Device, _ lastUse: LastUseRecorder) -> [String] {
        var ips = lastUse.recentIPs(device.id)
        if let stored = device.lastUse?.ip, !ips.contains(stored) { ips.append(stored) }
        return ips
    }
}
