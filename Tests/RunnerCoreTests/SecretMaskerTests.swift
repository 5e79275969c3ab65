import Foundation
@testable import RunnerCore
import Testing

/// The forms a secret takes in output, one class per test (issue 10, item 7).
@Suite struct SecretMaskerTests {
    static let quoted = #"pa"ss\wörd-9f8e"#

    /// A secret with `"`, `\` and non-ASCII, as JSON encoders print it: escaped quotes and
    /// backslashes, the `ö` raw (JavaScript, jq), as `\u00f6` (Python) or `\u00F6` (Jackson).
    @Test func jsonEscapedForms() {
        let masker = SecretMasker([Self.quoted])
        for printed in [#""pa\"ss\\wörd-9f8e""#, #""pa\"ss\\w\u00f6rd-9f8e""#, #""pa\"ss\\w\u00F6rd-9f8e""#,
                        #""pa\u0022ss\u005cw\u00f6rd-9f8e""#] {
            #expect(masker.mask(#"{"pw":\#(printed)}"#) == #"{"pw":"***"}"#, "\(printed)")
        }
        // JSON inside a JSON string (kubectl's last-applied-configuration, a body logged as a string).
        #expect(masker.mask(#"{"body":"{\"pw\":\"pa\\\"ss\\\\w\\u00f6rd-9f8e\"}"}"#) == #"{"body":"{\"pw\":\"***\"}"}"#)
    }

    /// Other characters JSON escapes: control characters (short and `\u` forms), `/` as `\/`
    /// (PHP), `<>&` as `\u003c`… (Go), characters beyond U+FFFF as surrogate pairs.
    @Test func otherJSONEscapes() {
        let masker = SecretMasker(["tab\there/<&>\u{1F511}-key"])
        #expect(masker.mask(#""tab\there\/<&>\ud83d\udd11-key""#) == #""***""#)
        #expect(masker.mask(#""tab\u0009here/\u003c\u0026\u003e\uD83D\uDD11-key""#) == #""***""#)
        #expect(masker.mask("\"tab\there/<&>\u{1F511}-key\"") == #""***""#)
        // The JSON lines sink encodes the masked text, never the secret.
        #expect(JSON.encode(.string(masker.mask("x tab\there/<&>\u{1F511}-key y"))) == #""x *** y""#)
    }

