import Testing

@testable import Wirestream

@Suite struct UTF8ValidationTests {
    @Test(arguments: [
        ([0x61, 0x62], 2, UTF8Validation.Stop.end),
        ([0x61, 0xC3], 1, .incomplete),  // "a" and the lead of "é"
        ([0xF0, 0x9F, 0x98], 0, .incomplete),  // three of the four bytes of 😀
        ([0xC0, 0x80], 0, .invalid),  // overlong NUL
        ([0xE0, 0x80, 0x80], 0, .invalid),  // overlong
        ([0x61, 0xED, 0xA0, 0x80], 1, .invalid),  // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], 0, .invalid),  // above U+10FFFF
        ([0x61, 0xFF], 1, .invalid),
        ([0xC3, 0x28], 0, .invalid),  // a lead byte without its continuation
        ([0xE6, 0x97, 0xA5, 0xF0, 0x9F, 0x98, 0x80], 7, .end),  // 日 😀
    ] as [([UInt8], Int, UTF8Validation.Stop)])
    func validatesStrictly(_ input: [UInt8], _ validEnd: Int, _ stop: UTF8Validation.Stop) {
        let result = input.withUnsafeBytes { UTF8Validation.validPrefix($0, from: 0, to: input.count) }
        #expect(result.validEnd == validEnd)
        #expect(result.stop == stop)
    }
}
