/// A port of the parts of yaml.v3's emitter (go.yaml.in/yaml/v3 v3.0.4, `encode.go` +
/// `emitterc.go`) that sops' YAML output uses, so that `decrypt` prints what `sops -d` prints
/// and encrypted files look like sops' own: block style with indent 4, sequences indented
/// inside maps, empty collections as `[]`/`{}`, yaml.v3's scalar style choice (plain unless the
/// text would read back differently, literal blocks for multi-line strings, no line folding), and
/// comments as head, line and foot comments.
///
/// Each function is the Go one without its `yaml_emitter_` prefix, camel-cased
/// (`emitBlockMappingKey` is `yaml_emitter_emit_block_mapping_key`), so the two can be read side
/// by side. Split over `+Nodes` (tree → events), `+Analysis` (scalar analysis) and `+Writers`.
/// Anchors, tags other than `!!binary`, flow styles other than empty collections, and line
/// folding are left out: sops never produces them.
struct GoYAMLEmitter {
    // MARK: Events (what encode.go feeds the emitter)

    enum ScalarStyle { case plain, singleQuoted, doubleQuoted, literal, folded }

    enum EventType { case streamStart, documentStart, documentEnd, mappingStart, mappingEnd, sequenceStart, sequenceEnd, scalar, streamEnd }

    struct Event {
        var type: EventType
        var value: [Unicode.Scalar] = []
        var style: ScalarStyle = .plain
        var flow = false
        /// `!!binary` for byte strings that are not UTF-8; otherwise untagged (implicit).
        var binaryTag = false
        var implicit = true
        var head: [Unicode.Scalar] = []
        var line: [Unicode.Scalar] = []
        var foot: [Unicode.Scalar] = []
        var tail: [Unicode.Scalar] = []
    }

    enum State {
        case streamStart, firstDocumentStart, documentStart, documentContent, documentEnd
        case flowSequenceFirstItem, flowSequenceTrailItem, flowSequenceItem
        case flowMappingFirstKey, flowMappingTrailKey, flowMappingKey, flowMappingSimpleValue, flowMappingValue
        case blockSequenceFirstItem, blockSequenceItem, blockMappingFirstKey, blockMappingKey
        case blockMappingSimpleValue, blockMappingValue, end
    }

    // MARK: Emitter state (yaml_emitter_t)

    let bestIndent: Int
    var out: [UInt8] = []
    var events: [Event] = []
    var head = 0
    var state: State = .streamStart
    var states: [State] = []
    var indent = -1
    var indents: [Int] = []
    var flowLevel = 0
    var rootContext = false
    var sequenceContext = false
    var mappingContext = false
    var simpleKeyContext = false
    var column = 0
    var whitespace = true
    var indention = true
    var openEnded = false
    var footIndent = -1
    var headComment: [Unicode.Scalar] = []
    var lineComment: [Unicode.Scalar] = []
    var footComment: [Unicode.Scalar] = []
    var tailComment: [Unicode.Scalar] = []
    var keyLineComment: [Unicode.Scalar] = []
    var tagHandle: [Unicode.Scalar] = []
    var tagSuffix: [Unicode.Scalar] = []

    struct ScalarAnalysis {
        var value: [Unicode.Scalar] = []
        var multiline = false
        var flowPlainAllowed = false
        var blockPlainAllowed = false
        var singleQuotedAllowed = false
        var blockAllowed = false
        var style: ScalarStyle = .plain
    }

    var scalarData = ScalarAnalysis()

    init(indent: Int = 4) {
        bestIndent = (2...9).contains(indent) ? indent : 2
    }

    // MARK: Entry point

