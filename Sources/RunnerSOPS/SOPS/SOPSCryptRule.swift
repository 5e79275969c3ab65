/// Which leaves of a file are encrypted (sops allows at most one rule per file).
///
/// Each rule looks at every component of a leaf's path, not only its own key: with the default
/// `.unencryptedSuffix("_unencrypted")`, everything below `config_unencrypted:` stays in clear.
/// Regexes are Go RE2 patterns in sops; here they are compiled as Swift regexes, which agree on
/// the usual syntax (`^(data|stringData)$`, classes, alternation, `(?i)`).
public enum SOPSCryptRule: Sendable, Hashable {
    case unencryptedSuffix(String)
    case encryptedSuffix(String)
    case unencryptedRegex(String)
    case encryptedRegex(String)
    case unencryptedCommentRegex(String)
    case encryptedCommentRegex(String)

    /// sops' default when a file names no rule.
    public static let `default` = SOPSCryptRule.unencryptedSuffix("_unencrypted")

    /// The metadata key and value that store this rule.
    var metadataField: (key: String, value: String) {
        switch self {
        case .unencryptedSuffix(let v): ("unencrypted_suffix", v)
        case .encryptedSuffix(let v): ("encrypted_suffix", v)
        case .unencryptedRegex(let v): ("unencrypted_regex", v)
        case .encryptedRegex(let v): ("encrypted_regex", v)
        case .unencryptedCommentRegex(let v): ("unencrypted_comment_regex", v)
        case .encryptedCommentRegex(let v): ("encrypted_comment_regex", v)
        }
    }

    static let metadataKeys = [
        "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
        "unencrypted_comment_regex", "encrypted_comment_regex",
    ]

    init?(metadataKey key: String, value: String) {
        switch key {
        case "unencrypted_suffix": self = .unencryptedSuffix(value)
        case "encrypted_suffix": self = .encryptedSuffix(value)
        case "unencrypted_regex": self = .unencryptedRegex(value)
        case "encrypted_regex": self = .encryptedRegex(value)
        case "unencrypted_comment_regex": self = .unencryptedCommentRegex(value)
        case "encrypted_comment_regex": self = .encryptedCommentRegex(value)
        default: return nil
        }
    }
}

/// A rule ready to apply: regexes compiled once.
struct SOPSCryptMatcher {
    let rule: SOPSCryptRule?
    private let regex: Regex<AnyRegexOutput>?

    init(_ rule: SOPSCryptRule?) throws(SOPSError) {
        // A rule with an empty value is no rule at all (sops only counts non-empty ones).
        let rule = rule.flatMap { $0.metadataField.value.isEmpty ? nil : $0 }
        self.rule = rule
        switch rule {
        case .unencryptedRegex(let p), .encryptedRegex(let p), .unencryptedCommentRegex(let p), .encryptedCommentRegex(let p):
            // Go's RE2 runs in linear time; a backtracking engine does not. The pattern comes from
            // the file, so refuse the shapes that backtrack exponentially.
            guard !Self.hasNestedRepetition(p) else {
                throw SOPSError.invalidFile("the crypt rule regex '\(p)' repeats a repeated group, which is not supported")
            }
            do {
                regex = try Regex(p).matchingSemantics(.unicodeScalar)
            } catch {
                throw SOPSError.invalidFile("the crypt rule regex '\(p)' does not compile")
            }
        default:
            regex = nil
        }
    }

    /// Whether a group that contains `*`, `+`, `?` or `{` is itself followed by `*`, `+` or `{`
    /// (as in `(a+)+` or `(.*x)*`), ignoring escaped characters and character classes.
    static func hasNestedRepetition(_ pattern: String) -> Bool {
        let chars = Array(pattern.unicodeScalars)
        var groups: [Bool] = []  // per open group: contains a quantifier
        var index = 0
        var inClass = false
        while index < chars.count {
            let c = chars[index]
            if c == "\\" {
                index += 2
                continue
            }
            if inClass {
                if c == "]" { inClass = false }
            } else if c == "[" {
                inClass = true
            } else if c == "(" {
                groups.append(false)
                if index + 1 < chars.count, chars[index + 1] == "?" { index += 1 }  // (?:…), (?i), (?P<n>…)
            } else if c == ")" {
                let inner = groups.popLast() ?? false
                let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
                if inner, let next, next == "*" || next == "+" || next == "{" { return true }
                if inner || next == "*" || next == "+" || next == "?" || next == "{" {
                    if !groups.isEmpty { groups[groups.count - 1] = true }
                }
            } else if c == "*" || c == "+" || c == "?" || c == "{" {
                if !groups.isEmpty { groups[groups.count - 1] = true }
            }
            index += 1
        }
        return false
    }

    private func matches(_ text: String) -> Bool {
        guard let regex else { return false }
        return (try? regex.firstMatch(in: text)) != nil
    }

    /// Go's byte-wise `strings.HasSuffix` (Swift's compares Characters).
    private static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        text.utf8.count >= suffix.utf8.count && text.utf8.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
    }

    /// sops' `shouldBeEncrypted`: `path` is every key above the leaf, `comments` the active
    /// comment stack (one frame per nesting level), `isComment` whether the leaf is a comment.
    func shouldEncrypt(path: [String], comments: [[String]], isComment: Bool) -> Bool {
        switch rule {
        case nil:
            return true
        case .unencryptedSuffix(let suffix):
            return !(!suffix.isEmpty && path.contains { Self.hasSuffix($0, suffix) })
        case .encryptedSuffix(let suffix):
            return suffix.isEmpty || path.contains { Self.hasSuffix($0, suffix) }
        case .unencryptedRegex:
            return !path.contains(where: matches)
        case .encryptedRegex:
            return path.contains(where: matches)
        case .unencryptedCommentRegex:
            return !comments.joined().contains(where: matches)
        case .encryptedCommentRegex:
            // The matching comment line itself stays in clear: skip the newest comment when the
            // leaf is that comment.
            for (i, frame) in comments.enumerated() {
                for (j, comment) in frame.enumerated() {
                    if isComment && i == comments.count - 1 && j == frame.count - 1 { continue }
                    if matches(comment) { return true }
                }
            }
            return false
        }
    }
}
