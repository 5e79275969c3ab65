import Foundation
import Testing

/// Whatever a param or a file holds, the commands that print it (plan, dry-run, errors) never send
/// a raw escape sequence to the terminal: a webhook payload must not be able to clear an
/// operator's screen or rewrite what they read.
@Suite(.serialized) struct TerminalEscapeCLITests {
    static let esc = "p\u{1B}[2Jq\u{1B}]0;title\u{07}\u{202E}r"

    func cli() -> CLI {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              v: { default: x }
              n: { default: "1", pattern: '^[0-9]+$' }
            steps:
              - run: echo ${{ params.v }}
            """)
        return cli
    }

    func expectNoRawEscapes(_ text: String, _ what: String) {
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" || $0 == "\u{202E}" }, "\(what): \(text.debugDescription)")
    }

    @Test func planAndDryRunShowParamsEscaped() throws {
        let cli = cli()
        for args in [["plan", "p.yml", "v=\(Self.esc)"], ["run", "p.yml", "--dry-run", "v=\(Self.esc)"]] {
            let result = try cli.run(args)
            #expect(result.status == 0, "\(result.stderr)")
            expectNoRawEscapes(result.stdout + result.stderr, args[0])
            #expect(result.stdout.contains("p\\x1b[2Jq"), "\(result.stdout)")
        }
    }

    @Test func errorsShowWhatWasTypedEscaped() throws {
        let cli = cli()
        for args in [["run", "p.yml", "\(Self.esc)=1"], ["run", "p.yml", "n=\(Self.esc)"], ["run", "nope\(Self.esc)"],
                     ["plan", "p.yml", "--\(Self.esc)"]] {
            let result = try cli.run(args)
            #expect(result.status == 2, "\(args): \(result.stderr)")
            expectNoRawEscapes(result.stdout + result.stderr, "\(args)")
            #expect(result.stderr.contains("\\x1b"), "\(args): \(result.stderr)")
        }
        cli.write("bad.yml", "steps:\n  - run: echo\n    \(Self.esc): 1\n")
        let validate = try cli.run("validate", "bad.yml")
        #expect(validate.status == 2)
        expectNoRawEscapes(validate.stdout + validate.stderr, "validate")
    }
}
