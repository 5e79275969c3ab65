import Foundation
import Testing

@testable import RunnerSOPS

/// Deterministic mutations of the real fixtures (flipped, deleted and inserted bytes, with a bias
/// towards YAML/JSON/dotenv syntax characters): every result either decrypts or throws a
/// `SOPSError` whose message leaks no plaintext; nothing crashes.
@Suite("mutated sops files", .enabled(if: fixturesExist, "../shared/fixtures not found beside the clone"))
struct SOPSMutationTests {
    /// xorshift64*, so failures reproduce.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let syntax = Array("#:-|>'\"\n []{},=\\&*!%@`?\r\t0".utf8)

    @Test("mutations", arguments: SOPSManifest.positive)
    func mutations(fixture: SOPSManifest.Fixture) throws {
        let original = try Fixtures.bytes("sops/" + fixture.file)
        let identities = try fixture.loadIdentities()
        let plain = try SOPSFile.decrypt(data: original, format: fixture.inputFormat, identities: identities)
        // Values that were encrypted (clear `_unencrypted` ones are in the file anyway).
        let source = String(decoding: original, as: UTF8.self)
        let secrets = plain.entries.map(\.value).filter { $0.count >= 6 && !source.contains($0) }
        // FNV-1a of the name: a stable seed (String.hashValue changes per process).
        let seed = fixture.file.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        var random = Generator(state: seed | 1)
        for _ in 0..<250 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                guard !bytes.isEmpty else { break }
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &random)
                case 1: bytes.remove(at: index)
                case 2: bytes.insert(Self.syntax.randomElement(using: &random) ?? 0x20, at: index)
                default: bytes[index] = Self.syntax.randomElement(using: &random) ?? 0x20
                }
            }
            do {
                _ = try SOPSFile.decrypt(data: bytes, format: fixture.inputFormat, identities: identities, outputFormat: fixture.outputFormat)
            } catch {
                let text = error.message
                for secret in secrets { #expect(!text.contains(secret), "\(error.code) leaks a value") }
            }
        }
    }

    /// Mutated plaintexts either fail to load, or encrypt and decrypt back to exactly what the
    /// store writes for them (decrypt(encrypt(x)) == emit(load(x))).
    @Test("plaintext mutations round-trip", arguments: SOPSManifest.positive.filter { $0.expected != nil })
    func plaintextMutations(fixture: SOPSManifest.Fixture) throws {
        let format = fixture.outputFormat
        let original = try Fixtures.bytes("sops/" + (fixture.expected?.file ?? ""))
        let identity = AgeIdentity.generate()
        let encrypter = SOPSEncrypter(recipients: [identity.recipient!])
        let seed = fixture.file.utf8.reduce(UInt64(1_099_511_628_211)) { ($0 ^ UInt64($1)) &* 14_695_981_039_346_656_037 }
        var random = Generator(state: seed | 1)
        for round in 0..<100 {
            var bytes = original
            for _ in 0..<(round == 0 ? 0 : Int.random(in: 1...3, using: &random)) {
                guard !bytes.isEmpty else { break }
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: index)
                case 1: bytes.insert(Self.syntax.randomElement(using: &random) ?? 0x20, at: index)
                default: bytes[index] = Self.syntax.randomElement(using: &random) ?? 0x20
                }
            }
            guard let branches = try? format.load(bytes), let expected = try? format.emit(branches),
                let encrypted = try? encrypter.encrypt(bytes, format: format)
            else { continue }
            do {
                let decrypted = try SOPSFile.decrypt(data: encrypted, format: format, identities: [identity])
                #expect(decrypted.plaintext == expected, "round \(round): \(String(reflecting: String(decoding: bytes, as: UTF8.self)))")
            } catch {
                Issue.record("round \(round): \(error) for \(String(reflecting: String(decoding: bytes, as: UTF8.self))) → \(String(reflecting: String(decoding: encrypted, as: UTF8.self)))")
            }
        }
    }
}
