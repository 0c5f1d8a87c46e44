import Foundation
import PosternCore
import Testing

@Suite struct NamesTests {
    @Test(arguments: [
        "nul\u{0}byte", "esc\u{1B}[31mred", "bell\u{7}", "bidi\u{202E}txt.exe", "zero\u{200B}width", "joiner\u{200D}",
        "bom\u{FEFF}", "line\u{2028}separator", "#5090", "5090", "", "   ", String(repeating: "x", count: 129),
    ])
    func controlFormatAndIdLikeNamesAreRefused(name: String) {
        #expect(throws: PosternError.self) { try Names.validate(name, what: "a name") }
    }

    @Test(arguments: ["Example Ltd", "Zürich GmbH", "東京", "iPhone 15", "Work – laptop", "R2-D2"])
    func ordinaryNamesPass(name: String) throws {
        #expect(try Names.validate("  \(name) ", what: "a name") == name)
    }

    @Test func theGenericPasswordsNameCannotBeTakenInAnyCase() {
        for name in ["generic password", "GENERIC PASSWORD", "Generic Password", "ｇｅｎｅｒｉｃ ｐａｓｓｗｏｒｄ"] {
            #expect(throws: PosternError.self) { try DeviceRules.validName(name, existing: []) }
        }
    }

    @Test func idsAndNamesAreReferredToUnambiguously() throws {
        let devices = [Device(id: 5090, name: "phone", kind: .device, createdAt: Date()), Device(id: 7, name: "laptop", kind: .device, createdAt: Date())]
        #expect(try DeviceRules.find("#5090", in: devices, mailbox: "a@b.c").name == "phone")
        #expect(try DeviceRules.find("5090", in: devices, mailbox: "a@b.c").name == "phone")
        #expect(try DeviceRules.find("laptop", in: devices, mailbox: "a@b.c").id == 7)
        #expect(throws: PosternError.self) { try DeviceRules.find("#laptop", in: devices, mailbox: "a@b.c") }
        #expect(throws: PosternError.self) { try DeviceRules.validName("Laptop", existing: devices) }
    }
}
