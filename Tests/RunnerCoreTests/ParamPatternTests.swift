import Foundation
import RunnerCore
import Testing

/// Param `pattern:`: the documented syntax, the same answers as a regular regex engine on it,
/// and time linear in the value for every pattern.
@Suite(.timeLimit(.minutes(1))) struct ParamPatternTests {
    /// Patterns and values on which ParamPattern and Swift's Regex must agree.
    static let patterns = [
        "^[a-z][a-z0-9-]*$", "^[a-z]+$", "^t", "a", "^$", "^v\\d+\\.\\d+\\.\\d+$", "^[A-Za-z0-9_.-]{1,64}$", "^(main|release/.+)$",
        "^(?:dev|staging|prod)$", "^\\w+$", "^\\S+@\\S+$", "^[^/]+$", "^a{2,3}$", "^a{2,}$", "^a{2}$", "ab?c", "^(ab)*$",
        "^[[:alpha:]][[:alnum:]]*$", "^[\\d-]+$", "[.]", "\\.", "^a|b$", "x*", "^(a|b)+c?$", "^[a-]+$",
        "^\\$\\{", "^.{3}$", "^(a+)+$", "^(a*)*b", "^[0-9a-f]{7,40}$", "^-?[0-9]+$", "^\\s*$", "^[\\w.-]+$", "colou?r", "^a+?$",
    ]
    static let values = [
        "", "a", "phone", "my-app", "My-App", "1app", "t", "token", "v1.2.3", "v1.2", "main", "release/1.0", "release/", "dev", "prod",
        "a_b", "a b", "x@y", "@", "a/b", "aa", "aaa", "aaaa", "ac", "abc", "abab", "abc1", "12-34", ".", "${x}", "ab!", "deadbeef", "-12",
        "  ", "color", "colour", "]a]", "a-", "aaaaaaa!", "b", "ccc",
    ]

    @Test func agreesWithSwiftRegexOnTheCommonSyntax() throws {
        for source in Self.patterns {
            let pattern = try ParamPattern(source)
            let regex = try Regex(source)
            for value in Self.values {
                let expected = try regex.firstMatch(in: value) != nil
                #expect(pattern.matches(value) == expected, "'\(source)' on '\(value)'")
            }
        }
    }

    /// POSIX's `]` first in a set, which Swift's Regex does not take.
    @Test func aClosingBracketFirstInASetIsLiteral() throws {
        #expect(try ParamPattern("^[]a]+$").matches("]a]"))
        #expect(try !ParamPattern("^[]a]+$").matches("]b"))
        #expect(try ParamPattern("^[^]a]+$").matches("bcd"))
        #expect(try !ParamPattern("^[^]a]+$").matches("b]"))
    }

    @Test func everyPatternInPipelinesAndDocsCompiles() throws {
        let root = DocsExamplesTests.root
        var found = 0
        for dir in ["pipelines", "docs", "docs/plugins"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + dir)) ?? [] {
                guard let text = try? String(contentsOfFile: root + "/" + dir + "/" + name, encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") {
                    guard let range = line.range(of: "pattern: '") else { continue }
                    let source = line[range.upperBound...].prefix { $0 != "'" }
                    _ = try ParamPattern(String(source))
                    found += 1
                }
            }
        }
        #expect(found >= 5)
    }

    /// Patterns that take a backtracking engine exponential time answer at once.
    @Test(arguments: ["^(a+)+$", "^(a|a)*$", "^(a*)*$", "^(a|aa)+$", "(.*a){20}$", "^(\\w+\\s?)+$", "^([a-z]+-?)*[a-z]+$"])
    func catastrophicPatternsAreLinear(source: String) throws {
        let pattern = try ParamPattern(source)
        #expect(!pattern.matches(String(repeating: "a", count: 20) + "!"))
        #expect(!pattern.matches(String(repeating: "a", count: 30_000) + "!"))
        #expect(pattern.matches(String(repeating: "a", count: 30)))
    }

    @Test func aValueOverTheLimitDoesNotMatch() throws {
        let pattern = try ParamPattern("^a*$")
        #expect(pattern.matches(String(repeating: "a", count: ParamPattern.maxValueLength)))
        #expect(!pattern.matches(String(repeating: "a", count: ParamPattern.maxValueLength + 1)))
    }

    @Test(arguments: [
        ("(a)\\1", "back-references"), ("(?=a)", "not supported"), ("(?<n>a)", "not supported"), ("(?i)a", "not supported"),
        ("a{1001}", "over 1000"), ("(a{1000}){3}", "too large"), ("[", "missing ']'"), ("(", "missing ')'"), (")", "unmatched ')'"),
        ("*a", "nothing to repeat"), ("a**", "two quantifiers"), ("\\bword", "word boundaries"), ("[z-a]", "below its start"),
        ("\\p{L}", "not supported"), ("a{2,1}", "below its minimum"), ("a{x}", "not a repetition"), ("[[:word:]]", "unknown class"),
        ("abc\\", "ends with"),
    ])
    func unsupportedPatternsAreRefused(source: String, reason: String) {
        do {
            _ = try ParamPattern(source)
            Issue.record("'\(source)' was accepted")
        } catch {
            #expect(error.description.contains(reason), "'\(source)': \(error)")
        }
    }

    @Test func theLoaderReportsAnInvalidPatternAtItsPosition() {
        let all = Harness.diagnostics("params:\n  n: { pattern: '^(a)\\1$' }\nsteps:\n  - run: true\n")
        #expect(all.count == 1)
        #expect(all.first?.location?.line == 2)
        #expect(all.first?.location?.column == 17)
        #expect(all.first?.message.contains("back-references") == true, "\(all)")
    }

    @Test func theResolverRefusesACatastrophicValueQuickly() throws {
        let dir = TempDir()
        let path = dir.write("p.yml", "params:\n  app: { pattern: '^(a+)+$' }\nsteps:\n  - run: true\n")
        let pipeline = try Harness.loader().load(path: path)
        for value in [String(repeating: "a", count: 20) + "!", String(repeating: "a", count: 24) + "!"] {
            #expect(throws: InvalidInput.self) { try ParamResolver.resolve(["app": .string(value)], for: pipeline) }
        }
        #expect(try ParamResolver.resolve(["app": "aaaa"], for: pipeline)["app"] == "aaaa")
    }
}
