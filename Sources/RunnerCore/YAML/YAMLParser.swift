import CYAML

/// Bounds on what one YAML file may cost to compose, so hostile input fails fast.
///
/// Aliases are what make a small file expensive: each one repeats its anchor's whole node, so
/// the composed document is measured with every repetition counted, by nodes and by bytes.
public struct YAMLLimits: Sendable {
    /// Nodes produced, counting every node an alias expands to (guards against alias bombs).
    public var maxNodes: Int
    /// Collections nested inside each other, the root collection being level 1.
    public var maxDepth: Int
    /// Size of the file in bytes.
    public var maxBytes: Int
    /// Size of the composed document in bytes: the UTF-8 text of every scalar plus one per node,
    /// counted again each time an alias repeats it (guards against aliases of big scalars,
    /// which the node count alone lets through).
    public var maxExpandedBytes: Int

    public init(maxNodes: Int = 100_000, maxDepth: Int = 64, maxBytes: Int = 8 << 20, maxExpandedBytes: Int = 16 << 20) {
        self.maxNodes = maxNodes
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.maxExpandedBytes = maxExpandedBytes
    }

    /// 100 000 nodes, 64 levels, 8 MiB of file, 16 MiB expanded.
    public static let `default` = YAMLLimits()
}

/// Composes a YAML file into `YAMLNode`s, over libyaml's event API.
///
/// Stricter than YAML itself where that catches mistakes: one document per file, no duplicate
/// keys, scalar keys only, UTF-8 text only.
public enum YAMLParser {
    /// Parses exactly one document. Returns nil when the file holds no document (empty / only comments).
    ///
    /// - Parameters:
    ///   - bytes: the file's contents, UTF-8 (a byte order mark is allowed).
    ///   - file: the name used verbatim in every `SourceLocation`.
    ///   - limits: bounds on size, nesting and node count.
    /// - Throws: `InvalidInput` with one diagnostic, located at the offending line and column.
    public static func parse(_ bytes: [UInt8], file: String, limits: YAMLLimits = .default) throws(InvalidInput) -> YAMLNode? {
        guard bytes.count <= limits.maxBytes else {
            throw InvalidInput(
                "file is too large (\(bytes.count) bytes; the limit is \(limits.maxBytes))",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        try checkText(bytes, file: file)
        guard !bytes.isEmpty else { return nil }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(InvalidInput) -> YAMLNode? in
            var composer = YAMLComposer(events: try YAMLEventReader(buffer, file: file), limits: limits)
            return try composer.composeStream()
        }
    }

    /// Rejects what is not YAML text before libyaml sees it: invalid UTF-8 and NUL bytes
    /// (binary files), and the control characters YAML forbids, each at its line and column.
    private static func checkText(_ bytes: [UInt8], file: String) throws(InvalidInput) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        var first = true
        while true {
            let location = SourceLocation(file: file, line: line, column: column)
            switch decoder.decode(&iterator) {
            case .emptyInput:
                return
            case .error:
                throw InvalidInput("file is not UTF-8 text (binary?)", at: location)
            case .scalarValue(let scalar):
                defer { first = false }
                switch scalar.value {
                case 0:
                    throw InvalidInput("file is not UTF-8 text (binary?): it contains a NUL byte", at: location)
                case 0xFEFF where first:
                    continue  // byte order mark: libyaml skips it without moving its marks
                case 0x0A:
                    line += 1
                    column = 1
                    continue
                case 0x09, 0x0D, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...:
                    column += 1
                default:
                    let code = String(scalar.value, radix: 16, uppercase: true)
                    throw InvalidInput(
                        "character U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code) is not allowed in YAML (binary file?)",
                        at: location)
                }
            }
        }
    }
}

// MARK: - Events

/// A libyaml event, copied into Swift values so that no C memory outlives `YAMLEventReader.next()`.
private enum YAMLEvent {
    case streamStart
    case streamEnd
    case documentStart(SourceLocation)
    case documentEnd
    case alias(anchor: String, at: SourceLocation)
    case scalar(YAMLScalar, anchor: String?, at: SourceLocation)
    case sequenceStart(anchor: String?, tag: String?, at: SourceLocation)
    case sequenceEnd
    case mappingStart(anchor: String?, tag: String?, at: SourceLocation)
    case mappingEnd
}

