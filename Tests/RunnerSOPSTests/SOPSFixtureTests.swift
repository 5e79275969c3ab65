import Foundation
import RunnerCore
import Testing

@testable import RunnerSOPS

/// Parses YAML text with RunnerCore's composer into plain values, for semantic comparison.
func yamlValue(_ bytes: [UInt8]) throws -> RunnerCore.Value? {
    try YAMLParser.parse(bytes, file: "compare.yaml")?.value
}

@Suite("sops fixtures (real sops output)", .enabled(if: fixturesExist, "../shared/fixtures not found beside the clone"))
struct SOPSFixtureTests {
    @Test("decrypts to the expected plaintext", arguments: SOPSManifest.positive)
    func decrypts(fixture: SOPSManifest.Fixture) throws {
        let data = try Fixtures.bytes("sops/" + fixture.file)
        let result = try SOPSFile.decrypt(
            data: data, format: fixture.inputFormat, identities: try fixture.loadIdentities(), outputFormat: fixture.outputFormat)
        if let expected = fixture.expected {
            let want = try Fixtures.bytes("sops/" + expected.file)
            switch expected.compare {
            case "bytes":
                #expect(
                    result.plaintext == want,
                    "got:\n\(String(decoding: result.plaintext, as: UTF8.self))\nwant:\n\(String(decoding: want, as: UTF8.self))")
            case "yaml":
                let got = try yamlValue(result.plaintext)
                #expect(got != nil)
                #expect(got == (try yamlValue(want)), "got:\n\(String(decoding: result.plaintext, as: UTF8.self))")
            case "json":
                let got = try JSON.decode(String(decoding: result.plaintext, as: UTF8.self))
                #expect(got == (try JSON.decode(String(decoding: want, as: UTF8.self))))
            default:
                Issue.record("unknown compare mode \(expected.compare)")
            }
        }
        for assertion in fixture.asserts ?? [] {
            for (suffix, value) in assertion.value.leaves {
                let entry = result.entries.first { $0.path == assertion.path + suffix }
                #expect(entry?.value == value, "\(assertion.path + suffix)")
            }
        }
        let lines = String(decoding: result.plaintext, as: UTF8.self).split(separator: "\n").map(String.init)
        for assertion in fixture.output_line_asserts ?? [] {
            #expect(lines.contains(assertion.line), "missing line \(assertion.line)")
        }
    }

    @Test("tampered and wrong-key files are refused", arguments: SOPSManifest.negative)
    func refuses(fixture: SOPSManifest.Fixture) throws {
        let data = try Fixtures.bytes("sops/" + fixture.file)
        let identities = try fixture.loadIdentities()
        let error = #expect(throws: SOPSError.self) {
            try SOPSFile.decrypt(data: data, format: fixture.inputFormat, identities: identities)
        }
        #expect(error?.exitCode == fixture.expect_error, "\(error?.code.description ?? "no error"): \(error?.message ?? "")")
    }

    @Test("PGP-only files say there is no age identity", arguments: SOPSManifest.pgpOnly)
    func pgpOnly(fixture: SOPSManifest.Fixture) throws {
        let data = try Fixtures.bytes("sops/" + fixture.file)
        // Every age key we have, none of which the file is for.
        let identities = try AgeKeyFile.parse(try Fixtures.text("sops/keys/sops-age-ts-key.txt"))
        let error = #expect(throws: SOPSError.self) {
            try SOPSFile.decrypt(data: data, format: fixture.inputFormat, identities: identities)
        }
        #expect(error?.code == .noMatchingIdentity)
        #expect(error?.exitCode == 128)
        #expect(error?.message.hasPrefix("no age identity for this file") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("PGP") == true)
        // The metadata is still readable.
        let metadata = try SOPSFile.metadata(data: data, format: fixture.inputFormat)
        #expect(metadata.keyGroups.first?.pgp.isEmpty == false)
        #expect(metadata.keyGroups.first?.age.isEmpty == true)
    }

    @Test func manifestCoversEveryFixture() {
        #expect(SOPSManifest.positive.count == 20)
        #expect(SOPSManifest.negative.count == 9)
        #expect(SOPSManifest.pgpOnly.count == 5)
    }
}
