/// One node of a composed YAML document: a scalar, a sequence or a mapping, with where it starts.
///
/// Aliases are already resolved (an alias is a copy of its anchored node, locations included,
/// so they point at the text) and merge keys (`<<: *base`) are already applied, so consumers
/// only ever see these three kinds.
public struct YAMLNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var kind: Kind
    /// Where the node starts (its anchor or tag if it has one), 1-based.
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The scalar, if this node is one.
    public var scalar: YAMLScalar? { if case .scalar(let s) = kind { s } else { nil } }

    /// The items, if this node is a sequence.
    public var sequence: [YAMLNode]? { if case .sequence(let items) = kind { items } else { nil } }

    /// The key/value pairs in file order, if this node is a mapping.
    public var mapping: [YAMLPair]? { if case .mapping(let pairs) = kind { pairs } else { nil } }

    /// The value for a scalar key written as `key`, if this node is a mapping that has one.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar?.text == key }?.value
    }

    /// The name of the node's kind as users see it in error messages.
    public var kindName: String {
        switch kind {
        case .scalar: "scalar"
        case .sequence: "list"
        case .mapping: "map"
        }
    }

    /// The node as a plain value, scalars resolved with the YAML 1.2 core schema.
    ///
    /// Plain `null`, `~` and empty scalars are `.null`; `true`/`false` (any of the three
    /// capitalisations) are bools; decimal, `0x` and `0o` integers are ints; decimals, exponents,
    /// `.inf` and `.nan` are doubles. Everything else, including `yes`/`no`/`on`/`off` and every
    /// quoted or block scalar, is a string. Explicit `!!str`, `!!int`, `!!float`, `!!bool` and
    /// `!!null` tags are honoured. Mapping keys become their scalar text.
    public var value: Value {
        switch kind {
        case .scalar(let scalar): scalar.value
        case .sequence(let items): .list(items.map(\.value))
        case .mapping(let pairs):
            .map(Dictionary(pairs.map { ($0.key.scalar?.text ?? "", $0.value.value) }, uniquingKeysWith: { _, last in last }))
        }
    }
}

/// A scalar as written: its text after unescaping and folding, how it was written, and its tag.
public struct YAMLScalar: Sendable, Hashable {
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var text: String
    public var style: Style
    /// The explicit tag in full form (`!!int` is `tag:yaml.org,2002:int`, `!local` stays `!local`),
    /// or nil when the scalar has none.
    public var tag: String?
    /// Block scalars (`|`, `>`): the indentation stripped from each content line, so positions
    /// inside the text map back to the file.
    public var indent: Int?

    public init(_ text: String, style: Style = .plain, tag: String? = nil) {
        self.text = text
        self.style = style
        self.tag = tag
    }

    /// Equal scalars have the same text, style and tag; `indent` is where the text was, not what it is.
    public static func == (a: YAMLScalar, b: YAMLScalar) -> Bool { a.text == b.text && a.style == b.style && a.tag == b.tag }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(style)
        hasher.combine(tag)
    }

    /// The scalar resolved with the YAML 1.2 core schema (see `YAMLNode.value`).
    ///
    /// A tagged scalar whose text does not fit its tag (never produced by the parser, which
    /// rejects those) falls back to a string, as do scalars with tags outside the core schema.
    public var value: Value {
        switch tag {
        case nil:
            style == .plain ? YAMLCoreSchema.resolve(text) : .string(text)
        case YAMLCoreSchema.nullTag:
            YAMLCoreSchema.null(text) ?? .string(text)
        case YAMLCoreSchema.boolTag:
            YAMLCoreSchema.bool(text) ?? .string(text)
        case YAMLCoreSchema.intTag:
            YAMLCoreSchema.int(text) ?? .string(text)
        case YAMLCoreSchema.floatTag:
            YAMLCoreSchema.float(text) ?? YAMLCoreSchema.int(text).flatMap { $0.doubleValue.map(Value.double) } ?? .string(text)
        default:
            .string(text)
        }
    }
}

/// One entry of a mapping. Keys are always scalars.
public struct YAMLPair: Sendable, Hashable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// The YAML 1.2 core schema's tags and the regular expressions of its plain scalars, by hand.
enum YAMLCoreSchema {
    static let strTag = "tag:yaml.org,2002:str"
    static let nullTag = "tag:yaml.org,2002:null"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let intTag = "tag:yaml.org,2002:int"
    static let floatTag = "tag:yaml.org,2002:float"
    static let seqTag = "tag:yaml.org,2002:seq"
    static let mapTag = "tag:yaml.org,2002:map"
    static let mergeTag = "tag:yaml.org,2002:merge"

    /// Resolves an untagged plain scalar.
    static func resolve(_ text: String) -> Value {
        null(text) ?? bool(text) ?? int(text) ?? float(text) ?? .string(text)
    }

    /// `null | Null | NULL | ~ |` (empty)
    static func null(_ text: String) -> Value? {
        switch text {
        case "", "~", "null", "Null", "NULL": .null
        default: nil
        }
    }

    /// `true | True | TRUE | false | False | FALSE`
    static func bool(_ text: String) -> Value? {
        switch text {
        case "true", "True", "TRUE": .bool(true)
        case "false", "False", "FALSE": .bool(false)
        default: nil
        }
    }

    /// `[-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+`. A decimal too large for `Int` becomes a double;
    /// an octal or hexadecimal one is not an int.
    static func int(_ text: String) -> Value? {
        let utf8 = Array(text.utf8)
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0") {
            let digits = String(decoding: utf8[2...], as: UTF8.self)
            switch utf8[1] {
            case UInt8(ascii: "o"): return digits.utf8.allSatisfy(isOctal) ? Int(digits, radix: 8).map(Value.int) : nil
            case UInt8(ascii: "x"): return digits.utf8.allSatisfy(isHex) ? Int(digits, radix: 16).map(Value.int) : nil
            default: break
            }
        }
        var digits = utf8[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
        if let int = Int(text) { return .int(int) }
        return Double(text).map(Value.double)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    static func float(_ text: String) -> Value? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        var rest = Array(text.utf8)[...]
        if let first = rest.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        let whole = rest.prefix(while: isDigit)
        rest = rest.dropFirst(whole.count)
        var fraction = rest.prefix(0)
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fraction = rest.prefix(while: isDigit)
            rest = rest.dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty else { return nil }
        if let e = rest.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if let sign = rest.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { rest = rest.dropFirst() }
            let exponent = rest.prefix(while: isDigit)
            guard !exponent.isEmpty else { return nil }
            rest = rest.dropFirst(exponent.count)
        }
        guard rest.isEmpty else { return nil }
        return Double(text).map(Value.double)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func isOctal(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "7") }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }
}

extension YAMLNode {
    /// Where a scalar's text begins: after an opening quote, or on the line after a `|`/`>`
    /// indicator. (A block scalar's indentation is not kept, so columns inside it count from the
    /// start of its text; lines are exact.)
    public var contentStart: SourceLocation {
        var at = location
        switch scalar?.style {
        case .singleQuoted?, .doubleQuoted?: at.column += 1
        case .literal?, .folded?:
            at.line += 1
            at.column = (scalar?.indent ?? 0) + 1
        default: break
        }
        return at
    }
}
