/// yaml.v3's `yaml_emitter_analyze_event`/`analyze_scalar`: which styles a scalar allows.
extension GoYAMLEmitter {
    // MARK: Event analysis

    mutating func analyzeEvent(_ event: Event) {
        tagHandle = []
        tagSuffix = []
        scalarData.value = []
        if !event.head.isEmpty { headComment = event.head }
        if !event.line.isEmpty { lineComment = event.line }
        if !event.foot.isEmpty { footComment = event.foot }
        if !event.tail.isEmpty { tailComment = event.tail }
        if event.type == .scalar {
            if event.binaryTag {
                tagHandle = Array("!!".unicodeScalars)
                tagSuffix = Array("binary".unicodeScalars)
            }
            analyzeScalar(event.value)
        }
    }

    mutating func analyzeScalar(_ value: [Unicode.Scalar]) {
        scalarData.value = value
        guard !value.isEmpty else {
            scalarData.multiline = false
            scalarData.flowPlainAllowed = false
            scalarData.blockPlainAllowed = true
            scalarData.singleQuotedAllowed = true
            scalarData.blockAllowed = false
            return
        }
        var blockIndicators = false
        var flowIndicators = false
        var lineBreaks = false
        var specialCharacters = false
        var tabCharacters = false
        var leadingSpace = false
        var leadingBreak = false
        var trailingSpace = false
        var trailingBreak = false
        var breakSpace = false
        var spaceBreak = false
        var previousSpace = false
        var previousBreak = false

        if value.count >= 3 && (value.prefix(3).elementsEqual("---".unicodeScalars) || value.prefix(3).elementsEqual("...".unicodeScalars)) {
            blockIndicators = true
            flowIndicators = true
        }
        var precededByWhitespace = true
        for (i, c) in value.enumerated() {
            let followedByWhitespace = i + 1 >= value.count || Self.isBlank(value[i + 1])
            if i == 0 {
                switch c {
                case "#", ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`":
                    flowIndicators = true
                    blockIndicators = true
                case "?", ":":
                    flowIndicators = true
                    if followedByWhitespace { blockIndicators = true }
                case "-":
                    if followedByWhitespace {
                        flowIndicators = true
                        blockIndicators = true
                    }
                default: break
                }
            } else {
                switch c {
                case ",", "?", "[", "]", "{", "}":
                    flowIndicators = true
                case ":":
                    flowIndicators = true
                    if followedByWhitespace { blockIndicators = true }
                case "#":
                    if precededByWhitespace {
                        flowIndicators = true
                        blockIndicators = true
                    }
                default: break
                }
            }
            if c == "\t" {
                tabCharacters = true
            } else if !Self.isPrintable(c) {
                specialCharacters = true
            }
            if c == " " {
                if i == 0 { leadingSpace = true }
                if i == value.count - 1 { trailingSpace = true }
                if previousBreak { breakSpace = true }
                previousSpace = true
                previousBreak = false
            } else if Self.isBreak(c) {
                lineBreaks = true
                if i == 0 { leadingBreak = true }
                if i == value.count - 1 { trailingBreak = true }
                if previousSpace { spaceBreak = true }
                previousSpace = false
                previousBreak = true
            } else {
                previousSpace = false
                previousBreak = false
            }
            precededByWhitespace = Self.isBlank(c) || Self.isBreak(c) || c == "\0"
        }
        scalarData.multiline = lineBreaks
        scalarData.flowPlainAllowed = true
        scalarData.blockPlainAllowed = true
        scalarData.singleQuotedAllowed = true
        scalarData.blockAllowed = true
        if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
            scalarData.flowPlainAllowed = false
            scalarData.blockPlainAllowed = false
        }
        if trailingSpace { scalarData.blockAllowed = false }
        if breakSpace {
            scalarData.flowPlainAllowed = false
            scalarData.blockPlainAllowed = false
            scalarData.singleQuotedAllowed = false
        }
        if spaceBreak || tabCharacters || specialCharacters {
            scalarData.flowPlainAllowed = false
            scalarData.blockPlainAllowed = false
            scalarData.singleQuotedAllowed = false
        }
        if spaceBreak || specialCharacters { scalarData.blockAllowed = false }
        if lineBreaks {
            scalarData.flowPlainAllowed = false
            scalarData.blockPlainAllowed = false
        }
        if flowIndicators { scalarData.flowPlainAllowed = false }
        if blockIndicators { scalarData.blockPlainAllowed = false }
    }
}
