import PosternCore

/// Generic passwords by mailbox address, packed for a million of them: every address and hash
/// lives in a few 1 MiB byte chunks, each mailbox takes a 24-byte slot, and two maps of 12 bytes
/// an entry find a slot by address (through a keyed 64-bit hash) and by device id. About 200 MB
/// at 1M {SHA512-CRYPT} passwords, where a `[String: GenericCredential]` took 480 MB.
/// Not thread-safe: `CredentialIndex` guards it.
struct GenericTable {
    private struct Slot {
        var deviceID: Int64
        var start: UInt32
        var hashLength: UInt32
        var chunk: UInt16
        var addressLength: UInt8
        /// `Scheme` index × 2 + `Encoding` (0 base64, 1 hex).
        var kind: UInt8
    }

    private let chunkBytes: Int
    private var chunks: [[UInt8]] = []
    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var byKey: [UInt64: Int32] = [:]
    /// Addresses whose key another address already holds: in practice none (the hash is keyed
    /// per process, so nobody can aim for a collision), but an exact answer all the same.
    private var collided: [String: Int32] = [:]
    private var byDevice: [Int64: Int32] = [:]
    /// The few mailboxes whose generic password a policy may retire, by slot.
    private var policies: [Int32: GenericPolicy] = [:]
    /// Bytes of chunks held by removed or replaced entries; chunks are rewritten past a half.
    private var deadBytes = 0
    private var liveBytes = 0
    private(set) var compactions = 0
    /// Bits of the hash kept as the key: 64; tests use 0 to make every address collide.
    private let keyMask: UInt64

    /// `keyBits` and `chunkBytes` other than the defaults are for tests.
    init(keyBits: Int = 64, chunkBytes: Int = 1 << 20) {
        keyMask = keyBits >= 64 ? .max : (1 << UInt64(keyBits)) - 1
        self.chunkBytes = chunkBytes
    }

    var count: Int { byDevice.count }

    mutating func reserve(_ count: Int) {
        slots.reserveCapacity(count)
        byKey.reserveCapacity(count)
        byDevice.reserveCapacity(count)
    }

    func get(_ address: String) -> GenericCredential? {
        find(address).map(credential)
    }

