import Foundation

/// The rules for changing a mailbox's devices, as plain decisions over values.
public enum DeviceRules {
    /// Longest device name accepted.
    public static let maxNameLength = 64
    /// The name shown for a mailbox's generic password in the device list.
    public static let genericName = "generic password"

    /// A device may be rotated ("change password") only if Postern generated its password.
    public static func checkRotate(_ device: Device) throws(PosternError) {
        if device.kind == .generic { throw .genericPasswordCannotBeReset }
    }

    /// Only device passwords have a scope: the generic password keeps working everywhere until disconnected.
    public static func checkScope(_ device: Device) throws(PosternError) {
        if device.kind == .generic {
            throw PosternError(.genericPasswordHasNoScope,
                               "the generic password cannot be limited to some services; add a device password with --scope instead")
        }
    }

    /// An expiry lies in the future: to stop a password now, disconnect its device.
    public static func checkExpiry(_ expiresAt: Date?, now: Date) throws(PosternError) {
        if let expiresAt, expiresAt <= now {
            throw PosternError(.expiryInThePast,
                               "an expiry must be in the future; to stop a password now, disconnect the device")
        }
    }

    /// Only device passwords expire: the generic password is retired by a policy.
    public static func checkExpiryTarget(_ device: Device) throws(PosternError) {
        if device.kind == .generic {
            throw PosternError(.genericPasswordHasNoExpiry,
                               "the generic password does not expire; retire it with `postern policy generic set`")
        }
    }

    /// "Disconnect all devices" is destructive and needs an explicit yes.
    public static func checkDisconnectAll(confirmed: Bool) throws(PosternError) {
        if !confirmed { throw .confirmationRequired }
    }

    /// A device name is what the user will recognise ("iPhone", "Thunderbird at work"): 1 to 64
    /// printable characters (see `Names`), unique within the mailbox, never the generic password's.
    public static func validName(_ raw: String, existing: [Device]) throws(PosternError) -> String {
        let name: String
        do {
            name = try Names.validate(raw, what: "a device name", max: maxNameLength)
        } catch {
            throw PosternError(.invalidDeviceName, error.message)
        }
        guard Names.folded(name) != genericName else {
            throw PosternError(.invalidDeviceName, "\"\(genericName)\" is reserved for the mailbox's imported password")
        }
        if existing.contains(where: { Names.folded($0.name) == Names.folded(name) }) {
            throw PosternError(.deviceExists, "this mailbox already has a device named \"\(name)\"; pick another name or rotate that device")
        }
        return name
    }

    /// Finds a device: `#5090` or `5090` is the id (a name can be neither), anything else the name.
    public static func find(_ reference: String, in devices: [Device], mailbox: String) throws(PosternError) -> Device {
        let (id, name) = parse(reference)
        if let found = devices.first(where: { id != nil ? $0.id == id : $0.name == name }) { return found }
        throw .deviceNotFound(reference, mailbox: mailbox)
    }

    /// A device reference as an id or a name.
    public static func parse(_ reference: String) -> (id: Int64?, name: String?) {
        let digits = reference.hasPrefix("#") ? String(reference.dropFirst()) : reference
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(digits) { return (id, nil) }
        return (nil, reference)
    }

    /// A mailbox holds at most `max` devices: a password per mail client, not per login.
    public static func checkRoom(count: Int, max: Int) throws(PosternError) {
        if count >= max {
            throw PosternError(.tooManyDevices,
                               "this mailbox has \(count) devices, the most allowed (devices.maxPerMailbox); disconnect the ones no longer used")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
