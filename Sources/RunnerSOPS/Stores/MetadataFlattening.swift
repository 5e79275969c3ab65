/// sops' flattening of nested metadata into single-level keys for dotenv:
/// `age[0].enc` ⇄ `age__list_0__map_enc` (plus the `sops_` prefix in the file).
enum MetadataFlattening {
    private static let mapSeparator = "__map_"
    private static let listSeparator = "__list_"

    /// Depth-first, in the order of `items` (sops writes sorted metadata, so the lines come out sorted).
    static func flatten(_ items: [SOPSItem], prefix: String) -> [(String, SOPSValue)] {
        var out: [(String, SOPSValue)] = []
        func descend(_ value: SOPSValue, _ key: String) {
            switch value {
            case .map(let items):
                for case .pair(let name, let child) in items { descend(child, key + mapSeparator + name) }
            case .list(let children):
                var index = 0
                for child in children {
                    if case .comment = child { continue }
                    descend(child, key + listSeparator + String(index))
                    index += 1
                }
            default:
                out.append((key, value))
            }
        }
        for case .pair(let name, let value) in items { descend(value, prefix + name) }
        return out
    }

    private enum Token: Hashable {
        case key(String)
        case index(Int)
    }

    /// Splits `age__list_0__map_enc` into `key("age"), index(0), key("enc")`.
    private static func tokenize(_ path: String) throws(SOPSError) -> [Token] {
        let bytes = Array(path.utf8)
        let map = Array(mapSeparator.utf8)
        let list = Array(listSeparator.utf8)
        var tokens: [Token] = []
        var start = 0
        var isList = false
        var index = 0
        func finish(_ end: Int) throws(SOPSError) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if isList {
                guard let position = Int(text), position >= 0 else {
                    throw SOPSError.invalidFile("sops metadata key 'sops_\(path)' has a bad list index")
                }
                tokens.append(.index(position))
            } else {
                tokens.append(.key(text))
            }
        }
        while index < bytes.count {
            if bytes[index...].starts(with: map) {
                try finish(index)
                isList = false
                index += map.count
                start = index
            } else if bytes[index...].starts(with: list) {
                try finish(index)
                isList = true
                index += list.count
                start = index
            } else {
                index += 1
            }
        }
        try finish(bytes.count)
        return tokens
    }

    private final class Node {
        var value: SOPSValue?
        var keys: [String: Node] = [:]
        var indices: [Int: Node] = [:]
    }

    /// Rebuilds the nested metadata; map keys come out sorted, lists must be complete.
    static func unflatten(_ entries: [(String, SOPSValue)]) throws(SOPSError) -> [SOPSItem] {
        let root = Node()
        for (key, value) in entries {
            var node = root
            for token in try tokenize(key) {
                switch token {
                case .key(let name):
                    let next = node.keys[name] ?? Node()
                    node.keys[name] = next
                    node = next
                case .index(let position):
                    guard position < 10_000 else { throw SOPSError.invalidFile("sops metadata list index too large in 'sops_\(key)'") }
                    let next = node.indices[position] ?? Node()
                    node.indices[position] = next
                    node = next
                }
            }
            guard node.value == nil else { throw SOPSError.invalidFile("duplicate sops metadata key 'sops_\(key)'") }
            node.value = value
        }
        guard case .map(let items) = try convert(root) else { throw SOPSError.invalidFile("malformed sops metadata keys") }
        return items
    }

    private static func convert(_ node: Node) throws(SOPSError) -> SOPSValue {
        let kinds = (node.value != nil ? 1 : 0) + (node.keys.isEmpty ? 0 : 1) + (node.indices.isEmpty ? 0 : 1)
        guard kinds <= 1 else { throw SOPSError.invalidFile("sops metadata keys mix values, maps and lists at one path") }
        if let value = node.value { return value }
        if !node.indices.isEmpty {
            guard node.indices.keys.min() == 0, node.indices.keys.max() == node.indices.count - 1 else {
                throw SOPSError.invalidFile("sops metadata list is incomplete")
            }
            var items: [SOPSValue] = []
            for position in 0..<node.indices.count {
                guard let child = node.indices[position] else { continue }
                items.append(try convert(child))
            }
            return .list(items)
        }
        var items: [SOPSItem] = []
        for name in node.keys.keys.sorted() {
            guard let child = node.keys[name] else { continue }
            items.append(.pair(name, try convert(child)))
        }
        return .map(items)
    }
}
