/// yaml.v3's output primitives, comment processing and scalar writers (`emitterc.go`).
extension GoYAMLEmitter {
    // MARK: Output primitives

    mutating func put(_ c: Unicode.Scalar) {
        out += Array(String(c).utf8)
        column += 1
    }

    mutating func putBreak() {
        out.append(UInt8(ascii: "\n"))
        column = 0
        indention = true
    }

    mutating func write(_ c: Unicode.Scalar) {
        out += Array(String(c).utf8)
        column += 1
    }

    mutating func writeAll(_ s: [Unicode.Scalar]) {
        for c in s { write(c) }
    }

    mutating func writeBreak(_ c: Unicode.Scalar) {
        if c == "\n" {
            putBreak()
        } else {
            write(c)
            column = 0
            indention = true
        }
    }

    static func isBreak(_ c: Unicode.Scalar) -> Bool {
        c == "\r" || c == "\n" || c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}"
    }

    static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x0A, 0x20...0x7E, 0xA0...0xD7FF, 0x10000...: true
        case 0xE000...0xFFFD: c.value != 0xFEFF
        default: false
        }
    }


    // MARK: Comments

    mutating func processHeadComment() {
        if !tailComment.isEmpty {
            writeIndent()
            writeComment(tailComment)
            tailComment = []
            footIndent = max(indent, 0)
        }
        guard !headComment.isEmpty else { return }
        writeIndent()
        writeComment(headComment)
        headComment = []
    }

    mutating func processLineComment(linebreak: Bool = false) {
        guard !lineComment.isEmpty else {
            if linebreak { putBreak() }
            return
        }
        if !whitespace { put(" ") }
        writeComment(lineComment)
        lineComment = []
    }

    mutating func processFootComment() {
        guard !footComment.isEmpty else { return }
        writeIndent()
        writeComment(footComment)
        footComment = []
        footIndent = max(indent, 0)
    }

    mutating func writeComment(_ comment: [Unicode.Scalar]) {
        var breaks = false
        var pound = false
        for c in comment {
            if Self.isBreak(c) {
                writeBreak(c)
                breaks = true
                pound = false
            } else {
                if breaks { writeIndent() }
                if !pound {
                    if c != "#" {
                        put("#")
                        put(" ")
                    }
                    pound = true
                }
                write(c)
                indention = false
                breaks = false
            }
        }
        if !breaks { putBreak() }
        whitespace = true
    }

    // MARK: Writers

    mutating func writeIndent() {
        let target = max(indent, 0)
        if !indention || column > target || (column == target && !whitespace) { putBreak() }
        if footIndent == target { putBreak() }
        while column < target { put(" ") }
        whitespace = true
        footIndent = -1
    }

    mutating func writeIndicator(_ indicator: [Unicode.Scalar], needWhitespace: Bool, isWhitespace: Bool, isIndention: Bool) {
        if needWhitespace && !whitespace { put(" ") }
        writeAll(indicator)
        whitespace = isWhitespace
        indention = indention && isIndention
        openEnded = false
    }

    mutating func writePlainScalar(_ value: [Unicode.Scalar]) {
        if !value.isEmpty && !whitespace { put(" ") }
        var breaks = false
        for c in value {
            if c == " " {
                write(c)  // best_width is unlimited: never folded
            } else if Self.isBreak(c) {
                if !breaks && c == "\n" { putBreak() }
                writeBreak(c)
                breaks = true
            } else {
                if breaks { writeIndent() }
                write(c)
                indention = false
                breaks = false
            }
        }
        if !value.isEmpty { whitespace = false }
        indention = false
        if rootContext { openEnded = true }
    }

    mutating func writeSingleQuotedScalar(_ value: [Unicode.Scalar]) {
        writeIndicator(["'"], needWhitespace: true, isWhitespace: false, isIndention: false)
        var breaks = false
        for c in value {
            if c == " " {
                write(c)
            } else if Self.isBreak(c) {
                if !breaks && c == "\n" { putBreak() }
                writeBreak(c)
                breaks = true
            } else {
                if breaks { writeIndent() }
                if c == "'" { put("'") }
                write(c)
                indention = false
                breaks = false
            }
        }
        writeIndicator(["'"], needWhitespace: false, isWhitespace: false, isIndention: false)
        whitespace = false
        indention = false
    }

    mutating func writeDoubleQuotedScalar(_ value: [Unicode.Scalar]) {
        writeIndicator(["\""], needWhitespace: true, isWhitespace: false, isIndention: false)
        let startsWithBOM = value.first == "\u{FEFF}"  // yaml.v3's is_bom looks at the first character only
        for c in value {
            if !Self.isPrintable(c) || startsWithBOM || Self.isBreak(c) || c == "\"" || c == "\\" {
                put("\\")
                switch c.value {
                case 0x00: put("0")
                case 0x07: put("a")
                case 0x08: put("b")
                case 0x09: put("t")
                case 0x0A: put("n")
                case 0x0B: put("v")
                case 0x0C: put("f")
                case 0x0D: put("r")
                case 0x1B: put("e")
                case 0x22: put("\"")
                case 0x5C: put("\\")
                case 0x85: put("N")
                case 0xA0: put("_")
                case 0x2028: put("L")
                case 0x2029: put("P")
                default:
                    let (letter, width): (Unicode.Scalar, Int) = c.value <= 0xFF ? ("x", 2) : c.value <= 0xFFFF ? ("u", 4) : ("U", 8)
                    put(letter)
                    let hex = String(c.value, radix: 16, uppercase: true)
                    for digit in (String(repeating: "0", count: max(0, width - hex.count)) + hex).unicodeScalars { put(digit) }
                }
            } else {
                write(c)
            }
        }
        writeIndicator(["\""], needWhitespace: false, isWhitespace: false, isIndention: false)
        whitespace = false
        indention = false
    }

    mutating func writeBlockScalarHints(_ value: [Unicode.Scalar]) {
        if let first = value.first, first == " " || Self.isBreak(first) {
            let hint = Unicode.Scalar(UInt8(ascii: "0") + UInt8(bestIndent))
            writeIndicator([hint], needWhitespace: false, isWhitespace: false, isIndention: false)
        }
        openEnded = false
        var chomp: Unicode.Scalar?
        if let last = value.last {
            if !Self.isBreak(last) {
                chomp = "-"
            } else if value.count == 1 {
                chomp = "+"
                openEnded = true
            } else if Self.isBreak(value[value.count - 2]) {
                chomp = "+"
                openEnded = true
            }
        } else {
            chomp = "-"
        }
        if let chomp { writeIndicator([chomp], needWhitespace: false, isWhitespace: false, isIndention: false) }
    }

    mutating func writeLiteralScalar(_ value: [Unicode.Scalar]) {
        writeIndicator(["|"], needWhitespace: true, isWhitespace: false, isIndention: false)
        writeBlockScalarHints(value)
        processLineComment(linebreak: true)
        whitespace = true
        var breaks = true
        for c in value {
            if Self.isBreak(c) {
                writeBreak(c)
                breaks = true
            } else {
                if breaks { writeIndent() }
                write(c)
                indention = false
                breaks = false
            }
        }
    }
}
