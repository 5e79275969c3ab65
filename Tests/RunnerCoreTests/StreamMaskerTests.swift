import Foundation
@testable import RunnerCore
import Synchronization
import Testing

/// Masking holds where output is cut: pieces of a line longer than the streaming limit, and
/// base64 wrapped over lines.
@Suite struct StreamMaskerTests {
    /// Feeds pieces through a `StreamMasker` and returns what it emitted.
    static func emitted(_ secrets: [String], _ pieces: [OutputLine]) -> [OutputLine] {
        let out = Mutex<[OutputLine]>([])
        let stream = StreamMasker(masker: SecretMasker(secrets)) { line in out.withLock { $0.append(line) } }
        for piece in pieces { stream.accept(piece) }
        stream.finish()
        return out.withLock { $0 }
    }

    /// The logical lines of a stream: pieces that continue joined to what follows.
    static func lines(_ emitted: [OutputLine], _ stream: RunnerCore.OutputStream = .stdout) -> [String] {
        var lines: [String] = [], current = ""
        for line in emitted where line.stream == stream {
            current += line.text
            if !line.continues { lines.append(current); current = "" }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// The issue's case: the 64 KiB line limit cuts the secret in two.
    @Test func secretCutByTheLineLimit() {
        let secret = "tok-9f8e7d6c5b4a"
        let head = String(repeating: "a", count: 65536 - 6)
        let pieces = [OutputLine(.stdout, head + String(secret.prefix(6)), continues: true),
                      OutputLine(.stdout, String(secret.dropFirst(6)) + " tail")]
        let out = Self.emitted([secret], pieces)
        #expect(!out.contains { $0.text.contains("tok-9f") || $0.text.contains("7d6c5b4a") })
        let lines = Self.lines(out)
        #expect(lines.count == 1)
        #expect(lines.first?.count == head.count + 8)
        #expect(lines.first?.suffix(20) == "aaaaaaaaaaaa*** tail")
        #expect(lines.first.map { $0 == head + "*** tail" } == true)
        // Most of the first piece goes out at once; only the end that could start a secret waits.
        #expect(out.first?.continues == true && (out.first?.text.count ?? 0) > 65000)
    }

    /// A secret over three short pieces, a JSON-escaped one cut inside an escape, a base64 form
    /// cut, and pieces of stdout and stderr interleaved.
    @Test func otherCuts() {
        let secret = #"pa"ss\wörd-9f8e"#
        let cases: [[OutputLine]] = [
            [OutputLine(.stdout, "x pa\"s", continues: true), OutputLine(.stdout, "s\\wö", continues: true),
             OutputLine(.stdout, "rd-9f8e y")],
            [OutputLine(.stdout, #"{"pw":"pa\"ss\\w\u00"#, continues: true), OutputLine(.stdout, #"f6rd-9f8e"}"#)],
            [OutputLine(.stdout, "b64 " + String(Data(secret.utf8).base64EncodedString().prefix(9)), continues: true),
             OutputLine(.stderr, "unrelated"),
             OutputLine(.stdout, String(Data(secret.utf8).base64EncodedString().dropFirst(9)) + " end")],
        ]
        for pieces in cases {
            let out = Self.emitted([secret], pieces)
            let text = Self.lines(out).joined(separator: "\n")
            #expect(text.contains("***"), "\(text)")
            #expect(!text.contains("ss\\w") && !text.contains("9f8e") && !text.contains("cGEi"), "\(text)")
            #expect(Self.lines(out).count == 1)
        }
    }

    /// Wrapped base64 from a command (`base64` at 76, `openssl base64` at 64): every line that
    /// holds a piece of the form is masked there, and each line stays a line.
    @Test func wrappedBase64Lines() {
        let secret = "correct-horse-battery-staple-42"
        let encoded = Data((String(repeating: "p", count: 40) + secret + String(repeating: "s", count: 40)).utf8).base64EncodedString()
        for width in [64, 76] {
            let input = ["-----BEGIN DATA-----"] + stride(from: 0, to: encoded.count, by: width).map { start in
                String(encoded.dropFirst(start).prefix(width))
            } + ["-----END DATA-----"]
            let out = Self.emitted([secret], input.map { OutputLine(.stdout, $0) })
            #expect(out.count == input.count)
            #expect(out.allSatisfy { !$0.continues })
            #expect(out.filter { $0.text.contains("***") }.count == 2, "\(out.map(\.text))")
            let joined = out.map(\.text).joined()
            for form in SecretForms.embeddedBase64(Array(secret.utf8)) { #expect(!joined.contains(form)) }
            #expect(out.first?.text == "-----BEGIN DATA-----" && out.last?.text == "-----END DATA-----")
        }
    }

    /// Text without secrets passes unchanged, in order, piece structure kept.
    @Test func plainOutputPassesThrough() {
        let pieces = [OutputLine(.stdout, "one"), OutputLine(.stderr, "two"), OutputLine(.stdout, "aGVsbG8gd29ybGQgaGVsbG8", continues: false),
                      OutputLine(.stdout, "three")]
        let out = Self.emitted(["some-long-secret"], pieces)
        #expect(Self.lines(out) == ["one", "aGVsbG8gd29ybGQgaGVsbG8", "three"])
        #expect(Self.lines(out, .stderr) == ["two"])
    }
}