/// Owns a libyaml parser reading from caller-owned bytes; frees it when released.
///
/// The bytes must outlive the reader (`YAMLParser.parse` keeps both inside one
/// `withUnsafeBufferPointer`).
private final class YAMLEventReader {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeBufferPointer<UInt8>
    private let file: String

    init(_ input: UnsafeBufferPointer<UInt8>, file: String) throws(InvalidInput) {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard let base = input.baseAddress, yaml_parser_initialize(parser) != 0 else {
            parser.deallocate()  // a failed yaml_parser_initialize has already freed what it allocated
            throw InvalidInput("out of memory while parsing YAML", at: SourceLocation(file: file, line: 1, column: 1))
        }
        yaml_parser_set_input_string(parser, base, input.count)
        // Stored last: an initializer that throws before this point does not run `deinit`.
        self.parser = parser
        self.input = input
        self.file = file
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    /// The next event, or the syntax error libyaml found.
    func next() throws(InvalidInput) -> YAMLEvent {
        var event = yaml_event_t()
        defer { yaml_event_delete(&event) }  // a no-op on the zeroed event of a failed parse
        guard yaml_parser_parse(parser, &event) != 0 else { throw syntaxError() }

        let at = location(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(at)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: string(event.data.alias.anchor) ?? "", at: at)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = data.value.map { value in
                String(decoding: UnsafeBufferPointer(start: value, count: data.length), as: UTF8.self)
            } ?? ""
            let style: YAMLScalar.Style =
                switch data.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: .literal
                case YAML_FOLDED_SCALAR_STYLE: .folded
                default: .plain
                }
            var scalar = YAMLScalar(text, style: style, tag: string(data.tag))
            if style == .literal || style == .folded { scalar.indent = blockIndent(afterLine: Int(event.start_mark.line)) }
            return .scalar(scalar, anchor: string(data.anchor), at: at)
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return .sequenceStart(anchor: string(data.anchor), tag: string(data.tag), at: at)
        case YAML_SEQUENCE_END_EVENT:
            return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return .mappingStart(anchor: string(data.anchor), tag: string(data.tag), at: at)
        case YAML_MAPPING_END_EVENT:
            return .mappingEnd
        default:  // YAML_STREAM_END_EVENT, and YAML_NO_EVENT which only follows it
            return .streamEnd
        }
    }

    /// The indentation of a block scalar whose indicator (`|`, `>`) is on 0-based line `line`:
    /// the leading spaces of its first non-blank content line.
    private func blockIndent(afterLine line: Int) -> Int {
        var current = 0
        var i = 0
        while i < input.count, current <= line {
            if input[i] == UInt8(ascii: "\n") { current += 1 }
            i += 1
        }
        while i < input.count {
            var spaces = 0
            while i + spaces < input.count, input[i + spaces] == UInt8(ascii: " ") { spaces += 1 }
            let end = i + spaces
            if end < input.count, input[end] != UInt8(ascii: "\n"), input[end] != UInt8(ascii: "\r") { return spaces }
            guard let newline = input[end...].firstIndex(of: UInt8(ascii: "\n")) else { return spaces }
            i = newline + 1
        }
        return 0
    }

    /// libyaml's problem (and context) at its problem mark, 1-based.
    private func syntaxError() -> InvalidInput {
        let parser = parser.pointee
        if parser.error == YAML_MEMORY_ERROR {
            return InvalidInput("out of memory while parsing YAML", at: location(parser.problem_mark))
        }
        // Reader errors carry a byte offset instead of a mark.
        if parser.error == YAML_READER_ERROR {
            let problem = parser.problem.map { String(cString: $0) } ?? "invalid text"
            return InvalidInput(problem, at: location(offset: parser.problem_offset))
        }
        var message = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let mark = parser.problem_mark
        if mark.index < input.count, input[mark.index] == UInt8(ascii: "\t") {
            message += " (a tab: YAML indents with spaces only)"
        } else if let context = parser.context.map({ String(cString: $0) }) {
            let start = parser.context_mark
            message +=
                start.index == mark.index
                ? " (\(context))"
                : " (\(context) that started at line \(start.line + 1), column \(start.column + 1))"
        }
        return InvalidInput(message, at: location(mark))
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
    }

    /// Line and column (in characters) of a byte offset into the input.
    private func location(offset: Int) -> SourceLocation {
        var line = 1
        var column = 1
        for byte in input.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}

