import Foundation
import Testing

@testable import RunnerSOPS

/// Re-encrypting a real sops file with its own data key, reusing each value's IV (what
/// `sops edit` does for unchanged values), must give sops' ciphertexts and MAC bit for bit, and
/// the emitted file must match sops' layout: the data part always, the whole file when it was
/// written by a sops version whose metadata layout we write (sorted: dotenv ≥ 3.8, YAML/JSON ≥ 3.13).
@Suite("re-encryption reproduces sops' bytes", .enabled(if: fixturesExist, "../shared/fixtures not found beside the clone"))
struct SOPSReencryptTests {
    @Test("values, MAC and layout", arguments: SOPSManifest.positive)
    func reencrypt(fixture: SOPSManifest.Fixture) throws {
        let format = fixture.inputFormat
        let original = try Fixtures.bytes("sops/" + fixture.file)
        var (branches, metadata) = try format.loadEncrypted(original)
        let key = try SOPSDataKey.recover(metadata, identities: try fixture.loadIdentities())
        let crypto = SOPSTreeCrypto(
            matcher: try SOPSCryptMatcher(metadata.effectiveRule), macOnlyEncrypted: metadata.macOnlyEncrypted, key: key,
            stash: SOPSIVStash())
        let mac = try crypto.decrypt(&branches)
        var again = branches
        #expect(try crypto.encrypt(&again) == mac)

        let storedMAC = try #require(SOPSEncryptedValue.parse(metadata.mac))
        let aad = try #require(SOPSTimestamp.parse(metadata.lastModified))
        #expect(try SOPSCipher.seal(Array(mac.utf8), key: key, iv: storedMAC.iv, aad: aad, type: "str").text == metadata.mac)

        let source = String(decoding: original, as: UTF8.self)
        let emitted = String(decoding: try format.emitEncrypted(again, metadata: metadata, style: style(of: source)), as: UTF8.self)
        #expect(dataPart(emitted, format) == dataPart(source, format), "data part differs:\n\(dataPart(emitted, format))")
        if writesCurrentLayout(metadata.version, format) {
            #expect(emitted == source, "whole file differs:\n\(emitted)")
        }
    }

    /// The indentation the file was written with (some were written with `stores.*.indent: 2`).
    private func style(of text: String) -> SOPSOutputStyle {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(" ") || $0.hasPrefix("\t") }) else { return .default }
        if line.hasPrefix("\t") { return .default }
        let spaces = line.prefix { $0 == " " }.count
        return SOPSOutputStyle(yamlIndent: spaces, jsonIndent: spaces)
    }

    /// The file without its metadata lines / section.
    private func dataPart(_ text: String, _ format: SOPSFormat) -> String {
        switch format {
        case .dotenv:
            return text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("sops_") }.joined(separator: "\n")
        case .yaml:
            return text.components(separatedBy: "\nsops:\n").first ?? text
        case .json, .binary:
            return text.components(separatedBy: "\"sops\": {").first ?? text
        }
    }

    private func writesCurrentLayout(_ version: String, _ format: SOPSFormat) -> Bool {
        let parts = version.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return false }
        let minor = parts[0] * 100 + parts[1]
        return format == .dotenv ? minor >= 308 : minor >= 313
    }
}
