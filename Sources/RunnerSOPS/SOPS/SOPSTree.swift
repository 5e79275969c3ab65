/// A comment kept in a sops tree: the text after `#`. `inline` comments sat at the end of a
/// value's line (YAML only).
struct SOPSComment: Sendable, Hashable {
    var text: String
    var inline = false
}

/// A value in a sops tree (sops' `interface{}` values, typed).
indirect enum SOPSValue: Sendable, Equatable {
    case string(String)
    /// A `str` value whose bytes are not UTF-8 (binary store payloads).
    case rawString([UInt8])
    case int(Int)
    case float(Double)
    case bool(Bool)
    case bytes([UInt8])
    /// An RFC 3339 timestamp (`type:time`, YAML `!!timestamp`), kept as text.
    case time(String)
    case null
    /// Only inside lists; comments in maps are `SOPSItem.comment`.
    case comment(SOPSComment)
    case map([SOPSItem])
    case list([SOPSValue])

    static func == (lhs: SOPSValue, rhs: SOPSValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.rawString(let a), .rawString(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
        case (.bool(let a), .bool(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.time(let a), .time(let b)): a == b
        case (.null, .null): true
        case (.comment(let a), .comment(let b)): a == b
        case (.map(let a), .map(let b)): a == b
        case (.list(let a), .list(let b)): a == b
        default: false
        }
    }

    /// The bytes sops hashes into the MAC (`sops.ToBytes`), nil for collections and null.
    var macBytes: [UInt8]? {
        switch self {
        case .string(let s): Array(s.utf8)
        case .rawString(let b), .bytes(let b): b
        case .int(let i): Array(String(i).utf8)
        case .float(let d): Array(GoFloat.format(d, "f").utf8)
        case .bool(let b): Array((b ? "True" : "False").utf8)
        case .time(let t): Array(t.utf8)
        case .comment(let c): Array(c.text.utf8)
        case .null, .map, .list: nil
        }
    }

    /// The value as a flat string, the way sops writes a scalar into a dotenv file
    /// (`ValToString`); nil for collections.
    var flatString: String? {
        switch self {
        case .string(let s): s
        case .rawString(let b), .bytes(let b): String(decoding: b, as: UTF8.self)
        case .int(let i): String(i)
        case .float(let d): GoFloat.dotenv(d)
        case .bool(let b): b ? "true" : "false"
        case .time(let t): t
        case .null: "<nil>"
        case .comment(let c): c.text
        case .map, .list: nil
        }
    }
}

/// One entry of a map: a key and its value, or a comment line.
enum SOPSItem: Sendable, Equatable {
    case pair(String, SOPSValue)
    case comment(SOPSComment)
}

/// The documents of a file (one for dotenv, JSON and binary; one per YAML document).
typealias SOPSBranches = [[SOPSItem]]
