/// Indentation of YAML and JSON output (sops' `.sops.yaml` `stores:` settings).
public struct SOPSOutputStyle: Sendable, Hashable {
    /// Spaces per YAML level, 2 to 9 (sops' default is 4).
    public var yamlIndent: Int
    /// Spaces per JSON level; nil indents with a tab (sops' default).
    public var jsonIndent: Int?

    public init(yamlIndent: Int = 4, jsonIndent: Int? = nil) {
        self.yamlIndent = yamlIndent
        self.jsonIndent = jsonIndent
    }

    public static let `default` = SOPSOutputStyle()

    var jsonIndentString: String { jsonIndent.map { String(repeating: " ", count: max(0, $0)) } ?? "\t" }
}
