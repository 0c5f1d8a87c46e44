import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// A mailbox's devices: list, add, rotate ("change password"), scope, expiry, disconnect one or
/// all. Each needs the "devices" permission on the mailbox, checked in the transaction that acts.
extension ControlPlane {
    // MARK: devices

    public func devices(_ address: String, actor: Actor) throws -> [Device] {
        let address = try MailAddress(address)
        var devices = try store.read { db in try db.devices(mailboxID: try Self.mailbox(address, .devices, actor: actor, in: db).id!) }
        let fresh = lastUse.peek(devices.map(\.id))
        for i in devices.indices { devices[i].lastUse = LastUse.latest(devices[i].lastUse, fresh[devices[i].id]) }
        return devices
    }

    public func addDevice(_ address: String, name: String, scope: ServiceScope = .all, expiresAt: Date? = nil, actor: Actor) throws -> NewSecret {
        let address = try MailAddress(address)
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let device = try commit { db in
            let box = try Self.mailbox(address, .devices, actor: actor, in: db)
            try DeviceRules.checkRoom(count: try db.deviceCount(mailboxID: box.id!), max: maxDevicesPerMailbox)
            let name = try DeviceRules.validName(name, existing: try db.devices(mailboxID: box.id!, named: name.trimmingCharacters(in: .whitespaces)))
            let device = try db.insertDevice(mailboxID: box.id!, name: name, digest: digest.bytes, scope: scope, expiresAt: expiresAt)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.add",
                                              detail: "device \"\(name)\" (id \(device.id)) created\(Self.describe(scope))\(Self.describe(expiry: expiresAt))"))
            return (device, .credentials([.addDevice(digest, Self.credential(device, address.description))]))
        }
        logger.info("device created", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// "Change password": a new secret for the same device; the old one fails on the next request,
    /// and the device's live sessions are dropped so that it reconnects with the new one.
    public func rotateDevice(_ address: String, device reference: String, actor: Actor) throws -> NewSecret {
        let address = try MailAddress(address)
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let device = try commit { db in
            let box = try Self.mailbox(address, .devices, actor: actor, in: db)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            try DeviceRules.checkRotate(device)
            let old = try db.deviceDigest(id: device.id)
            let rotated = try db.rotateDevice(id: device.id, digest: digest.bytes)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.rotate",
                                              detail: "device \"\(device.name)\" (id \(device.id)) got a new password"))
            return (rotated, NodeChange(credentials: [Self.removal((device.id, old)), .addDevice(digest, Self.credential(rotated, address.description))],
                                        revocations: [.init(event: .device(address: address.description, ips: Self.seenAt(device, self.lastUse)), devices: [device.id], gone: false)]))
        }
        logger.info("device rotated", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// Changes the services a device password may log in to; takes effect on the next request.
    public func setScope(_ address: String, device reference: String, scope: ServiceScope, actor: Actor) throws -> Device {
        try changeDevice(try MailAddress(address), reference, actor: actor, action: "device.scope") { db, device in
            try DeviceRules.checkScope(device)
            return (try db.setScope(deviceID: device.id, scope),
                    "device \"\(device.name)\" (id \(device.id)) now logs in to \(scope.stored ?? "every service")")
        }
    }

    /// Sets when a device password stops working (nil: never), from the next check on.
    public func setExpiry(_ address: String, device reference: String, expiresAt: Date?, actor: Actor) throws -> Device {
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        return try changeDevice(try MailAddress(address), reference, actor: actor, action: "device.expiry") { db, device in
            try DeviceRules.checkExpiryTarget(device)
            return (try db.setExpiry(deviceID: device.id, expiresAt),
                    "device \"\(device.name)\" (id \(device.id)) \(expiresAt.map { "expires \(Self.day($0))" } ?? "no longer expires")")
        }
    }

    /// Changes a device's settings (not its password) with a history line, then puts the device
    /// password back in the index as changed.
    private func changeDevice(_ address: MailAddress, _ reference: String, actor: Actor, action: String,
                              _ change: @escaping @Sendable (StoreTransaction, Device) throws -> (changed: Device, detail: String)) throws -> Device {
        try commit { db in
            let box = try Self.mailbox(address, .devices, actor: actor, in: db)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let (changed, detail) = try change(db, device)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: action, detail: detail))
            let digest = try db.deviceDigest(id: device.id).flatMap { PasswordDigest(bytes: $0) }
            return (changed, .credentials(digest.map { [.addDevice($0, Self.credential(changed, address.description))] } ?? []))
        }
    }

    /// The index entry of a device password.
    static func credential(_ device: Device, _ address: String) -> DeviceCredential {
        DeviceCredential(deviceID: device.id, address: address, scope: device.scope, expiresAt: device.expiresAt)
    }

    static func describe(expiry: Date?) -> String {
        expiry.map { ", expires \(day($0))" } ?? ""
    }

    static func day(_ date: Date) -> String { date.formatted(.iso8601) }

    /// Takes a device out of the password index: by its digest for a device password.
    static func removal(_ device: (id: Int64, digest: [UInt8]?)) -> CredentialIndex.Change {
        .removeDevice(device.id, digest: device.digest.flatMap { PasswordDigest(bytes: $0) })
    }

    static func describe(_ scope: ServiceScope) -> String {
        scope.stored.map { " for \($0)" } ?? ""
    }

    /// "Disconnect the device": the device and its password are deleted.
    public func disconnectDevice(_ address: String, device reference: String, actor: Actor) throws -> Device {
        let address = try MailAddress(address)
        let device = try commit { db in
            let box = try Self.mailbox(address, .devices, actor: actor, in: db)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let digest = try db.deviceDigest(id: device.id)
            try db.deleteDevices(ids: [device.id])
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.disconnect",
                                              detail: "\(device.kind == .generic ? "generic password" : "device \"\(device.name)\"") (id \(device.id)) disconnected"))
            return (device, NodeChange(credentials: [Self.removal((device.id, digest))],
                                       revocations: [.init(event: .device(address: address.description, ips: Self.seenAt(device, self.lastUse)), devices: [device.id])]))
        }
        logger.info("device disconnected", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return device
    }

    /// "Disconnect all devices": every device of the mailbox, generic password included. Needs a yes.
    public func disconnectAll(_ address: String, confirmed: Bool, actor: Actor) throws -> [Device] {
        let address = try MailAddress(address)
        try DeviceRules.checkDisconnectAll(confirmed: confirmed)
        let devices = try commit { db in
            let box = try Self.mailbox(address, .devices, actor: actor, in: db)
            let devices = try db.devices(mailboxID: box.id!)
            let digests = try db.deviceDigests(mailboxID: box.id!)
            try db.deleteDevices(ids: devices.map(\.id))
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.disconnect_all",
                                              detail: "all \(devices.count) device(s) disconnected"))
            return (devices, NodeChange(credentials: digests.map(Self.removal),
                                        revocations: [.init(event: .mailbox(address: address.description), devices: devices.map(\.id))]))
        }
        logger.info("all devices disconnected", metadata: ["mailbox": "\(address)", "count": "\(devices.count)"])
        return devices
    }
}
