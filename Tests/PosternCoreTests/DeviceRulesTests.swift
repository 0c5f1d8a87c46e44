import Foundation
import PosternCore
import Testing

@Suite struct DeviceRulesTests {
    let phone = Device(id: 1, name: "iPhone", kind: .device, createdAt: Date())
    let generic = Device(id: 2, name: DeviceRules.genericName, kind: .generic, createdAt: Date())

    @Test func aDevicePasswordCanBeRotated() throws {
        try DeviceRules.checkRotate(phone)
    }

    @Test func theGenericPasswordCannotBeRotatedAndTheErrorSaysWhatToDoInstead() {
        #expect(throws: PosternError.genericPasswordCannotBeReset) { try DeviceRules.checkRotate(generic) }
        #expect(PosternError.genericPasswordCannotBeReset.message.contains("add a device password instead"))
    }

    @Test func disconnectAllNeedsConfirmation() throws {
        #expect(throws: PosternError.confirmationRequired) { try DeviceRules.checkDisconnectAll(confirmed: false) }
        try DeviceRules.checkDisconnectAll(confirmed: true)
    }

    @Test func deviceNamesAreTrimmedUniqueAndNotReserved() throws {
        #expect(try DeviceRules.validName("  Thunderbird at work ", existing: [phone]) == "Thunderbird at work")
        #expect(throws: PosternError.self) { try DeviceRules.validName("iPhone", existing: [phone]) }
        #expect(throws: PosternError.self) { try DeviceRules.validName("   ", existing: []) }
        #expect(throws: PosternError.self) { try DeviceRules.validName(String(repeating: "x", count: 65), existing: []) }
        #expect(throws: PosternError.self) { try DeviceRules.validName("a\u{7}b", existing: []) }
        #expect(throws: PosternError.self) { try DeviceRules.validName(DeviceRules.genericName, existing: []) }
    }

    @Test func devicesAreFoundByNameThenById() throws {
        #expect(try DeviceRules.find("iPhone", in: [phone, generic], mailbox: "a@b.c").id == 1)
        #expect(try DeviceRules.find("2", in: [phone, generic], mailbox: "a@b.c").id == 2)
        #expect(throws: PosternError.self) { try DeviceRules.find("Android", in: [phone], mailbox: "a@b.c") }
    }
}
