import Testing
@testable import RunnerCore

/// FIPS 180-4 example vectors and the padding boundaries (55, 56 and 64 bytes), checked against
/// coreutils' sha256sum.
@Suite struct SHA256DigestTests {
    @Test func knownVectors() {
        #expect(SHA256Digest.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Digest.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(SHA256Digest.hex(Array(repeating: UInt8(ascii: "0"), count: 55))
            == "9f8ef876f51f5313c91cc3f6b8119af09d8bbdd72098fa149b2780eb3591d6be")
        #expect(SHA256Digest.hex(Array(repeating: UInt8(ascii: "0"), count: 64))
            == "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55")
    }
}
