/// Writes a `Value` as block-style YAML that `YAMLParser` (and any YAML 1.2 reader) reads back
/// as the same value. Keys are sorted; strings are quoted whenever plain text could be misread.
public enum YAMLEmitter {
    public static func emit(_ value: Value) -> String {
        var out = ""
        write(value, indent: 0, to: &out, inline: true)
        return out.hasSuffix("\n") ? out : out + "\n"
    }

    private static func write(_ value: Value, indent: Int, to out: inout String, inline: Bool) {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .list(let items) where !items.isEmpty:
            if inline && !out.isEmpty { out += "\n" }
            for item in items {
                out += pad + "-"
                if isScalar(item) || isEmpty(item) {
                    out += " " + scalar(item) + "\n"
                } else {
                    write(item, indent: indent + 1, to: &out, inline: true)
                }
            }
        case .map(let map) where !map.isEmpty:
            if inline && !out.isEmpty { out += "\n" }
            for key in map.keys.sorted() {
                let item = map[key]!
                out += pad + quoteIfNeeded(key) + ":"
                if isScalar(item) || isEmpty(item) {
                    out += " " + scalar(item) + "\n"
                } else {
                    write(item, indent: indent + 1, to: &out, inline: true)
                }
            }
        default:
            out += (out.isEmpty || out.hasSuffix("\n") ? "" : " ") + scalar(value) + "\n"
        }
    }

    private static func isScalar(_ v: Value) -> Bool {
        switch v {
        case .list, .map: false
        default: true
        }
    }

    private static func isEmpty(_ v: Value) -> Bool {
        switch v {
        case .list(let l): l.isEmpty
        case .map(let m): m.isEmpty
        default: false
        }
    }

    private static func scalar(_ v: Value) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int, .double: v.interpolated
        case .string(let s): quoteIfNeeded(s)
        case .list: "[]"
        case .map: "{}"
        }
    }

    /// Plain when the text reads back as the same string, else a JSON-style double-quoted string.
    static func quoteIfNeeded(_ s: String) -> String {
        let plainSafe = !s.isEmpty
            && s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./".unicodeScalars.contains($0)) }
            && !"-.".contains(s.first!)
            && YAMLNode(.scalar(YAMLScalar(s, style: .plain, tag: nil)), at: SourceLocation(file: "", line: 1, column: 1)).value == .string(s)
        if plainSafe { return s }
        var out = ""
        JSON.writeString(s, to: &out)
        return out
    }
}
