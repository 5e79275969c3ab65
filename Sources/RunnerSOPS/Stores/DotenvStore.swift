/// sops' dotenv store, byte for byte: lines split on `\n` only (a `\r` stays in the value),
/// empty lines dropped, `#` lines are comments, `KEY=value` split at the first `=` with no
/// trimming and no quote handling, and the two characters `\n` in a value meaning a newline.
enum DotenvStore {
    static let metadataPrefix = "sops_"

    static func load(_ bytes: [UInt8]) throws(SOPSError) -> SOPSBranches {
        var branch: [SOPSItem] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            if line.first == UInt8(ascii: "#") {
                branch.append(.comment(SOPSComment(text: String(decoding: line.dropFirst(), as: UTF8.self))))
                continue
            }
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
                throw SOPSError.invalidFile("dotenv line \(index + 1) has no '=' (expected KEY=value)")
            }
            let key = String(decoding: line[..<equals], as: UTF8.self)
            let value = String(decoding: line[(equals + 1)...], as: UTF8.self).replacingAll("\\n", with: "\n")
            branch.append(.pair(key, .string(value)))
        }
        return [branch]
    }

    static func emit(_ branches: SOPSBranches) throws(SOPSError) -> [UInt8] {
        guard let branch = branches.first else { return [] }
        var out: [UInt8] = []
        for item in branch {
            switch item {
            case .comment(let comment):
                out += Array("#\(comment.text)\n".utf8)
            case .pair(let key, let value):
                let text: String
                switch value {
                case .string(let s): text = s.replacingAll("\n", with: "\\n")
                case .rawString(let b):
                    out += Array("\(key)=".utf8) + b + [UInt8(ascii: "\n")]
                    continue
                case .map, .list:
                    throw SOPSError.invalidRequest("cannot use complex value in dotenv file; offending key '\(key)'")
                default: text = value.flatString ?? ""
                }
                out += Array("\(key)=\(text)\n".utf8)
            }
        }
        return out
    }

    /// Pulls out the `sops_*` lines and unflattens them into metadata.
    static func extractMetadata(_ branches: inout SOPSBranches) throws(SOPSError) -> SOPSMetadata {
        guard var branch = branches.first else {
            throw SOPSError(.metadataNotFound, "sops metadata not found (the file is not encrypted with sops)")
        }
        var flat: [(String, SOPSValue)] = []
        branch.removeAll { item in
            guard case .pair(let key, let value) = item, key.hasPrefix(metadataPrefix) else { return false }
            flat.append((String(key.dropFirst(metadataPrefix.count)), value))
            return true
        }
        branches[0] = branch
        guard !flat.isEmpty else {
            throw SOPSError(.metadataNotFound, "sops metadata not found (the file is not encrypted with sops)")
        }
        return try SOPSMetadata(items: try MetadataFlattening.unflatten(flat))
    }

    /// The branch followed by the metadata as flattened `sops_*` lines.
    static func embedMetadata(_ metadata: SOPSMetadata, into branch: [SOPSItem]) throws(SOPSError) -> [SOPSItem] {
        for case .pair(let key, _) in branch where key.hasPrefix(metadataPrefix) {
            throw SOPSError.invalidRequest("key '\(key)' starts with the reserved prefix 'sops_' used for sops metadata")
        }
        return branch + MetadataFlattening.flatten(metadata.tree, prefix: metadataPrefix).map { .pair($0.0, $0.1) }
    }
}

extension String {
    /// Every occurrence of `target` replaced, left to right, comparing UTF-8 bytes (not
    /// Characters: "\r\n" is one Character, but sops works on bytes).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8)
        let pattern = Array(target.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return self }
        let replacementBytes = Array(replacement.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == pattern[0], index + pattern.count <= bytes.count,
                bytes[index..<(index + pattern.count)].elementsEqual(pattern)
            {
                out += replacementBytes
                index += pattern.count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
