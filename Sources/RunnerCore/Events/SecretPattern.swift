/// One secret form compiled for matching in UTF-8 text.
///
/// Each character of the form is a unit with alternatives: the character itself, and for every
/// character that is not an ASCII letter or digit also each way a JSON encoder may write it —
/// `\"`, `\\`, `\/`, `\n`…, `\u00e9` and `\u00E9` (surrogate pairs beyond U+FFFF) — once or
/// twice escaped (JSON inside a JSON string). Encoders differ (raw UTF-8 or `\u`, escaped `/` or
/// not, `<>&+'` as `\u` or not); any mix matches. A base64 form also matches with a line break
/// (`\n`, `\r\n`, or their JSON escapes) between any two of its characters: wrapped output.
struct SecretPattern: Sendable {
    let units: [[[UInt8]]]
    let token: Bool
    let wraps: Bool
    /// The most bytes one match can span.
    let longest: Int

    init(_ form: SecretForms.Form) {
        units = form.text.unicodeScalars.map(Self.alternatives)
        token = form.token
        wraps = form.wraps
        longest = units.reduce(0) { $0 + ($1.map(\.count).max() ?? 0) }
            + (wraps ? max(0, units.count - 1) * (Self.breaks.map(\.count).max() ?? 0) : 0)
    }

    static let breaks: [[UInt8]] = ["\n", "\r\n", "\\n", "\\r\\n"].map { Array($0.utf8) }

    /// The first two bytes a match can start with (`second` nil: a one-byte match, the form's
    /// only character). Scanning looks patterns up by these, so most positions try none.
    var starts: Set<Pair> {
        var out: Set<Pair> = []
        guard let first = units.first else { return out }
        let next: [UInt8] = units.count > 1
            ? (units[1] + (wraps ? Self.breaks : [])).compactMap(\.first) : []
        for alternative in first {
            if alternative.count >= 2 {
                out.insert(Pair(first: alternative[0], second: alternative[1]))
            } else if units.count == 1 {
                out.insert(Pair(first: alternative[0], second: nil))
            } else {
                for byte in next { out.insert(Pair(first: alternative[0], second: byte)) }
            }
        }
        return out
    }

    struct Pair: Hashable {
        var first: UInt8
        var second: UInt8?
    }

    static func alternatives(_ scalar: Unicode.Scalar) -> [[UInt8]] {
        let raw = String(scalar)
        if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) { return [Array(raw.utf8)] }
        var once = [raw]
        switch scalar {
        case "\"": once.append("\\\"")
        case "\\": once.append("\\\\")
        case "/": once.append("\\/")
        case "\u{08}": once.append("\\b")
        case "\u{0C}": once.append("\\f")
        case "\n": once.append("\\n")
        case "\r": once.append("\\r")
        case "\t": once.append("\\t")
        default: break
        }
        for uppercase in [false, true] {
            once.append(raw.utf16.map { unit in
                let hex = String(unit, radix: 16, uppercase: uppercase)
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }.joined())
        }
        var all: [[UInt8]] = []
        for text in once + once.map(escapedAgain) where !all.contains(Array(text.utf8)) { all.append(Array(text.utf8)) }
        return all
    }

    /// How a JSON encoder writes already-escaped text inside another string.
    private static func escapedAgain(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Where a match starting at `start` ends (the longest), or nil. `current` and `next` are
    /// scratch space, kept by the caller to avoid allocating per position.
    func match(_ text: UnsafeBufferPointer<UInt8>, at start: Int, _ current: inout [Int], _ next: inout [Int]) -> Int? {
        if token && start > 0 && Self.isWord(text[start - 1]) { return nil }
        current.removeAll(keepingCapacity: true)
        current.append(start)
        for (index, alternatives) in units.enumerated() {
            next.removeAll(keepingCapacity: true)
            for position in current {
                advance(text, from: position, over: alternatives, into: &next)
                if wraps && index > 0 {
                    for brk in Self.breaks where Self.has(brk, in: text, at: position) {
                        advance(text, from: position + brk.count, over: alternatives, into: &next)
                    }
                }
            }
            if next.isEmpty { return nil }
            swap(&current, &next)
        }
        var best: Int?
        for end in current where !token || end == text.count || !Self.isWord(text[end]) {
            best = max(best ?? end, end)
        }
        return best
    }

    private func advance(_ text: UnsafeBufferPointer<UInt8>, from position: Int, over alternatives: [[UInt8]], into next: inout [Int]) {
        for alternative in alternatives where Self.has(alternative, in: text, at: position) {
            let end = position + alternative.count
            if !next.contains(end) { next.append(end) }
        }
    }

    private static func has(_ bytes: [UInt8], in text: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        guard position + bytes.count <= text.count, text[position] == bytes[0] else { return false }
        for (offset, byte) in bytes.enumerated() where text[position + offset] != byte { return false }
        return true
    }

    /// Letters, digits, `_` and any byte of a non-ASCII character: what a token may not touch.
    static func isWord(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
