@testable import PosternAuth
import Testing

@Suite struct ExpiringTableTests {
    let t0 = ContinuousClock.now

    @Test func anEntryExpiresItsLifetimeAfterItsLastUpdate() {
        var table = ExpiringTable<String, Int>(capacity: 10, lifetime: .seconds(10))
        table.update("a", now: t0, fresh: 0) { $0 += 1 }
        table.update("a", now: t0 + .seconds(8), fresh: 0) { $0 += 1 }
        #expect(table.value("a", now: t0 + .seconds(17)) == 2)
        #expect(table.value("a", now: t0 + .seconds(19)) == nil)
        table.update("a", now: t0 + .seconds(19), fresh: 0) { $0 += 1 }
        #expect(table.value("a", now: t0 + .seconds(19)) == 1, "an expired entry starts again from fresh")
    }

    @Test func expiryDropsOnlyTheExpiredFromTheOldEnd() {
        var table = ExpiringTable<Int, Int>(capacity: 100, lifetime: .seconds(10))
        for i in 0..<50 { table.update(i, now: t0 + .seconds(i), fresh: 0) { $0 = i } }
        table.update(0, now: t0 + .seconds(50), fresh: 0) { $0 = 100 }  // 0 becomes the newest
        table.expire(now: t0 + .seconds(55))
        #expect(table.count == 6, "45…49 and 0 remain")
        #expect(table.value(0, now: t0 + .seconds(55)) == 100)
        #expect(table.value(39, now: t0 + .seconds(55)) == nil)
    }

    @Test func aFullTableForgetsItsOldestEntry() {
        var table = ExpiringTable<Int, Int>(capacity: 3, lifetime: .seconds(100))
        for i in 0..<3 { table.update(i, now: t0 + .seconds(i), fresh: 0) { $0 = i } }
        table.update(0, now: t0 + .seconds(3), fresh: 0) { $0 = 10 }
        table.update(7, now: t0 + .seconds(4), fresh: 0) { $0 = 7 }
        #expect(table.count == 3 && table.evicted == 1)
        #expect(table.value(1, now: t0 + .seconds(4)) == nil, "1 was the least recently updated")
        #expect(table.value(0, now: t0 + .seconds(4)) == 10 && table.value(2, now: t0 + .seconds(4)) == 2)
    }

    @Test func modifyKeepsTheOrderAndCanRemove() {
        var table = ExpiringTable<String, Int>(capacity: 10, lifetime: .seconds(10))
        table.update("a", now: t0, fresh: 0) { $0 = 5 }
        table.update("b", now: t0 + .seconds(1), fresh: 0) { $0 = 1 }
        table.modify("a", now: t0 + .seconds(2)) { $0 -= 2; return $0 > 0 }
        #expect(table.value("a", now: t0 + .seconds(2)) == 3)
        #expect(table.value("a", now: t0 + .seconds(10.5)) == nil, "modify did not renew it")
        table.modify("b", now: t0 + .seconds(2)) { $0 -= 1; return $0 > 0 }
        #expect(table.value("b", now: t0 + .seconds(2)) == nil && table.count == 1)
    }

    @Test func slotsAreReusedSoChurnDoesNotGrowTheTable() {
        var table = ExpiringTable<Int, Int>(capacity: 4, lifetime: .seconds(1))
        for i in 0..<10_000 { table.update(i, now: t0 + .milliseconds(i * 300), fresh: 0) { $0 += 1 } }
        #expect(table.count <= 4)
    }
}
