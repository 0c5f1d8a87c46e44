import PosternCore
import Testing

@Suite struct DevicePasswordTests {
    @Test func hasAtLeast100BitsOfEntropy() {
        #expect(DevicePassword.entropyBits >= 100)
    }

    @Test func isFourGroupsOfSixFromAnAlphabetWithoutLookAlikes() {
        for _ in 0..<200 {
            let secret = DevicePassword.generate()
            let groups = secret.split(separator: "-")
            #expect(groups.count == 4)
            #expect(groups.allSatisfy { $0.count == 6 })
            for c in secret.utf8 where c != UInt8(ascii: "-") {
                #expect(DevicePassword.alphabet.contains(c))
            }
        }
        for lookAlike in "0o1li".utf8 { #expect(!DevicePassword.alphabet.contains(lookAlike)) }
        #expect(Set(DevicePassword.alphabet).count == DevicePassword.alphabet.count)
    }

    @Test func secretsDoNotRepeat() {
        let secrets = (0..<2000).map { _ in DevicePassword.generate() }
        #expect(Set(secrets).count == secrets.count)
    }

    @Test func everySymbolIsUsed() {
        var seen = Set<UInt8>()
        for _ in 0..<500 { seen.formUnion(DevicePassword.generate().utf8) }
        seen.remove(UInt8(ascii: "-"))
        #expect(seen == Set(DevicePassword.alphabet))
    }

    @Test func separatorsAndCaseDoNotChangeTheCanonicalForm() {
        let canonical = DevicePassword.canonicalBytes("k7mbqz-4hx2wd-rn9tpe-3vjcfa")
        #expect(canonical == Array("k7mbqz4hx2wdrn9tpe3vjcfa".utf8))
        #expect(DevicePassword.canonicalBytes("K7mbqz 4hx2wd rn9tpe 3vjcfa") == canonical)
        #expect(DevicePassword.canonicalBytes("k7mbqz4hx2wdrn9tpe3vjcfa") == canonical)
        #expect(DevicePassword.canonicalBytes("k7mbqz-4hx2wd-rn9tpe-3vjcfb") != canonical)
    }
}
