/// How yaml.v3 (which sops uses) types scalars: plain `true`/`false` (three capitalisations) are
/// booleans, `yes`/`no` are strings; Go `ParseInt(s, 0, 64)` integers after removing `_` (so
/// `0x1F`, `0o17`, `017` and `0b101` are ints); YAML-style floats; `.inf`/`.nan`; timestamps.
enum GoYAMLResolve {
    static let longTagPrefix = "tag:yaml.org,2002:"

    /// The value of a scalar with the given style and (long-form) tag.
    static func value(text: String, plain: Bool, tag: String?) throws(SOPSError) -> SOPSValue {
        let short = tag.map { $0.hasPrefix(longTagPrefix) ? "!!" + $0.dropFirst(longTagPrefix.count) : $0 }
        switch short {
        case nil:
            return plain ? resolvePlain(text) : .string(text)
        case "!!str"?, "!"?:
            return .string(text)
        case "!!binary"?:
            guard let bytes = Base64.decodeLenientPadded(Array(text.utf8.filter { $0 != UInt8(ascii: " ") })) else {
                throw SOPSError.invalidFile("YAML: !!binary value is not valid base64")
            }
            return String(validating: bytes, as: UTF8.self).map(SOPSValue.string) ?? .rawString(bytes)
        case "!!int"?, "!!float"?, "!!bool"?, "!!null"?, "!!timestamp"?:
            let resolved = resolvePlain(text)
            switch (short, resolved) {
            case ("!!int"?, .int), ("!!float"?, .float), ("!!bool"?, .bool), ("!!null"?, .null), ("!!timestamp"?, .time):
                return resolved
            case ("!!float"?, .int(let i)):
                return .float(Double(i))
            default:
                throw SOPSError.invalidFile("YAML: cannot decode '\(text)' as \(short ?? "")")
            }
        default:
            // Local and unknown tags: yaml.v3 keeps the text.
            return .string(text)
        }
    }

    /// yaml.v3's `resolve("", text)` for an untagged plain scalar.
    static func resolvePlain(_ text: String) -> SOPSValue {
        switch text {
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case "", "~", "null", "Null", "NULL": return .null
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case "<<": return .string(text)
        default: break
        }
        guard let first = text.utf8.first else { return .string(text) }
        if first == UInt8(ascii: ".") {
            return GoFloat.parse(text).map(SOPSValue.float) ?? .string(text)
        }
        let isDigit = first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")
        guard isDigit || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") else { return .string(text) }
        if let time = GoTimestamp.parse(text) { return .time(time) }
        let plain = text.replacingAll("_", with: "")
        if let int = parseIntBase0(plain) { return .int(int) }
        if parseUIntBase0(plain) {
            // A uint64 beyond Int64: sops cannot walk it; keep the text so that it survives.
            return .string(text)
        }
        if isYAMLFloat(plain), let double = GoFloat.parse(plain) { return .float(double) }
        return .string(text)
    }

    /// Whether yaml.v3 resolves the plain text to a string (so it may be written unquoted).
    static func resolvesToString(_ text: String) -> Bool {
        guard text != "<<", case .string = resolvePlain(text) else { return false }
        // Integers beyond Int64 resolve to uint64 or float in yaml.v3, which resolvePlain keeps as text.
        let first = text.utf8.first ?? 0
        let numeric = (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
        return !(numeric && parseUIntBase0(text.replacingAll("_", with: "")))
    }

    /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
    private static func isYAMLFloat(_ text: String) -> Bool {
        var rest = Array(text.utf8)[...]
        func digits() -> Int {
            let count = rest.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            rest = rest.dropFirst(count)
            return count
        }
        if let c = rest.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { rest = rest.dropFirst() }
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            guard digits() > 0 else { return false }
        } else {
            guard digits() > 0 else { return false }
            if rest.first == UInt8(ascii: ".") {
                rest = rest.dropFirst()
                _ = digits()
            }
        }
        if let e = rest.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if let c = rest.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { rest = rest.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return rest.isEmpty
    }

    /// Go's `strconv.ParseInt(s, 0, 64)` (underscores already removed).
    static func parseIntBase0(_ text: String) -> Int? {
        var body = Substring(text)
        var negative = false
        if let c = body.first, c == "+" || c == "-" {
            negative = c == "-"
            body = body.dropFirst()
        }
        guard let magnitude = parseMagnitude(body) else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int(magnitude)
    }

    /// Whether `strconv.ParseUint(s, 0, 64)` succeeds (no sign allowed).
    private static func parseUIntBase0(_ text: String) -> Bool {
        parseMagnitude(Substring(text)) != nil
    }

    private static func parseMagnitude(_ body: Substring) -> UInt64? {
        var digits = body
        var radix = 10
        let lower = body.lowercased()
        if lower.hasPrefix("0x") {
            radix = 16
            digits = body.dropFirst(2)
        } else if lower.hasPrefix("0b") {
            radix = 2
            digits = body.dropFirst(2)
        } else if lower.hasPrefix("0o") {
            radix = 8
            digits = body.dropFirst(2)
        } else if body.hasPrefix("0") && body.count > 1 {
            radix = 8
            digits = body.dropFirst(1)
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return UInt64(digits, radix: radix)
    }
}

/// yaml.v3's timestamp formats, normalised to Go's `MarshalText` (RFC 3339 with nanoseconds,
/// trailing zeros trimmed): `2006-1-2T15:4:5.999999999Z07:00` (or lowercase `t`),
/// `2006-1-2 15:4:5.999999999` (UTC), `2006-1-2` (UTC midnight).
enum GoTimestamp {
    static func parse(_ text: String) -> String? {
        let b = Array(text.utf8)
        var i = 0
        func number(maxDigits: Int, exact: Bool = false) -> Int? {
            let start = i
            while i < b.count, i - start < maxDigits, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > start, !exact || i - start == maxDigits else { return nil }
            return Int(String(decoding: b[start..<i], as: UTF8.self))
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == UInt8(ascii: c.unicodeScalars.first ?? " ") else { return false }
            i += 1
            return true
        }
        guard let year = number(maxDigits: 4, exact: true), expect("-"), let month = number(maxDigits: 2), expect("-"),
            let day = number(maxDigits: 2), (1...12).contains(month), day >= 1, day <= 31
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var fraction = ""
        var offset = "Z"
        if i < b.count {
            let separator = b[i]
            let hasZone = separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
            guard hasZone || separator == UInt8(ascii: " ") else { return nil }
            i += 1
            guard let h = number(maxDigits: 2), expect(":"), let m = number(maxDigits: 2), expect(":"),
                let s = number(maxDigits: 2), h < 24, m < 60, s < 60
            else { return nil }
            (hour, minute, second) = (h, m, s)
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
                guard i > start, i - start <= 9 else { return nil }
                fraction = String(decoding: b[start..<i], as: UTF8.self)
                while fraction.hasSuffix("0") { fraction.removeLast() }
            }
            if hasZone {
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "Z") {
                    i += 1
                } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    let sign = b[i]
                    i += 1
                    guard let oh = number(maxDigits: 2, exact: true), expect(":"), let om = number(maxDigits: 2, exact: true) else { return nil }
                    if oh != 0 || om != 0 {
                        offset = String(UnicodeScalar(sign)) + pad(oh) + ":" + pad(om)
                    }
                } else {
                    return nil
                }
            }
        }
        guard i == b.count else { return nil }
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))"
            + (fraction.isEmpty ? "" : "." + fraction) + offset
    }

    private static func pad(_ n: Int, _ width: Int = 2) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