// MARK: - YAMLComposer

/// Builds nodes from events, one recursive call per node, resolving aliases and merge keys and
/// enforcing the limits as it goes (never after the fact).
private struct YAMLComposer {
    /// What (part of) a document costs, in the units of `YAMLLimits`.
    private struct Size {
        var nodes = 0
        /// Scalar text in UTF-8 bytes, plus one per node.
        var bytes = 0

        static func - (lhs: Size, rhs: Size) -> Size { Size(nodes: lhs.nodes - rhs.nodes, bytes: lhs.bytes - rhs.bytes) }
    }

    /// A completed anchored node, with what copying it costs.
    private struct Anchored {
        var node: YAMLNode
        var size: Size
        var height: Int
    }

    /// A composed node, how many collection levels it contains (0 for a scalar), and where it
    /// appears: its own location, or that of the alias it was copied for.
    private struct Composed {
        var node: YAMLNode
        var height: Int
        var usedAt: SourceLocation
    }

    private let events: YAMLEventReader
    private let limits: YAMLLimits
    private var anchors: [String: Anchored] = [:]
    /// Anchors whose node is still being composed: an alias to one of them would be recursive.
    private var open: Set<String> = []
    /// The document so far, alias expansions included.
    private var size = Size()

    init(events: YAMLEventReader, limits: YAMLLimits) {
        self.events = events
        self.limits = limits
    }

    /// stream-start, then nothing or exactly one document, then stream-end.
    mutating func composeStream() throws(InvalidInput) -> YAMLNode? {
        guard case .streamStart = try events.next() else { throw internalError() }
        switch try events.next() {
        case .streamEnd:
            return nil
        case .documentStart:
            let root = try compose(try events.next(), depth: 0).node
            guard case .documentEnd = try events.next() else { throw internalError() }
            switch try events.next() {
            case .streamEnd:
                return root
            case .documentStart(let at):
                throw InvalidInput("expected one YAML document, found a second one", at: at)
            default:
                throw internalError()
            }
        default:
            throw internalError()
        }
    }

    /// The node that starts with `event`, its children read from the reader. `depth` is the
    /// number of collections around it.
    private mutating func compose(_ event: YAMLEvent, depth: Int) throws(InvalidInput) -> Composed {
        switch event {
        case .alias(let anchor, let at):
            return try expand(anchor, at: at, depth: depth)
        case .scalar(let scalar, let anchor, let at):
            let start = size
            try count(at: at, text: scalar.text)
            try checkScalarTag(scalar, at: at)
            let composed = Composed(node: YAMLNode(.scalar(scalar), at: at), height: 0, usedAt: at)
            return register(composed, anchor: anchor, since: start)
        case .sequenceStart(let anchor, let tag, let at):
            return try composeCollection(anchor: anchor, tag: tag, at: at, depth: depth, isMapping: false)
        case .mappingStart(let anchor, let tag, let at):
            return try composeCollection(anchor: anchor, tag: tag, at: at, depth: depth, isMapping: true)
        default:
            throw internalError()
        }
    }

    private mutating func composeCollection(
        anchor: String?, tag: String?, at: SourceLocation, depth: Int, isMapping: Bool
    ) throws(InvalidInput) -> Composed {
        guard depth < limits.maxDepth else {
            throw InvalidInput("document nests deeper than \(limits.maxDepth) levels", at: at)
        }
        let expected = isMapping ? YAMLCoreSchema.mapTag : YAMLCoreSchema.seqTag
        if let tag, tag.hasPrefix("tag:yaml.org,2002:"), tag != expected {
            throw InvalidInput("tag '\(shortTag(tag))' cannot be applied to a \(isMapping ? "map" : "list")", at: at)
        }
        let start = size
        try count(at: at)
        if let anchor { open.insert(anchor) }
        let composed =
            isMapping
            ? try composeMapping(at: at, depth: depth + 1)
            : try composeSequence(at: at, depth: depth + 1)
        return register(composed, anchor: anchor, since: start)
    }

