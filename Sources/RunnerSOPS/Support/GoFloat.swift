/// Go's `strconv.FormatFloat(v, fmt, -1, 64)` (shortest round-trip digits) and the float
/// spellings built on it, because sops' bytes depend on them: the MAC and `type:float` values
/// use `'f'`, YAML output `'g'`, dotenv output `'G'`, JSON output `'f'`/`'e'`.
enum GoFloat {
    /// Shortest decimal digits `d` (no leading or trailing zeros) and `dp` with v = 0.d × 10^dp.
    private static func digits(_ value: Double) -> (digits: [UInt8], dp: Int) {
        // Swift's description is also the shortest representation that round-trips.
        let text = Array(abs(value).description.utf8)
        let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
        let mantissa = text[..<(e ?? text.count)]
        var exponent = 0
        if let e, let parsed = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) { exponent = parsed }
        var all: [UInt8] = []
        var pointAt: Int?
        for byte in mantissa {
            if byte == UInt8(ascii: ".") { pointAt = all.count } else { all.append(byte) }
        }
        var dp = (pointAt ?? all.count) + exponent
        while let first = all.first, first == UInt8(ascii: "0") {
            all.removeFirst()
            dp -= 1
        }
        while let last = all.last, last == UInt8(ascii: "0") { all.removeLast() }
        if all.isEmpty { dp = 0 }
        return (all, dp)
    }

    /// `strconv.FormatFloat(value, format, -1, 64)` for format `f`, `e`, `E`, `g` or `G`.
    static func format(_ value: Double, _ format: Character) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let (d, dp) = digits(value)
        let sign = value.sign == .minus ? "-" : ""
        switch format {
        case "f":
            return sign + fixed(d, dp, precision: max(d.count - dp, 0))
        case "e", "E":
            return sign + exponential(d, dp, precision: d.count - 1, letter: format)
        default:  // g, G
            // Shortest 'g' uses an exponent when it is < -4 or >= 6 (Go fixes eprec at 6).
            let exp = dp - 1
            if exp < -4 || exp >= 6 {
                return sign + exponential(d, dp, precision: d.count - 1, letter: format == "G" ? "E" : "e")
            }
            return sign + fixed(d, dp, precision: max(d.count - dp, 0))
        }
    }

    private static func fixed(_ d: [UInt8], _ dp: Int, precision: Int) -> String {
        var out: [UInt8] = []
        if dp > 0 {
            let m = min(d.count, dp)
            out += d[..<m]
            out += [UInt8](repeating: UInt8(ascii: "0"), count: dp - m)
        } else {
            out.append(UInt8(ascii: "0"))
        }
        if precision > 0 {
            out.append(UInt8(ascii: "."))
            for i in 1...precision {
                let j = dp + i - 1
                out.append(j >= 0 && j < d.count ? d[j] : UInt8(ascii: "0"))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func exponential(_ d: [UInt8], _ dp: Int, precision: Int, letter: Character) -> String {
        var out: [UInt8] = [d.first ?? UInt8(ascii: "0")]
        if precision > 0 {
            out.append(UInt8(ascii: "."))
            out += d[1..<min(d.count, precision + 1)]
        }
        out += Array(String(letter).utf8)
        var exp = d.isEmpty ? 0 : dp - 1
        out.append(exp < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        exp = abs(exp)
        if exp < 10 { out.append(UInt8(ascii: "0")) }
        out += Array(String(exp).utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// `encoding/json`'s spelling: `'f'`, or `'e'` (with `e-07` shortened to `e-7`) below 1e-6 or
    /// from 1e21 on. Nil for NaN and infinities, which JSON cannot hold.
    static func json(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        let magnitude = abs(value)
        guard magnitude != 0, magnitude < 1e-6 || magnitude >= 1e21 else { return format(value, "f") }
        var text = format(value, "e")
        let bytes = Array(text.utf8)
        let n = bytes.count
        if n >= 4, bytes[n - 4] == UInt8(ascii: "e"), bytes[n - 3] == UInt8(ascii: "-"), bytes[n - 2] == UInt8(ascii: "0") {
            text = String(decoding: bytes[..<(n - 2)] + [bytes[n - 1]], as: UTF8.self)
        }
        return text
    }

    /// yaml.v3's float spelling: `'g'`, with `.inf`, `-.inf`, `.nan`.
    static func yaml(_ value: Double) -> String {
        if value.isNaN { return ".nan" }
        if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
        return format(value, "g")
    }

    /// sops' `ValToString` for floats (dotenv output): `'G'`, with at least one decimal digit.
    static func dotenv(_ value: Double) -> String {
        let text = format(value, "G")
        if !text.contains(".") && !text.contains("E") && value.isFinite { return format1(value) }
        return text
    }

    /// `FormatFloat(v, 'f', 1, 64)` for the integral values `dotenv` passes (exact: they are
    /// integers below 1e21 in magnitude, where `'G'` has no exponent).
    private static func format1(_ value: Double) -> String { format(value, "f") + ".0" }

    /// Go's `strconv.ParseFloat(s, 64)` for what sops writes and YAML/JSON numbers (Swift's
    /// parser accepts the same decimal, exponent, inf and nan spellings).
    static func parse(_ text: String) -> Double? {
        guard !text.isEmpty, !text.contains("_") else { return nil }
        return Double(text)
    }
}
