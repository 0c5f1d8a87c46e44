import Foundation
import GRDB
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// Every change operators make, in one place: the store commits it (with its history line), then
/// the in-memory index takes it, then the caller answers. No secret is logged or written to history.
public final class ControlPlane: Sendable {
    public let store: Store
    public let index: CredentialIndex
    public let lastUse: LastUseRecorder
    /// Tells the mail servers about revoked passwords (auth cache flush, session kick); nil: nobody to tell.
    public let hooks: RevocationHooks?
    private let key: ServerKey
    let logger: Logger
    /// Devices a mailbox may have at most (devices.maxPerMailbox).
    public let maxDevicesPerMailbox: Int

    public init(store: Store, key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, hooks: RevocationHooks? = nil,
                maxDevicesPerMailbox: Int = 250, logger: Logger) {
        self.store = store
        self.key = key
        self.index = index
        self.lastUse = lastUse
        self.hooks = hooks
        self.maxDevicesPerMailbox = maxDevicesPerMailbox
        self.logger = logger
    }

    /// One device of a mailbox by reference (`#ID`, `ID` or name), read by index, not by listing.
    static func find(_ reference: String, mailboxID: Int64, in db: Database, mailbox: String) throws -> Device {
        let (id, name) = DeviceRules.parse(reference)
        guard let device = try db.device(mailboxID: mailboxID, id: id, name: name) else { throw PosternError.deviceNotFound(reference, mailbox: mailbox) }
        return device
    }

    /// Where a device was seen: its IPs since start, and the stored last one (from before a restart).
    static func seenAt(_ device: Device, _ lastUse: LastUseRecorder) -> [String] {
        var ips = lastUse.recentIPs(device.id)
        if let stored = device.lastUse?.ip, !ips.contains(stored) { ips.append(stored) }
        return ips
    }

    /// The server key device-password digests are taken under.
    public var serverKey: ServerKey { key }

    /// Loads every credential from the store into the index.
    public func loadIndex() throws -> (devices: Int, generic: Int) {
        let index = self.index
        try store.read { db in
            let passwords = try db.devicePasswordCount()
            index.reserve(devices: passwords, generic: try db.deviceCount() - passwords)
            var batch: [CredentialIndex.Change] = []
            try db.forEachCredential { credential in
                if let bytes = credential.digest, let digest = PasswordDigest(bytes: bytes) {
                    batch.append(.addDevice(digest, DeviceCredential(deviceID: credential.deviceID, address: credential.address,
                                                                     scope: credential.scope, expiresAt: credential.expiresAt)))
                } else if let generic = credential.generic {
                    batch.append(.setGeneric(GenericCredential(deviceID: credential.deviceID, address: credential.address, password: generic)))
                }
                if batch.count >= 4096 { index.apply(batch); batch.removeAll(keepingCapacity: true) }
            }
            index.apply(batch)
            // The policies that may retire generic passwords (a minority of rows: read apart).
            index.apply(try db.genericPasswords(withPolicy: true).compactMap { row in row.policy.map { .setGenericPolicy(address: row.address, $0.policy) } })
        }
        return index.count
    }

    // MARK: organizations and mail services