    /// The YAML text of `branches`, one document each, as sops' YAML store writes them.
    mutating func emit(_ branches: SOPSBranches) -> String {
        events = [Event(type: .streamStart)]
        for branch in branches {
            events.append(Event(type: .documentStart))
            appendMapping(branch, tail: [])
            events.append(Event(type: .documentEnd))
        }
        events.append(Event(type: .streamEnd))
        while head < events.count {
            let event = events[head]
            analyzeEvent(event)
            stateMachine(event)
            head += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: State machine

    mutating func stateMachine(_ event: Event) {
        switch state {
        case .streamStart: emitStreamStart()
        case .firstDocumentStart: emitDocumentStart(event, first: true)
        case .documentStart: emitDocumentStart(event, first: false)
        case .documentContent: emitDocumentContent(event)
        case .documentEnd: emitDocumentEnd(event)
        case .flowSequenceFirstItem: emitFlowSequenceItem(event, first: true, trail: false)
        case .flowSequenceTrailItem: emitFlowSequenceItem(event, first: false, trail: true)
        case .flowSequenceItem: emitFlowSequenceItem(event, first: false, trail: false)
        case .flowMappingFirstKey: emitFlowMappingKey(event, first: true, trail: false)
        case .flowMappingTrailKey: emitFlowMappingKey(event, first: false, trail: true)
        case .flowMappingKey: emitFlowMappingKey(event, first: false, trail: false)
        case .flowMappingSimpleValue: emitFlowMappingValue(event, simple: true)
        case .flowMappingValue: emitFlowMappingValue(event, simple: false)
        case .blockSequenceFirstItem: emitBlockSequenceItem(event, first: true)
        case .blockSequenceItem: emitBlockSequenceItem(event, first: false)
        case .blockMappingFirstKey: emitBlockMappingKey(event, first: true)
        case .blockMappingKey: emitBlockMappingKey(event, first: false)
        case .blockMappingSimpleValue: emitBlockMappingValue(event, simple: true)
        case .blockMappingValue: emitBlockMappingValue(event, simple: false)
        case .end: break
        }
    }

    mutating func popState() {
        state = states.popLast() ?? .end
    }

    mutating func popIndent() {
        indent = indents.popLast() ?? -1
    }

    mutating func emitStreamStart() {
        indent = -1
        column = 0
        whitespace = true
        indention = true
        footIndent = -1
        state = .firstDocumentStart
    }

    mutating func emitDocumentStart(_ event: Event, first: Bool) {
        if event.type == .documentStart {
            let implicit = first
            if !implicit {
                writeIndent()
                writeIndicator(Array("---".unicodeScalars), needWhitespace: true, isWhitespace: false, isIndention: false)
                writeIndent()
            }
            if !headComment.isEmpty {
                processHeadComment()
                putBreak()
            }
            state = .documentContent
            return
        }
        // Stream end.
        if openEnded {
            writeIndicator(Array("...".unicodeScalars), needWhitespace: true, isWhitespace: false, isIndention: false)
            writeIndent()
        }
        state = .end
    }

    mutating func emitDocumentContent(_ event: Event) {
        states.append(.documentEnd)
        processHeadComment()
        emitNode(event, root: true, sequence: false, mapping: false, simpleKey: false)
        processLineComment()
        processFootComment()
    }

    mutating func emitDocumentEnd(_ event: Event) {
        footIndent = 0
        processFootComment()
        footIndent = -1
        writeIndent()
        state = .documentStart
    }

    mutating func increaseIndent(flow: Bool, indentless: Bool, compactSequence: Bool = false) {
        indents.append(indent)
        if indent < 0 {
            indent = flow ? bestIndent : 0
        } else if !indentless {
            if states.last == .blockSequenceItem {
                indent += 2
            } else {
                indent = bestIndent * ((indent + bestIndent) / bestIndent)
                if compactSequence { indent -= 2 }
            }
        }
    }

    mutating func emitFlowSequenceItem(_ event: Event, first: Bool, trail: Bool) {
        if first {
            writeIndicator(["["], needWhitespace: true, isWhitespace: true, isIndention: false)
            increaseIndent(flow: true, indentless: false)
            flowLevel += 1
        }
        if event.type == .sequenceEnd {
            flowLevel -= 1
            popIndent()
            if column == 0 { writeIndent() }
            writeIndicator(["]"], needWhitespace: false, isWhitespace: false, isIndention: false)
            processLineComment()
            processFootComment()
            popState()
            return
        }
        if !first && !trail { writeIndicator([","], needWhitespace: false, isWhitespace: false, isIndention: false) }
        processHeadComment()
        if column == 0 { writeIndent() }
        let hasTrailing = !lineComment.isEmpty || !footComment.isEmpty || !tailComment.isEmpty
        states.append(hasTrailing ? .flowSequenceTrailItem : .flowSequenceItem)
        emitNode(event, root: false, sequence: true, mapping: false, simpleKey: false)
        if !lineComment.isEmpty || !footComment.isEmpty || !tailComment.isEmpty {
            writeIndicator([","], needWhitespace: false, isWhitespace: false, isIndention: false)
        }
        processLineComment()
        processFootComment()
    }

    mutating func emitFlowMappingKey(_ event: Event, first: Bool, trail: Bool) {
        if first {
            writeIndicator(["{"], needWhitespace: true, isWhitespace: true, isIndention: false)
            increaseIndent(flow: true, indentless: false)
            flowLevel += 1
        }
        if event.type == .mappingEnd {
            if !headComment.isEmpty || !footComment.isEmpty || !tailComment.isEmpty, !first, !trail {
                writeIndicator([","], needWhitespace: false, isWhitespace: false, isIndention: false)
            }
            processHeadComment()
            flowLevel -= 1
            popIndent()
            writeIndicator(["}"], needWhitespace: false, isWhitespace: false, isIndention: false)
            processLineComment()
            processFootComment()
            popState()
            return
        }
        if !first && !trail { writeIndicator([","], needWhitespace: false, isWhitespace: false, isIndention: false) }
        processHeadComment()
        if column == 0 { writeIndent() }
        if checkSimpleKey() {
            states.append(.flowMappingSimpleValue)
            emitNode(event, root: false, sequence: false, mapping: true, simpleKey: true)
            return
        }
        writeIndicator(["?"], needWhitespace: true, isWhitespace: false, isIndention: false)
        states.append(.flowMappingValue)
        emitNode(event, root: false, sequence: false, mapping: true, simpleKey: false)
    }

    mutating func emitFlowMappingValue(_ event: Event, simple: Bool) {
        writeIndicator([":"], needWhitespace: !simple, isWhitespace: false, isIndention: false)
        let hasTrailing = !lineComment.isEmpty || !footComment.isEmpty || !tailComment.isEmpty
        states.append(hasTrailing ? .flowMappingTrailKey : .flowMappingKey)
        emitNode(event, root: false, sequence: false, mapping: true, simpleKey: false)
        if !lineComment.isEmpty || !footComment.isEmpty || !tailComment.isEmpty {
            writeIndicator([","], needWhitespace: false, isWhitespace: false, isIndention: false)
        }
        processLineComment()
        processFootComment()
    }

    mutating func emitBlockSequenceItem(_ event: Event, first: Bool) {
        if first {
            // yaml.v3 does not enable compact sequence indentation for sops.
            increaseIndent(flow: false, indentless: false, compactSequence: false)
        }
        if event.type == .sequenceEnd {
            popIndent()
            popState()
            return
        }
        processHeadComment()
        writeIndent()
        writeIndicator(["-"], needWhitespace: true, isWhitespace: false, isIndention: true)
        states.append(.blockSequenceItem)
        emitNode(event, root: false, sequence: true, mapping: false, simpleKey: false)
        processLineComment()
        processFootComment()
    }

    mutating func emitBlockMappingKey(_ event: Event, first: Bool) {
        if first { increaseIndent(flow: false, indentless: false) }
        processHeadComment()
        if event.type == .mappingEnd {
            popIndent()
            popState()
            return
        }
        writeIndent()
        if !lineComment.isEmpty {
            keyLineComment = lineComment
            lineComment = []
        }
        if checkSimpleKey() {
            states.append(.blockMappingSimpleValue)
            emitNode(event, root: false, sequence: false, mapping: true, simpleKey: true)
            return
        }
        writeIndicator(["?"], needWhitespace: true, isWhitespace: false, isIndention: true)
        states.append(.blockMappingValue)
        emitNode(event, root: false, sequence: false, mapping: true, simpleKey: false)
    }

    mutating func emitBlockMappingValue(_ event: Event, simple: Bool) {
        if simple {
            writeIndicator([":"], needWhitespace: false, isWhitespace: false, isIndention: false)
        } else {
            writeIndent()
            writeIndicator([":"], needWhitespace: true, isWhitespace: false, isIndention: true)
        }
        if !keyLineComment.isEmpty {
            if event.type == .scalar {
                if lineComment.isEmpty {
                    lineComment = keyLineComment
                    keyLineComment = []
                }
            } else if !event.flow && (event.type == .mappingStart || event.type == .sequenceStart) {
                swap(&lineComment, &keyLineComment)
                processLineComment()
                swap(&lineComment, &keyLineComment)
            }
        }
        states.append(.blockMappingKey)
        emitNode(event, root: false, sequence: false, mapping: true, simpleKey: false)
        processLineComment()
        processFootComment()
    }

    mutating func emitNode(_ event: Event, root: Bool, sequence: Bool, mapping: Bool, simpleKey: Bool) {
        rootContext = root
        sequenceContext = sequence
        mappingContext = mapping
        simpleKeyContext = simpleKey
        switch event.type {
        case .scalar: emitScalar(event)
        case .sequenceStart:
            state = flowLevel > 0 || event.flow || checkEmpty(.sequenceEnd) ? .flowSequenceFirstItem : .blockSequenceFirstItem
        case .mappingStart:
            state = flowLevel > 0 || event.flow || checkEmpty(.mappingEnd) ? .flowMappingFirstKey : .blockMappingFirstKey
        default: break
        }
    }

    func checkEmpty(_ end: EventType) -> Bool {
        head + 1 < events.count && events[head + 1].type == end
    }

    func checkSimpleKey() -> Bool {
        let event = events[head]
        var length = 0
        switch event.type {
        case .scalar:
            if scalarData.multiline { return false }
            // Go counts bytes.
            length = tagHandle.count + tagSuffix.count + scalarData.value.reduce(0) { $0 + String($1).utf8.count }
        case .sequenceStart:
            guard checkEmpty(.sequenceEnd) else { return false }
        case .mappingStart:
            guard checkEmpty(.mappingEnd) else { return false }
        default:
            return false
        }
        return length <= 128
    }

    mutating func emitScalar(_ event: Event) {
        selectScalarStyle(event)
        processTag()
        increaseIndent(flow: true, indentless: false)
        processScalar()
        popIndent()
        popState()
    }

    mutating func selectScalarStyle(_ event: Event) {
        let noTag = tagHandle.isEmpty && tagSuffix.isEmpty
        var style = event.style
        if simpleKeyContext && scalarData.multiline { style = .doubleQuoted }
        if style == .plain {
            if (flowLevel > 0 && !scalarData.flowPlainAllowed) || (flowLevel == 0 && !scalarData.blockPlainAllowed) {
                style = .singleQuoted
            }
            if scalarData.value.isEmpty && (flowLevel > 0 || simpleKeyContext) { style = .singleQuoted }
            if noTag && !event.implicit { style = .singleQuoted }
        }
        if style == .singleQuoted && !scalarData.singleQuotedAllowed { style = .doubleQuoted }
        if style == .literal || style == .folded {
            if !scalarData.blockAllowed || flowLevel > 0 || simpleKeyContext { style = .doubleQuoted }
        }
        scalarData.style = style
    }

    mutating func processTag() {
        guard !tagHandle.isEmpty || !tagSuffix.isEmpty else { return }
        if !whitespace { put(" ") }
        writeAll(tagHandle)
        whitespace = false
        indention = false
        writeAll(tagSuffix)
        whitespace = false
        indention = false
    }

    mutating func processScalar() {
        switch scalarData.style {
        case .plain: writePlainScalar(scalarData.value)
        case .singleQuoted: writeSingleQuotedScalar(scalarData.value)
        case .doubleQuoted: writeDoubleQuotedScalar(scalarData.value)
        case .literal, .folded: writeLiteralScalar(scalarData.value)
        }
    }
}
