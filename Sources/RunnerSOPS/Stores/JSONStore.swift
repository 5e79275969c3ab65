/// sops' JSON store: a top-level object parsed in order (duplicate keys kept), integers that fit
/// in 64 bits as ints and other numbers as floats (sops ≥ 3.13.2), and output as Go's
/// `json.Marshal` + `json.Indent` with a tab: `"key": value`, empty `{}`/`[]`, a final newline.
enum JSONStore {
    static let maxDepth = 256

    static func load(_ bytes: [UInt8]) throws(SOPSError) -> [SOPSItem] {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        guard parser.peek == UInt8(ascii: "{") else {
            throw SOPSError.invalidFile("JSON: sops only supports files whose top level is an object")
        }
        guard case .map(let items) = try parser.value(depth: 0) else { throw parser.error("expected an object") }
        parser.skipSpace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the top-level object") }
        return items
    }

    static func emit(_ items: [SOPSItem], indent: String = "\t") throws(SOPSError) -> [UInt8] {
        var out = ""
        try write(.map(items), depth: 0, indent: indent, to: &out)
        out += "\n"
        return Array(out.utf8)
    }

    private static func write(_ value: SOPSValue, depth: Int, indent: String, to out: inout String) throws(SOPSError) {
        let pad = String(repeating: indent, count: depth + 1)
        let closePad = String(repeating: indent, count: depth)
        switch value {
        case .map(let items):
            let pairs = items.compactMap { item -> (String, SOPSValue)? in
                if case .pair(let key, let value) = item { return (key, value) }
                return nil
            }
            guard !pairs.isEmpty else {
                out += "{}"
                return
            }
            out += "{\n"
            for (index, (key, child)) in pairs.enumerated() {
                out += pad + quote(key) + ": "
                try write(child, depth: depth + 1, indent: indent, to: &out)
                out += index == pairs.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        case .list(let items):
            let values = items.filter { if case .comment = $0 { false } else { true } }
            guard !values.isEmpty else {
                out += "[]"
                return
            }
            out += "[\n"
            for (index, child) in values.enumerated() {
                out += pad
                try write(child, depth: depth + 1, indent: indent, to: &out)
                out += index == values.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case .string(let s), .time(let s): out += quote(s)
        case .rawString(let b), .bytes(let b): out += quote(String(decoding: b, as: UTF8.self))
        case .int(let i): out += String(i)
        case .float(let d):
            guard let text = GoFloat.json(d) else { throw SOPSError.invalidRequest("JSON cannot hold the float value \(d)") }
            out += text
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .comment: out += "null"  // never reached: comments are filtered above
        }
    }

    /// Go's `json.Marshal` of a string: HTML characters and U+2028/U+2029 escaped.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + hex4(scalar.value)
            case _ where scalar.value < 0x20:
                out += "\\u" + hex4(scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: Parser

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ message: String) -> SOPSError {
            SOPSError.invalidFile("JSON: \(message) at byte \(index)")
        }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(SOPSError) {
            guard peek == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
            index += 1
        }

        mutating func value(depth: Int) throws(SOPSError) -> SOPSValue {
            guard depth < JSONStore.maxDepth else { throw error("nesting deeper than \(JSONStore.maxDepth) levels") }
            skipSpace()
            switch peek {
            case UInt8(ascii: "{")?:
                index += 1
                var items: [SOPSItem] = []
                skipSpace()
                if peek == UInt8(ascii: "}") {
                    index += 1
                    return .map(items)
                }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    items.append(.pair(key, try value(depth: depth + 1)))
                    skipSpace()
                    if peek == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"))
                    return .map(items)
                }
            case UInt8(ascii: "[")?:
                index += 1
                var items: [SOPSValue] = []
                skipSpace()
                if peek == UInt8(ascii: "]") {
                    index += 1
                    return .list(items)
                }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if peek == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "]"))
                    return .list(items)
                }
            case UInt8(ascii: "\"")?:
                return .string(try string())
            case UInt8(ascii: "t")?:
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f")?:
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n")?:
                try literal("null")
                return .null
            case let b? where b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")):
                return try number()
            default:
                throw error("unexpected character")
            }
        }

        mutating func literal(_ word: String) throws(SOPSError) {
            let w = Array(word.utf8)
            guard bytes[index...].starts(with: w) else { throw error("invalid literal") }
            index += w.count
        }

        mutating func number() throws(SOPSError) -> SOPSValue {
            let start = index
            func digits() -> Int {
                let from = index
                while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { index += 1 }
                return index - from
            }
            if peek == UInt8(ascii: "-") { index += 1 }
            let intStart = index
            guard digits() > 0 else { throw error("invalid number") }
            if bytes[intStart] == UInt8(ascii: "0") && index - intStart > 1 { throw error("invalid number (leading zero)") }
            var isInteger = true
            if peek == UInt8(ascii: ".") {
                index += 1
                isInteger = false
                guard digits() > 0 else { throw error("invalid number") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                isInteger = false
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("invalid number") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let int = Int(text) { return .int(int) }
            guard let double = Double(text), double.isFinite else { throw error("number out of range") }
            return .float(double)
        }

        mutating func string() throws(SOPSError) -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("unterminated string") }
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    // Go replaces invalid UTF-8 with U+FFFD; so does String(decoding:).
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escape = peek else { throw error("unterminated string") }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar), bytes[index...].starts(with: [0x5C, UInt8(ascii: "u")]) {
                            let save = index
                            index += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = save
                            }
                        }
                        let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                        out += Array(String(Character(unicode)).utf8)
                    default:
                        throw error("invalid escape in string")
                    }
                case 0..<0x20:
                    throw error("control character in string")
                default:
                    out.append(b)
                }
            }
        }

        mutating func hex4() throws(SOPSError) -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else {
                throw error("invalid \\u escape")
            }
            index += 4
            return value
        }
    }
}
