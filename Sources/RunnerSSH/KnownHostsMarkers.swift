import Foundation

/// The marker lines of known_hosts files, which libssh 0.10 does not understand: it reads
/// `@revoked` or `@cert-authority` as a host pattern that matches no host and skips the line,
/// so a revoked key would be trusted by another line of the file, or recorded by
/// `accept-new`, as if the revocation were not there.
///
/// - `@revoked <patterns> <type> <key>`: the key is refused for every host, whatever the
///   patterns say (OpenSSH: "must not ever be accepted") and whatever the policy.
/// - `@cert-authority <patterns> <type> <key>`: runner does not support host certificates, so
///   such a line never trusts anything. A host it names is not trusted on first use either:
///   its owner chose to vouch for its keys through a CA, which `accept-new` would bypass.
///
/// Patterns are OpenSSH's: comma-separated, `*` and `?` wildcards, `!` negation, `[host]:port`
/// for other ports than 22, compared without regard to case. Hashed names (`|1|…`) are not
/// matched: `ssh-keygen -H` never hashes marker lines.
struct KnownHostsMarkers {
    enum Marker: String { case revoked = "@revoked", certAuthority = "@cert-authority" }

    /// One marker line.
    struct Entry {
        let marker: Marker
        let patterns: String
        /// The decoded public key blob (it names its own type).
        let key: [UInt8]
        /// `file:line`, for messages.
        let location: String
    }

    let entries: [Entry]

    /// Reads the marker lines of `files`; missing or unreadable files have none.
    init(files: [String]) {
        entries = files.flatMap { file in
            (try? String(contentsOfFile: file, encoding: .utf8)).map { Self.parse($0, file: file) } ?? []
        }
    }

    init(entries: [Entry]) {
        self.entries = entries
    }

    /// The marker lines of one file's text. Lines without a marker, unknown markers and lines
    /// whose key is not base64 are skipped (OpenSSH skips them too).
    static func parse(_ text: String, file: String) -> [Entry] {
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard fields.count >= 4, let marker = Marker(rawValue: fields[0].lowercased()),
                  let key = Data(base64Encoded: String(fields[3])), !key.isEmpty else { continue }
            entries.append(Entry(marker: marker, patterns: String(fields[1]), key: [UInt8](key), location: "\(file):\(index + 1)"))
        }
        return entries
    }

    /// The `@revoked` line listing `key`, if any.
    func revocation(of key: [UInt8]) -> Entry? {
        entries.first { $0.marker == .revoked && $0.key == key }
    }

    /// A `@cert-authority` line whose patterns match `host` (`name`, or `[name]:port`).
    func certificateAuthority(for host: String) -> Entry? {
        entries.first { $0.marker == .certAuthority && Self.matches(host, patterns: $0.patterns) }
    }

    /// OpenSSH's host list matching: some pattern matches and no negated one does.
    static func matches(_ host: String, patterns: String) -> Bool {
        let name = Array(host.lowercased())
        var matched = false
        for pattern in patterns.lowercased().split(separator: ",") {
            let negated = pattern.hasPrefix("!")
            let body = Array(negated ? pattern.dropFirst() : pattern[...])
            guard body.first != "|", glob(body, name) else { continue }
            if negated { return false }
            matched = true
        }
        return matched
    }

    /// `*` (any run) and `?` (one character); everything else literally. Greedy with one
    /// backtrack point, so a pattern full of stars stays linear-ish.
    static func glob(_ pattern: [Character], _ text: [Character]) -> Bool {
        var p = 0, t = 0, star: Int? = nil, resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
