import Crypto
import Foundation
import Testing

@testable import RunnerSOPS

/// One C2SP/CCTV age test vector: `key: value` lines, a blank line, then the (maybe armored,
/// maybe zlib-compressed) age file.
struct AgeVector {
    var expect = ""
    var payload: String?
    var identities: [String] = []
    var passphrases: [String] = []
    var armored = false
    var compressed = false
    var body: [UInt8] = []

    init(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = String(decoding: bytes[offset..<end], as: UTF8.self)
            offset = end + 1
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "expect": expect = value
            case "payload": payload = value
            case "identity": identities.append(value)
            case "passphrase": passphrases.append(value)
            case "armored": armored = value == "yes"
            case "compressed": compressed = value == "zlib"
            default: break
            }
        }
        body = Array(bytes[min(offset, bytes.count)...])
        if compressed { body = try Inflate.zlib(body) }
    }

    /// Post-quantum vectors: only those with a hybrid identity (name or key).
    var isHybrid: Bool { identities.contains { $0.hasPrefix("AGE-SECRET-KEY-PQ-") } }
}

private let vectorNames: [String] = Fixtures.list("age").filter { $0 != "README.md" }

@Suite("age test vectors (C2SP/CCTV)", .enabled(if: fixturesExist, "../shared/fixtures not found beside the clone"))
struct AgeVectorTests {
    @Test("vector", arguments: vectorNames)
    func vector(name: String) throws {
        let vector = try AgeVector(try Fixtures.bytes("age/" + name))
        guard !name.hasPrefix("hybrid"), !vector.isHybrid else {
            // Post-quantum (ML-KEM-768 + X25519) is not implemented: the identity must be refused clearly.
            for identity in vector.identities where identity.hasPrefix("AGE-SECRET-KEY-PQ-") {
                #expect(throws: SOPSError.self) { try AgeIdentity(identity) }
            }
            return
        }
        let identities = try vector.identities.map { try AgeIdentity($0) } + vector.passphrases.map { AgeIdentity(passphrase: $0) }
        var released: [UInt8] = []
        var failure: SOPSError?
        do {
            try Age.decrypt(vector.body, identities: identities, armored: vector.armored) { released += $0 }
        } catch let error as SOPSError {
            failure = error
        }
        let expected: SOPSError.Code? =
            switch vector.expect {
            case "success": nil
            case "armor failure": .ageArmor
            case "header failure": .ageHeader
            case "no match": .ageNoMatch
            case "HMAC failure": .ageHMAC
            case "payload failure": .agePayload
            default: .invalidRequest  // unknown expectation: make the test fail visibly
            }
        #expect(failure?.code == expected, "expected \(vector.expect), got \(failure.map { "\($0.code): \($0)" } ?? "success")")
        if let payload = vector.payload, expected == nil || expected == .agePayload {
            let digest = Bytes.hex(SHA256.hash(data: released))
            #expect(digest == payload, "released plaintext does not match the payload hash")
        }
    }

    @Test func allNonHybridVectorsArePresent() {
        let nonHybrid = vectorNames.filter { !$0.hasPrefix("hybrid") && $0 != "armor_hybrid" }
        #expect(nonHybrid.count == 124)
    }
}