    private mutating func composeSequence(at: SourceLocation, depth: Int) throws(InvalidInput) -> Composed {
        var items: [YAMLNode] = []
        var height = 0
        while true {
            let event = try events.next()
            if case .sequenceEnd = event { break }
            let item = try compose(event, depth: depth)
            items.append(item.node)
            height = max(height, item.height)
        }
        return Composed(node: YAMLNode(.sequence(items), at: at), height: height + 1, usedAt: at)
    }

    private mutating func composeMapping(at: SourceLocation, depth: Int) throws(InvalidInput) -> Composed {
        var pairs: [YAMLPair] = []
        /// Index in `pairs` where each merge key stood, with the mappings it merges (first wins).
        var merges: [(index: Int, sources: [[YAMLPair]])] = []
        var seen: [String: SourceLocation] = [:]
        var height = 0
        while true {
            let event = try events.next()
            if case .mappingEnd = event { break }
            let composedKey = try compose(event, depth: depth)
            let key = composedKey.node
            guard let keyScalar = key.scalar else {
                throw InvalidInput("mapping keys must be scalars, found a \(key.kindName)", at: composedKey.usedAt)
            }
            if let first = seen[keyScalar.text] {
                throw InvalidInput(
                    "duplicate key '\(keyScalar.text)' (first defined at line \(first.line))", at: composedKey.usedAt)
            }
            seen[keyScalar.text] = composedKey.usedAt
            let value = try compose(try events.next(), depth: depth)
            height = max(height, value.height)
            if isMergeKey(keyScalar) {
                merges.append((pairs.count, try mergeSources(value.node, usedAt: value.usedAt)))
            } else {
                pairs.append(YAMLPair(key: key, value: value.node))
            }
        }
        if !merges.isEmpty { pairs = merge(pairs, merges, explicit: Set(seen.keys)) }
        return Composed(node: YAMLNode(.mapping(pairs), at: at), height: height + 1, usedAt: at)
    }

    // MARK: Aliases and anchors

    /// A copy of the anchored node (locations included), refused when it would break the node,
    /// expanded-size or depth limit. Anchors inside the anchor were already counted in its size,
    /// so nested aliases (a billion laughs) are refused at the first alias that goes over.
    private mutating func expand(_ anchor: String, at: SourceLocation, depth: Int) throws(InvalidInput) -> Composed {
        guard let anchored = anchors[anchor] else {
            if open.contains(anchor) {
                throw InvalidInput("alias '*\(anchor)' refers to a node that contains it", at: at)
            }
            throw InvalidInput("undefined alias '*\(anchor)'", at: at)
        }
        guard anchored.size.nodes <= limits.maxNodes - size.nodes else {
            throw InvalidInput("document expands to more than \(limits.maxNodes) nodes (alias bomb?)", at: at)
        }
        guard anchored.size.bytes <= limits.maxExpandedBytes - size.bytes else {
            throw InvalidInput(
                "alias '*\(anchor)' repeats \(anchored.size.bytes) bytes and makes the document larger than \(limits.maxExpandedBytes) bytes when expanded (alias bomb?)",
                at: at)
        }
        guard depth + anchored.height <= limits.maxDepth else {
            throw InvalidInput("alias '*\(anchor)' makes the document nest deeper than \(limits.maxDepth) levels", at: at)
        }
        size.nodes += anchored.size.nodes
        size.bytes += anchored.size.bytes
        // A plain copy: its locations stay where its text is, which is what column-precise
        // diagnostics (templates inside a quoted scalar) need.
        return Composed(node: anchored.node, height: anchored.height, usedAt: at)
    }

