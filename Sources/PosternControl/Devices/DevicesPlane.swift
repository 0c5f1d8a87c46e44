import Foundation
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// A mailbox's devices: list, add, rotate ("change password"), scope, expiry, disconnect one or
/// all; its generic password's retirement policies; what the password check saw (last use,
/// failed logins, throttled attacks). Each change needs the "devices" permission on the mailbox,
/// checked in the transaction that acts.
public struct DevicesPlane: Sendable {
    let node: Node
    let key: ServerKey
    /// Devices a mailbox may have at most (devices.maxPerMailbox).
    let maxPerMailbox: Int
    let logger: Logger

    var store: Store { node.store }
    var lastUse: LastUseRecorder { node.lastUse }

    public init(node: Node, key: ServerKey, maxPerMailbox: Int, logger: Logger) {
        self.node = node
        self.key = key
        self.maxPerMailbox = maxPerMailbox
        self.logger = logger
    }

    public func devices(_ address: String, page: PageRequest = .first(), actor: Actor) async throws -> Page<Device> {
        let address = try MailAddress(address)
        var devices = try await store.read { db in try await db.devices(mailboxID: try Access.mailbox(address, .devices, actor: actor, in: db).id!, page: page) }
        let fresh = lastUse.peek(devices.items.map(\.id))
        for i in devices.items.indices { devices.items[i].lastUse = LastUse.latest(devices.items[i].lastUse, fresh[devices.items[i].id]) }
        return devices
    }

    public func addDevice(_ address: String, name: String, scope: ServiceScope = .all, expiresAt: Date? = nil, actor: Actor) async throws -> NewSecret {
        let address = try MailAddress(address)
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let max = maxPerMailbox
        let device = try await node.commit { db in
            let box = try await Access.mailbox(address, .devices, actor: actor, in: db)
            try await DeviceRules.checkRoom(count: try db.deviceCount(mailboxID: box.id!), max: max)
            let name = try await DeviceRules.validName(name, existing: try db.devices(mailboxID: box.id!, named: name.trimmingCharacters(in: .whitespaces)))
            let device = try await db.insertDevice(mailboxID: box.id!, name: name, digest: digest.bytes, scope: scope, expiresAt: expiresAt)
            try await ActionLog.record(.deviceAdded(device: DevicesRules.named(device), scope: scope, expiresAt: expiresAt),
                                 mailbox: address.description, by: actor, in: db)
            return (device, .credentials([.addDevice(digest, DevicesRules.credential(device, address.description))]))
        }
        logger.info("device created", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// "Change password": a new secret for the same device; the old one fails on the next request,
    /// and the device's live sessions are dropped so that it reconnects with the new one.
    public func rotateDevice(_ address: String, device reference: String, actor: Actor) async throws -> NewSecret {
        let address = try MailAddress(address)
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let lastUse = self.lastUse
        let device = try await node.commit { db in
            let box = try await Access.mailbox(address, .devices, actor: actor, in: db)
            let device = try await DevicesRules.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            try DeviceRules.checkRotate(device)
            let old = try await db.deviceDigest(id: device.id)
            let rotated = try await db.rotateDevice(id: device.id, digest: digest.bytes)
            try await ActionLog.record(.deviceRotated(DevicesRules.named(device)), mailbox: address.description, by: actor, in: db)
            return (rotated, NodeChange(credentials: [DevicesRules.removal((device.id, old)), .addDevice(digest, DevicesRules.credential(rotated, address.description))],
                                        revocations: [.init(event: .device(address: address.description, ips: DevicesRules.seenAt(device, lastUse)),
                                                            devices: [device.id], gone: false)]))
        }
        logger.info("device rotated", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// Changes the services a device password may log in to; takes effect on the next request.
    public func setScope(_ address: String, device reference: String, scope: ServiceScope, actor: Actor) async throws -> Device {
        try await changeDevice(try MailAddress(address), reference, actor: actor) { db, device in
            try DeviceRules.checkScope(device)
            return try await (db.setScope(deviceID: device.id, scope), .deviceScoped(DevicesRules.named(device), scope))
        }
    }

    /// Sets when a device password stops working (nil: never), from the next check on.
    public func setExpiry(_ address: String, device reference: String, expiresAt: Date?, actor: Actor) async throws -> Device {
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        return try await changeDevice(try MailAddress(address), reference, actor: actor) { db, device in
            try DeviceRules.checkExpiryTarget(device)
            return try await (db.setExpiry(deviceID: device.id, expiresAt), .deviceExpirySet(DevicesRules.named(device), expiresAt: expiresAt))
        }
    }

    /// Changes a device's settings (not its password) with a history line, then puts the device
    /// password back in the index as changed.
    private func changeDevice(_ address: MailAddress, _ reference: String, actor: Actor,
                              _ change: @escaping @Sendable (StoreTransaction, Device) async throws -> (changed: Device, history: HistoryAction)) async throws -> Device {
        try await node.commit { db in
            let box = try await Access.mailbox(address, .devices, actor: actor, in: db)
            let device = try await DevicesRules.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let (changed, history) = try await change(db, device)
            try await ActionLog.record(history, mailbox: address.description, by: actor, in: db)
            let digest = try await db.deviceDigest(id: device.id).flatMap { PasswordDigest(bytes: $0) }
            return (changed, .credentials(digest.map { [.addDevice($0, DevicesRules.credential(changed, address.description))] } ?? []))
        }
    }

    /// "Disconnect the device": the device and its password are deleted.
    public func disconnectDevice(_ address: String, device reference: String, actor: Actor) async throws -> Device {
        let address = try MailAddress(address)
        let lastUse = self.lastUse
        let device = try await node.commit { db in
            let box = try await Access.mailbox(address, .devices, actor: actor, in: db)
            let device = try await DevicesRules.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let digest = try await db.deviceDigest(id: device.id)
            try await db.deleteDevices(ids: [device.id])
            try await ActionLog.record(.deviceDisconnected(DevicesRules.named(device), generic: device.kind == .generic),
                                 mailbox: address.description, by: actor, in: db)
            return (device, NodeChange(credentials: [DevicesRules.removal((device.id, digest))],
                                       revocations: [.init(event: .device(address: address.description, ips: DevicesRules.seenAt(device, lastUse)),
                                                           devices: [device.id])]))
        }
        logger.info("device disconnected", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return device
    }

    /// "Disconnect all devices": every device of the mailbox, generic password included. Needs a yes.
    public func disconnectAll(_ address: String, confirmed: Bool, actor: Actor) async throws -> [Device] {
        let address = try MailAddress(address)
        try DeviceRules.checkDisconnectAll(confirmed: confirmed)
        let devices = try await node.commit { db in
            let box = try await Access.mailbox(address, .devices, actor: actor, in: db)
            let devices = try await db.devices(mailboxID: box.id!)
            let digests = try await db.deviceDigests(mailboxID: box.id!)
            try await db.deleteDevices(ids: devices.map(\.id))
            try await ActionLog.record(.allDevicesDisconnected(count: devices.count), mailbox: address.description, by: actor, in: db)
            return (devices, NodeChange(credentials: digests.map(DevicesRules.removal),
                                        revocations: [.init(event: .mailbox(address: address.description), devices: devices.map(\.id))]))
        }
        logger.info("all devices disconnected", metadata: ["mailbox": "\(address)", "count": "\(devices.count)"])
        return devices
    }
}