    /// `printf 'user:%s' "$PW" | base64`: the secret's base64 inside a longer encoded input, at
    /// each of the three byte alignments, in both alphabets, with and without padding.
    @Test func base64WithDataAroundIt() {
        let secret = "correct-horse-battery"
        let masker = SecretMasker([secret])
        let basic = Data("user:\(secret)".utf8).base64EncodedString()
        let header = masker.mask("Authorization: Basic \(basic)")
        // "user:" is five bytes: six characters depend on it alone, one on both, the rest is masked.
        #expect(header == "Authorization: Basic \(basic.prefix(7))***", "\(header)")
        let inner = SecretForms.embeddedBase64(Array(secret.utf8))
        for prefix in ["", "a", "ab", "abc", "user:"] {
            for suffix in ["", "\n", "x", "yz!"] {
                let encoded = Data((prefix + secret + suffix).utf8).base64EncodedString()
                for text in [encoded, SecretForms.urlAlphabet(encoded), encoded.replacingOccurrences(of: "=", with: "")] {
                    let masked = masker.mask(text)
                    #expect(masked.contains("***"), "\(prefix)|\(suffix): \(text)")
                    for form in inner + inner.map(SecretForms.urlAlphabet) { #expect(!masked.contains(form)) }
                    // Only the few characters shared with the neighbouring bytes stay.
                    #expect(masked.count <= 3 + 3 + (prefix.count + suffix.count) * 4 / 3 + 3, "\(masked)")
                }
            }
        }
    }

    /// A JWT carries base64url segments without padding: the unpadded form must be registered
    /// (without it, a character or two of the segment's end would still show).
    @Test func unpaddedBase64AndBase64URL() {
        let secret = "k>>>???~~~secret"   // its base64 has `+`, `/` and padding
        let standard = Data(secret.utf8).base64EncodedString()
        #expect(standard.contains("=") && standard.contains("+") && standard.contains("/"))
        let segment = SecretForms.urlAlphabet(standard.replacingOccurrences(of: "=", with: ""))
        let masker = SecretMasker([secret])
        #expect(masker.mask("eyJhbGciOiJub25lIn0.\(segment).c2ln") == "eyJhbGciOiJub25lIn0.***.c2ln")
        #expect(masker.mask("k=\(standard.replacingOccurrences(of: "=", with: "")) ") == "k=*** ")
        #expect(masker.mask("k=\(standard)") == "k=***")
    }

    /// `base64` wraps at 76 characters, PEM and `openssl base64` at 64: a form split over lines
    /// is masked on each line, and the lines stay.
    @Test func wrappedBase64InMultiLineText() {
        let secret = "correct-horse-battery-staple-42"
        let masker = SecretMasker([secret])
        let encoded = Data((String(repeating: "p", count: 40) + secret + String(repeating: "s", count: 40)).utf8).base64EncodedString()
        for width in [64, 76] {
            let lines = stride(from: 0, to: encoded.count, by: width).map { start in
                String(encoded.dropFirst(start).prefix(width))
            }
            let masked = masker.mask(lines.joined(separator: "\n"))
            #expect(masked.split(separator: "\n").count == lines.count)
            #expect(masked.split(separator: "\n").filter { $0.contains("***") }.count >= 2, "\(masked)")
            let joined = masked.replacingOccurrences(of: "\n", with: "")
            for form in SecretForms.embeddedBase64(Array(secret.utf8)) { #expect(!joined.contains(form)) }
            // JSON-encoded PEM (a service-account key file): `\n` escapes between the lines.
            #expect(!masker.mask(lines.joined(separator: "\\n")).replacingOccurrences(of: "\\n", with: "").contains(
                SecretForms.embeddedBase64(Array(secret.utf8))[1]))
        }
    }

    /// Short values are masked only where they stand alone: a decrypted `7` must not turn the
    /// step id `d7` into `d***`, yet `PIN=7` still hides it.
    @Test func shortValuesOnlyAsWholeTokens() {
        let masker = SecretMasker(["7", "hunt2r"])
        #expect(masker.mask("step d7 took 17s") == "step d7 took 17s")
        #expect(masker.mask("PIN=7 exit 7") == "PIN=*** exit ***")
        #expect(masker.mask(#"{"pin":7,"pw":"hunt2r"}"#) == #"{"pin":***,"pw":"***"}"#)
        #expect(masker.mask("xhunt2r hunt2r_1") == "xhunt2r hunt2r_1")
        #expect(masker.mask(.int(7)) == .string("***"))
        #expect(masker.mask(.int(17)) == .int(17))
        // From eight characters on, a value is masked wherever it appears, inside words too.
        let long = SecretMasker(["hunter22"])
        #expect(long.mask("xhunter22y") == "x***y")
    }

    /// A secret used as a map key (`return { [secrets.x] = 1 }`) is masked like a value.
    @Test func mapKeys() {
        let masker = SecretMasker(["key-secret-1", "key-secret-2"])
        let masked = masker.mask(["key-secret-1": .int(1), "key-secret-2": .int(2), "plain": .map(["key-secret-1": "v"])])
        #expect(Set(masked.keys) == ["***", "***#2", "plain"])
        #expect(masked["plain"] == .map(["***": "v"]))
        #expect(!JSON.encode(.map(masked)).contains("key-secret"))
    }

    @Test func urlEncodedForms() {
        let masker = SecretMasker(["s3cr3t/pass+word"])
        #expect(masker.mask("url s3cr3t%2Fpass%2Bword") == "url ***")
        #expect(masker.mask("b64 \(Data("s3cr3t/pass+word".utf8).base64EncodedString())") == "b64 ***")
    }
}