    /// Records `composed` under `anchor`; `start` is the document's size before it was composed.
    private mutating func register(_ composed: Composed, anchor: String?, since start: Size) -> Composed {
        if let anchor {
            open.remove(anchor)
            anchors[anchor] = Anchored(node: composed.node, size: size - start, height: composed.height)
        }
        return composed
    }

    /// Adds one node (with `text`, for a scalar) to the document's size.
    private mutating func count(at: SourceLocation, text: String = "") throws(InvalidInput) {
        guard size.nodes < limits.maxNodes else {
            throw InvalidInput("document has more than \(limits.maxNodes) nodes", at: at)
        }
        let bytes = text.utf8.count + 1
        guard bytes <= limits.maxExpandedBytes - size.bytes else {
            throw InvalidInput("document is larger than \(limits.maxExpandedBytes) bytes when expanded", at: at)
        }
        size.nodes += 1
        size.bytes += bytes
    }

    // MARK: Merge keys

    /// A plain `<<`, or any scalar tagged `!!merge`.
    private func isMergeKey(_ key: YAMLScalar) -> Bool {
        key.tag == YAMLCoreSchema.mergeTag || (key.tag == nil && key.style == .plain && key.text == "<<")
    }

    /// The value of a merge key: one mapping or a list of mappings.
    private func mergeSources(_ value: YAMLNode, usedAt: SourceLocation) throws(InvalidInput) -> [[YAMLPair]] {
        if let pairs = value.mapping { return [pairs] }
        if let items = value.sequence {
            var sources: [[YAMLPair]] = []
            for item in items {
                guard let pairs = item.mapping else {
                    throw InvalidInput(
                        "merge key '<<' expects a map or a list of maps, found a \(item.kindName) in the list",
                        at: item.location)
                }
                sources.append(pairs)
            }
            return sources
        }
        throw InvalidInput("merge key '<<' expects a map or a list of maps, found a \(value.kindName)", at: usedAt)
    }

    /// Inserts merged pairs where their merge key stood, skipping keys the mapping defines
    /// itself and keys an earlier source already gave.
    private func merge(
        _ pairs: [YAMLPair], _ merges: [(index: Int, sources: [[YAMLPair]])], explicit: Set<String>
    ) -> [YAMLPair] {
        var taken = explicit
        var result: [YAMLPair] = []
        var next = merges.makeIterator()
        var pending = next.next()
        for index in 0...pairs.count {
            while let merge = pending, merge.index == index {
                for pair in merge.sources.joined() {
                    let key = pair.key.scalar?.text ?? ""
                    if taken.insert(key).inserted { result.append(pair) }
                }
                pending = next.next()
            }
            if index < pairs.count { result.append(pairs[index]) }
        }
        return result
    }

    // MARK: Tags

    /// Scalars tagged with a core-schema type must read as that type.
    private func checkScalarTag(_ scalar: YAMLScalar, at: SourceLocation) throws(InvalidInput) {
        guard let tag = scalar.tag else { return }
        let fits: Bool =
            switch tag {
            case YAMLCoreSchema.nullTag: YAMLCoreSchema.null(scalar.text) != nil
            case YAMLCoreSchema.boolTag: YAMLCoreSchema.bool(scalar.text) != nil
            case YAMLCoreSchema.intTag: YAMLCoreSchema.int(scalar.text) != nil
            case YAMLCoreSchema.floatTag: YAMLCoreSchema.float(scalar.text) != nil || YAMLCoreSchema.int(scalar.text) != nil
            case YAMLCoreSchema.seqTag, YAMLCoreSchema.mapTag: false
            default: true
            }
        guard fits else {
            throw InvalidInput("'\(scalar.text)' is not a valid \(shortTag(tag))", at: at)
        }
    }

    /// `tag:yaml.org,2002:int` as users write it: `!!int`.
    private func shortTag(_ tag: String) -> String {
        tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
    }

    /// An event libyaml never sends at this point; reported rather than trusted.
    private func internalError() -> InvalidInput {
        InvalidInput("unexpected YAML event (internal error)")
    }
}
