/// The type of a plugin parameter or pipeline param.
public enum ParameterType: Sendable, Hashable, CustomStringConvertible {
    case string, int, bool, number, list, map, duration, any
    /// One of a fixed set of strings.
    case oneOf([String])

    public var description: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .bool: "bool"
        case .number: "number"
        case .list: "list"
        case .map: "map"
        case .duration: "duration"
        case .any: "any"
        case .oneOf(let options): options.joined(separator: "|")
        }
    }

    /// Parses a type name as written in schemas: `string`, `int`, `bool`, `number`, `list`, `map`, `duration`, `any`.
    public init?(name: String) {
        switch name {
        case "string": self = .string
        case "int", "integer": self = .int
        case "bool", "boolean": self = .bool
        case "number", "float": self = .number
        case "list", "array": self = .list
        case "map", "table", "object": self = .map
        case "duration": self = .duration
        case "any": self = .any
        default: return nil
        }
    }

    /// Checks (and where lossless, converts) a value: `"8"` is accepted as int 8 from the command line,
    /// `"5m"` as a duration. Returns nil when the value does not fit.
    public func coerce(_ value: Value) -> Value? {
        switch (self, value) {
        case (.any, _): return value
        case (.string, .string): return value
        case (.string, .int), (.string, .double), (.string, .bool): return .string(value.interpolated)
        case (.int, .int): return value
        case (.int, .double(let d)): return d.rounded() == d ? .int(Int(d)) : nil
        case (.int, .string(let s)): return Int(s).map(Value.int)
        case (.number, .int), (.number, .double): return value
        case (.number, .string(let s)): return Double(s).map(Value.double)
        case (.bool, .bool): return value
        case (.bool, .string(let s)):
            switch s.lowercased() {
            case "true", "yes", "on", "1": return .bool(true)
            case "false", "no", "off", "0": return .bool(false)
            default: return nil
            }
        case (.list, .list): return value
        case (.list, .string(let s)):
            return .list(s.split(separator: ",").map { .string(String($0).trimmingCharacters(in: " ")) })
        case (.map, .map): return value
        case (.duration, .string(let s)): return DurationParser.parse(s) != nil ? value : nil
        case (.duration, .int), (.duration, .double): return value
        case (.oneOf(let options), .string(let s)): return options.contains(s) ? value : nil
        case (.oneOf(let options), .bool(let b)):
            // `maintenance: on` written unquoted in YAML 1.1 habits still means the string.
            let s = b ? "on" : "off"
            return options.contains(s) ? .string(s) : nil
        default: return nil
        }
    }
}

/// One parameter of a plugin: what `with:` accepts, what `runner plugins` prints.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var required: Bool
    public var defaultValue: Value?
    public var doc: String
    /// Values are masked in every log, record and error.
    public var secret: Bool
    /// A string here is run by a shell (`sh -c`): `${{ }}` in it is refused at validation, since
    /// the shell would read the value as code; the parameter's list form (argv) takes values.
    public var shellString: Bool
    /// The value is shown (a location), but the credentials a URL in it carries are masked
    /// (`URLCredentials`).
    public var urlCredentials: Bool

    public init(
        _ name: String, _ type: ParameterType, required: Bool = false, default defaultValue: Value? = nil,
        secret: Bool = false, shellString: Bool = false, urlCredentials: Bool = false, doc: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
        self.secret = secret
        self.shellString = shellString
        self.urlCredentials = urlCredentials
    }
}

/// A documented output of a plugin.
public struct OutputSpec: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var doc: String

    public init(_ name: String, _ type: ParameterType, doc: String) {
        self.name = name
        self.type = type
        self.doc = doc
    }
}
