/// A bounded map whose entries expire a fixed time after their last update, with every operation
/// in constant time: entries sit in a list ordered by last update, so the expired ones are always
/// at its old end, and a full table makes room by dropping its oldest entry. No sweep ever scans it.
struct ExpiringTable<Key: Hashable, Value> {
    typealias Instant = ContinuousClock.Instant

    private struct Slot {
        var key: Key
        var value: Value
        var updated: Instant
        var newer: Int32 = -1
        var older: Int32 = -1
    }

    let capacity: Int
    let lifetime: Duration
    private var slots: [Slot] = []
    private var free: [Int32] = []
    private var index: [Key: Int32] = [:]
    private var newest: Int32 = -1
    private var oldest: Int32 = -1
    /// Entries dropped to make room before they expired.
    private(set) var evicted = 0

    init(capacity: Int, lifetime: Duration) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.lifetime = lifetime
    }

    var count: Int { index.count }

    /// The live value of `key`, nil when absent or expired.
    func value(_ key: Key, now: Instant) -> Value? {
        guard let i = index[key] else { return nil }
        let slot = slots[Int(i)]
        return now - slot.updated > lifetime ? nil : slot.value
    }

    /// Updates `key` (starting from `fresh` when absent or expired) and makes it the newest entry.
    @discardableResult
    mutating func update(_ key: Key, now: Instant, fresh: @autoclosure () -> Value, _ change: (inout Value) -> Void) -> Value {
        expire(now: now)
        if let i = index[key] {
            unlink(i)
            change(&slots[Int(i)].value)
            slots[Int(i)].updated = now
            link(i)
            return slots[Int(i)].value
        }
        if index.count >= capacity, oldest >= 0 {
            remove(at: oldest)
            evicted += 1
        }
        var value = fresh()
        change(&value)
        let slot = Slot(key: key, value: value, updated: now)
        let i: Int32
        if let reused = free.popLast() {
            i = reused
            slots[Int(i)] = slot
        } else {
            i = Int32(slots.count)
            slots.append(slot)
        }
        index[key] = i
        link(i)
        return value
    }

    /// Changes a live entry in place without making it newer; `change` returning false removes it.
    mutating func modify(_ key: Key, now: Instant, _ change: (inout Value) -> Bool) {
        guard let i = index[key] else { return }
        if now - slots[Int(i)].updated > lifetime || !change(&slots[Int(i)].value) { remove(at: i) }
    }

    mutating func remove(_ key: Key) {
        if let i = index[key] { remove(at: i) }
    }

    /// Drops the entries not updated within the lifetime: only those, from the old end.
    mutating func expire(now: Instant) {
        while oldest >= 0, now - slots[Int(oldest)].updated > lifetime { remove(at: oldest) }
    }

    private mutating func remove(at i: Int32) {
        unlink(i)
        index[slots[Int(i)].key] = nil
        free.append(i)
    }

    private mutating func link(_ i: Int32) {
        slots[Int(i)].older = newest
        slots[Int(i)].newer = -1
        if newest >= 0 { slots[Int(newest)].newer = i }
        newest = i
        if oldest < 0 { oldest = i }
    }

    private mutating func unlink(_ i: Int32) {
        let s = slots[Int(i)]
        if s.newer >= 0 { slots[Int(s.newer)].older = s.older } else { newest = s.older }
        if s.older >= 0 { slots[Int(s.older)].newer = s.newer } else { oldest = s.newer }
    }
}
