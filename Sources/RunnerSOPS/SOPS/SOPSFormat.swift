/// A sops file format ("store").
public enum SOPSFormat: String, Sendable, Hashable, CaseIterable {
    /// `KEY=value` lines; metadata as flattened `sops_*` keys.
    case dotenv
    case yaml
    case json
    /// Any file: its bytes become the single string `data` of a JSON envelope.
    case binary

    /// The format sops picks from a file name: `.yaml`/`.yml`, `.json`, `.env` (case-sensitive,
    /// like sops), else binary. (`secrets.env.sops` is therefore binary to sops; name the format
    /// explicitly for those.)
    public init(fileName: String) {
        let name = fileName
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            self = .yaml
        } else if name.hasSuffix(".json") {
            self = .json
        } else if name.hasSuffix(".env") {
            self = .dotenv
        } else {
            self = .binary
        }
    }

    /// Parses a plaintext (or encrypted, before metadata extraction) file into a tree.
    func load(_ bytes: [UInt8]) throws(SOPSError) -> SOPSBranches {
        switch self {
        case .dotenv: try DotenvStore.load(bytes)
        case .yaml: try YAMLStore.load(bytes)
        case .json: [try JSONStore.load(bytes)]
        case .binary: [[.pair("data", String(validating: bytes, as: UTF8.self).map(SOPSValue.string) ?? .rawString(bytes))]]
        }
    }

    /// Parses an encrypted file: the tree without its metadata, and the metadata.
    func loadEncrypted(_ bytes: [UInt8]) throws(SOPSError) -> (SOPSBranches, SOPSMetadata) {
        switch self {
        case .dotenv:
            var branches = try DotenvStore.load(bytes)
            let metadata = try DotenvStore.extractMetadata(&branches)
            return (branches, metadata)
        case .yaml:
            var branches = try YAMLStore.load(bytes)
            let metadata = try Self.extractNestedMetadata(&branches)
            return (branches, metadata)
        case .json, .binary:
            var branches = [try JSONStore.load(bytes)]
            let metadata = try Self.extractNestedMetadata(&branches)
            return (branches, metadata)
        }
    }

    /// Writes a plaintext tree the way `sops -d` prints it.
    func emit(_ branches: SOPSBranches, style: SOPSOutputStyle = .default) throws(SOPSError) -> [UInt8] {
        switch self {
        case .dotenv: return try DotenvStore.emit(branches)
        case .yaml: return Array(YAMLStore.emit(branches, indent: style.yamlIndent).utf8)
        case .json:
            guard branches.count == 1, let branch = branches.first else {
                throw SOPSError.invalidRequest("JSON output needs exactly one document, the file has \(branches.count)")
            }
            return try JSONStore.emit(branch, indent: style.jsonIndentString)
        case .binary:
            guard branches.count == 1, let branch = branches.first else {
                throw SOPSError.invalidRequest("binary output needs exactly one document, the file has \(branches.count)")
            }
            for case .pair("data", let value) in branch {
                switch value {
                case .string(let s): return Array(s.utf8)
                case .rawString(let b): return b
                default: throw SOPSError.invalidRequest("binary output: 'data' is not a string")
                }
            }
            throw SOPSError.invalidRequest("binary output: the file has no 'data' key")
        }
    }

    /// Writes an encrypted tree with its metadata.
    func emitEncrypted(_ branches: SOPSBranches, metadata: SOPSMetadata, style: SOPSOutputStyle = .default) throws(SOPSError) -> [UInt8] {
        switch self {
        case .dotenv:
            guard branches.count == 1, let branch = branches.first else {
                throw SOPSError.invalidRequest("dotenv needs exactly one document")
            }
            return try DotenvStore.emit([try DotenvStore.embedMetadata(metadata, into: branch)])
        case .yaml, .json, .binary:
            var withMetadata: SOPSBranches = []
            for branch in branches {
                if branch.contains(where: { if case .pair("sops", _) = $0 { true } else { false } }) {
                    throw SOPSError.invalidRequest("the file has a top-level 'sops' key, which is reserved for sops metadata")
                }
                withMetadata.append(branch + [.pair("sops", .map(metadata.tree))])
            }
            return self == .yaml ? Array(YAMLStore.emit(withMetadata, indent: style.yamlIndent).utf8) : try SOPSFormat.json.emit(withMetadata, style: style)
        }
    }

    /// Removes the top-level `sops` map (from every document; the first one's is used).
    private static func extractNestedMetadata(_ branches: inout SOPSBranches) throws(SOPSError) -> SOPSMetadata {
        var found: [SOPSItem]?
        for index in branches.indices {
            var kept: [SOPSItem] = []
            for item in branches[index] {
                guard case .pair("sops", let value) = item else {
                    kept.append(item)
                    continue
                }
                if index == 0 {
                    guard found == nil else { throw SOPSError.invalidFile("the file has more than one 'sops' entry") }
                    guard case .map(let items) = value else { throw SOPSError.invalidFile("the 'sops' entry is not a map") }
                    found = items
                }
            }
            branches[index] = kept
        }
        guard let found else {
            throw SOPSError(.metadataNotFound, "sops metadata not found (the file is not encrypted with sops)")
        }
        return try SOPSMetadata(items: found)
    }

    /// Whether a plaintext tree already carries sops metadata.
    func hasMetadata(_ branches: SOPSBranches) -> Bool {
        guard let first = branches.first else { return false }
        return first.contains { item in
            guard case .pair(let key, _) = item else { return false }
            return self == .dotenv ? key.hasPrefix("sops_") : key == "sops"
        }
    }
}