    mutating func set(_ credential: GenericCredential) {
        let address = Array(credential.address.utf8)
        precondition(address.count <= Int(UInt8.max), "addresses are validated to 254 bytes")
        let hash = Array(credential.password.hash.utf8)
        if let slot = find(credential.address) {
            byDevice[slots[Int(slot)].deviceID] = nil
            release(slot)
            slots[Int(slot)] = store(credential, address, hash)
            byDevice[credential.deviceID] = slot
            policies[slot] = credential.policy
            compactIfWasteful()
            return
        }
        let entry = store(credential, address, hash)
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = entry
        } else {
            slot = Int32(slots.count)
            slots.append(entry)
        }
        let hashKey = key(address)
        if byKey[hashKey] == nil { byKey[hashKey] = slot } else { collided[credential.address] = slot }
        byDevice[credential.deviceID] = slot
        policies[slot] = credential.policy
    }

    mutating func setPolicy(_ address: String, _ policy: GenericPolicy?) {
        guard let slot = find(address) else { return }
        policies[slot] = policy
    }

    mutating func remove(deviceID: Int64) {
        guard let slot = byDevice.removeValue(forKey: deviceID) else { return }
        let address = addressBytes(slots[Int(slot)])
        let hashKey = key(address)
        if byKey[hashKey] == slot {
            byKey[hashKey] = nil
            // An address that collided with this one takes its place.
            if let heir = collided.first(where: { key($0.key.utf8) == hashKey }) {
                collided[heir.key] = nil
                byKey[hashKey] = heir.value
            }
        } else {
            collided[String(decoding: address, as: UTF8.self)] = nil
        }
        release(slot)
        policies[slot] = nil
        freeSlots.append(slot)
        compactIfWasteful()
    }

    // MARK: storage

    private func key(_ address: some Collection<UInt8>) -> UInt64 {
        var hasher = Hasher()  // seeded at random per process
        if address.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            Array(address).withUnsafeBytes { hasher.combine(bytes: $0) }  // the same bytes, the same key
        }
        return UInt64(bitPattern: Int64(hasher.finalize())) & keyMask
    }

    private func find(_ address: String) -> Int32? {
        let bytes = address.utf8
        if let slot = byKey[key(bytes)], addressBytes(slots[Int(slot)]).elementsEqual(bytes) { return slot }
        return collided.isEmpty ? nil : collided[address]
    }

    private func addressBytes(_ slot: Slot) -> ArraySlice<UInt8> {
        let start = Int(slot.start)
        return chunks[Int(slot.chunk)][start..<start + Int(slot.addressLength)]
    }

    private func credential(_ slot: Int32) -> GenericCredential {
        let entry = slots[Int(slot)]
        let chunk = chunks[Int(entry.chunk)]
        let start = Int(entry.start), split = start + Int(entry.addressLength)
        let scheme = GenericPassword.Scheme.allCases[Int(entry.kind >> 1)]
        let password = GenericPassword(trusted: scheme, encoding: entry.kind & 1 == 1 ? .hex : .base64,
                                       hash: String(decoding: chunk[split..<split + Int(entry.hashLength)], as: UTF8.self))
        return GenericCredential(deviceID: entry.deviceID, address: String(decoding: chunk[start..<split], as: UTF8.self),
                                 password: password, policy: policies[slot])
    }

    /// Writes an entry's bytes at the end of the last chunk (a new one if they do not fit).
    private mutating func store(_ credential: GenericCredential, _ address: [UInt8], _ hash: [UInt8]) -> Slot {
        let scheme = GenericPassword.Scheme.allCases.firstIndex(of: credential.password.scheme)!
        return store(deviceID: credential.deviceID, kind: UInt8(scheme * 2 + (credential.password.encoding == .hex ? 1 : 0)),
                     address, hash)
    }

    private mutating func store(deviceID: Int64, kind: UInt8, _ address: some Collection<UInt8>, _ hash: some Collection<UInt8>) -> Slot {
        let size = address.count + hash.count
        if chunks.isEmpty || chunks[chunks.count - 1].count + size > chunks[chunks.count - 1].capacity {
            precondition(chunks.count < Int(UInt16.max), "more than 64 GiB of generic passwords")
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Swift.max(chunkBytes, size))
            chunks.append(chunk)
        }
        let index = chunks.count - 1
        let start = chunks[index].count
        chunks[index].append(contentsOf: address)
        chunks[index].append(contentsOf: hash)
        liveBytes += size
        return Slot(deviceID: deviceID, start: UInt32(start), hashLength: UInt32(hash.count), chunk: UInt16(index),
                    addressLength: UInt8(address.count), kind: kind)
    }

    private mutating func release(_ slot: Int32) {
        let size = Int(slots[Int(slot)].addressLength) + Int(slots[Int(slot)].hashLength)
        deadBytes += size
        liveBytes -= size
    }

    private mutating func compactIfWasteful() {
        if deadBytes > chunkBytes * 4, deadBytes > liveBytes { compact() }
    }

    /// Rewrites the chunks with live entries only.
    private mutating func compact() {
        compactions += 1
        let old = chunks
        chunks = []
        deadBytes = 0
        liveBytes = 0
        for slot in byDevice.values {
            let entry = slots[Int(slot)]
            let start = Int(entry.start), split = start + Int(entry.addressLength)
            let chunk = old[Int(entry.chunk)]
            slots[Int(slot)] = store(deviceID: entry.deviceID, kind: entry.kind, chunk[start..<split],
                                     chunk[split..<split + Int(entry.hashLength)])
        }
    }
}