    public func addOrganization(_ name: String, actor: String) throws -> Organization {
        try store.write { db in
            let org = try db.createOrganization(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "organization.add", detail: "organization \(org.name)"))
            return org
        }
    }

    public func organizations() throws -> [Organization] { try store.read { try $0.organizations() } }

    public func removeOrganization(_ name: String, actor: String) throws -> Organization {
        try store.write { db in
            let org = try db.removeOrganization(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "organization.remove", detail: "organization \(org.name)"))
            return org
        }
    }

    public func addMailService(name: String, organization: String, domains: [String], actor: String) throws -> MailService {
        try store.write { db in
            let service = try db.createMailService(name: name, organization: organization, domains: domains)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.add",
                                              detail: "mail service \(service.name) (\(service.domains.joined(separator: ", "))) of \(organization)"))
            return service
        }
    }

    public func mailServices() throws -> [MailService] { try store.read { try $0.mailServices() } }

    public func removeMailService(_ name: String, actor: String) throws -> MailService {
        try store.write { db in
            let service = try db.removeMailService(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.remove", detail: "mail service \(service.name)"))
            return service
        }
    }

    // MARK: mailboxes

    public func addMailbox(_ address: String, actor: String) throws -> Mailbox {
        let address = try MailAddress(address)
        return try store.write { db in
            let box = try db.createMailbox(address)
            try db.appendHistory(HistoryEntry(mailbox: box.address.description, actor: actor, action: "mailbox.add", detail: "mailbox created"))
            return box
        }
    }

    public func mailboxes(domain: String?) throws -> [Mailbox] { try store.read { try $0.mailboxes(domain: domain) } }

    public func mailbox(_ address: String) throws -> Mailbox {
        let address = try MailAddress(address)
        return try store.read { try $0.mailbox(address) }
    }

    public func removeMailbox(_ address: String, actor: String) throws -> Mailbox {
        let address = try MailAddress(address)
        return try store.write({ db in
            let (box, devices) = try db.removeMailbox(address)
            try db.appendHistory(HistoryEntry(mailbox: box.address.description, actor: actor, action: "mailbox.remove",
                                              detail: "mailbox removed with \(devices.count) device(s)"))
            return (box, devices)
        }, afterCommit: { [index, lastUse, hooks] (box, devices) in
            index.apply(devices.map(Self.removal))
            lastUse.forget(devices.map(\.id))
            hooks?.enqueue(.mailbox(address: box.address.description))
        }).0
    }

    public func history(_ address: String, limit: Int) throws -> [HistoryEntry] {
        let address = try MailAddress(address)
        return try store.read { db in
            _ = try db.mailbox(address)
            return try db.history(mailbox: address.description, limit: max(1, min(limit, 10_000)))
        }
    }

    // MARK: devices

    public func devices(_ address: String) throws -> [Device] {
        let address = try MailAddress(address)
        var devices = try store.read { db in try db.devices(mailboxID: try db.mailbox(address).id!) }
        let fresh = lastUse.peek(devices.map(\.id))
        for i in devices.indices { if let use = fresh[devices[i].id] { devices[i].lastUse = use } }
        return devices
    }

    public func addDevice(_ address: String, name: String, scope: ServiceScope = .all, expiresAt: Date? = nil, actor: String) throws -> NewSecret {
        let address = try MailAddress(address)
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let device = try store.write({ db in
            let box = try db.mailbox(address)
            try DeviceRules.checkRoom(count: try db.deviceCount(mailboxID: box.id!), max: maxDevicesPerMailbox)
            let name = try DeviceRules.validName(name, existing: try db.devices(mailboxID: box.id!, named: name.trimmingCharacters(in: .whitespaces)))
            let device = try db.insertDevice(mailboxID: box.id!, name: name, digest: digest.bytes, scope: scope, expiresAt: expiresAt)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.add",
                                              detail: "device \"\(name)\" (id \(device.id)) created\(Self.describe(scope))\(Self.describe(expiry: expiresAt))"))
            return device
        }, afterCommit: { [index] device in
            index.apply([.addDevice(digest, Self.credential(device, address.description))])
        })
        logger.info("device created", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// "Change password": a new secret for the same device; the old one fails on the next request,
    /// and the device's live sessions are dropped so that it reconnects with the new one.
    public func rotateDevice(_ address: String, device reference: String, actor: String) throws -> NewSecret {
        let address = try MailAddress(address)
        let password = DevicePassword.generate()
        let digest = PasswordDigest(password: Array(password.utf8), key: key)
        let device = try store.write({ db in
            let box = try db.mailbox(address)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            try DeviceRules.checkRotate(device)
            let old = try db.deviceDigest(id: device.id)
            let rotated = try db.rotateDevice(id: device.id, digest: digest.bytes)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.rotate",
                                              detail: "device \"\(device.name)\" (id \(device.id)) got a new password"))
            return (rotated, Self.seenAt(device, self.lastUse), old)
        }, afterCommit: { [index, hooks] (device, seenAt, old) in
            index.apply([Self.removal((device.id, old)), .addDevice(digest, Self.credential(device, address.description))])
            hooks?.enqueue(.device(address: address.description, ips: seenAt))
        }).0
        logger.info("device rotated", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        return NewSecret(device: device, password: password)
    }

    /// Changes the services a device password may log in to; takes effect on the next request.
    public func setScope(_ address: String, device reference: String, scope: ServiceScope, actor: String) throws -> Device {
        try changeDevice(try MailAddress(address), reference, actor: actor, action: "device.scope") { db, device in
            try DeviceRules.checkScope(device)
            return (try db.setScope(deviceID: device.id, scope),
                    "device \"\(device.name)\" (id \(device.id)) now logs in to \(scope.stored ?? "every service")")
        }
    }

    /// Sets when a device password stops working (nil: never), from the next check on.
    public func setExpiry(_ address: String, device reference: String, expiresAt: Date?, actor: String) throws -> Device {
        try DeviceRules.checkExpiry(expiresAt, now: Date())
        return try changeDevice(try MailAddress(address), reference, actor: actor, action: "device.expiry") { db, device in
            try DeviceRules.checkExpiryTarget(device)
            return (try db.setExpiry(deviceID: device.id, expiresAt),
                    "device \"\(device.name)\" (id \(device.id)) \(expiresAt.map { "expires \(Self.day($0))" } ?? "no longer expires")")
        }
    }

    /// Changes a device's settings (not its password) with a history line, then puts the device
    /// password back in the index as changed.
    private func changeDevice(_ address: MailAddress, _ reference: String, actor: String, action: String,
                              _ change: @escaping @Sendable (Database, Device) throws -> (changed: Device, detail: String)) throws -> Device {
        try store.write({ db in
            let box = try db.mailbox(address)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let (changed, detail) = try change(db, device)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: action, detail: detail))
            return (changed, try db.deviceDigest(id: device.id))
        }, afterCommit: { [index] (device, digest) in
            if let digest = digest.flatMap({ PasswordDigest(bytes: $0) }) {
                index.apply([.addDevice(digest, Self.credential(device, address.description))])
            }
        }).0
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
    public func disconnectDevice(_ address: String, device reference: String, actor: String) throws -> Device {
        let address = try MailAddress(address)
        let device = try store.write({ db in
            let box = try db.mailbox(address)
            let device = try Self.find(reference, mailboxID: box.id!, in: db, mailbox: address.description)
            let digest = try db.deviceDigest(id: device.id)
            try db.deleteDevices(ids: [device.id])
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.disconnect",
                                              detail: "\(device.kind == .generic ? "generic password" : "device \"\(device.name)\"") (id \(device.id)) disconnected"))
            return (device, digest)
        }, afterCommit: { [index, lastUse, hooks] (device, digest) in
            let seenAt = Self.seenAt(device, lastUse)
            index.apply([Self.removal((device.id, digest))])
            lastUse.forget([device.id])
            hooks?.enqueue(.device(address: address.description, ips: seenAt))
        })
        logger.info("device disconnected", metadata: ["mailbox": "\(address)", "device": "\(device.0.id)"])
        return device.0
    }

    /// "Disconnect all devices": every device of the mailbox, generic password included. Needs a yes.
    public func disconnectAll(_ address: String, confirmed: Bool, actor: String) throws -> [Device] {
        let address = try MailAddress(address)
        try DeviceRules.checkDisconnectAll(confirmed: confirmed)
        let devices = try store.write({ db in
            let box = try db.mailbox(address)
            let devices = try db.devices(mailboxID: box.id!)
            let digests = try db.deviceDigests(mailboxID: box.id!)
            try db.deleteDevices(ids: devices.map(\.id))
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "device.disconnect_all",
                                              detail: "all \(devices.count) device(s) disconnected"))
            return (devices, digests)
        }, afterCommit: { [index, lastUse, hooks] (devices, digests) in
            index.apply(digests.map(Self.removal))
            lastUse.forget(devices.map(\.id))
            hooks?.enqueue(.mailbox(address: address.description))
        })
        logger.info("all devices disconnected", metadata: ["mailbox": "\(address)", "count": "\(devices.0.count)"])
        return devices.0
    }

    // MARK: attacks

    /// One action-history line per mailbox whose failed logins crossed the report threshold.
    public func recordAttacks(_ reports: [Throttle.AttackReport], window: Duration) {
        for report in reports {
            guard let address = try? MailAddress(report.login) else { continue }
            let ips = report.ips.isEmpty ? "" : " from \(report.ips.joined(separator: ", "))"
            do {
                try store.write { db in
                    guard (try? db.mailbox(address)) != nil else { return }
                    try db.appendHistory(HistoryEntry(mailbox: address.description, actor: "postern", action: "login.throttled",
                        detail: "\(report.failures) failed logins within \(window.components.seconds / 60) min\(ips); further attempts are delayed, then refused"))
                }
                logger.warning("failed logins throttled", metadata: ["mailbox": "\(address)", "failures": "\(report.failures)"])
            } catch {
                logger.error("could not record the attack on \(address): \(error)")
            }
        }
    }

    // MARK: last use

    /// Writes the coalesced last uses; on failure they are kept for the next try.
    public func flushLastUse(everything: Bool = false) {
        let batch = lastUse.drain(everything: everything)
        guard !batch.isEmpty else { return }
        do {
            try store.write { db in try db.recordLastUse(batch) }
        } catch {
            lastUse.restore(batch)
            logger.error("could not write last use of \(batch.count) device(s); will retry: \(error)")
        }
    }
}
