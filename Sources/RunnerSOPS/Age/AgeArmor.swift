/// age's ASCII armor: a PEM-like wrapper with strict, canonical, padded base64 in 64-column lines.
enum AgeArmor {
    static let begin = "-----BEGIN AGE ENCRYPTED FILE-----"
    static let end = "-----END AGE ENCRYPTED FILE-----"
    private static let maxWhitespace = 1024

    /// The armored text of `bytes`, ending with a newline after the END line.
    static func encode(_ bytes: [UInt8]) -> String {
        let text = Base64.encode(bytes)
        var out = begin + "\n"
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: AgeHeader.columnsPerLine, limitedBy: text.endIndex) ?? text.endIndex
            out += text[index..<next] + "\n"
            index = next
        }
        return out + end + "\n"
    }

    /// Whether `bytes` look armored: optional whitespace, then the BEGIN line.
    static func isArmored(_ bytes: [UInt8]) -> Bool {
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        return bytes[start...].starts(with: Array(begin.utf8))
    }

    /// Decodes an armored file, as strictly as age's armor reader: whitespace-only lines (at most
    /// 1024 bytes) before BEGIN, then non-empty lines of at most 64 columns of canonical padded
    /// base64 (LF or CRLF), a short line only right before END, and only whitespace after END.
    static func decode(_ bytes: [UInt8]) throws(SOPSError) -> [UInt8] {
        var offset = 0
        /// The next line without "\n" and one trailing "\r", or nil at the end of the input.
        func nextLine() -> ArraySlice<UInt8>? {
            guard offset < bytes.count else { return nil }
            let newline = bytes[offset...].firstIndex(of: UInt8(ascii: "\n"))
            var line = bytes[offset..<(newline ?? bytes.count)]
            offset = (newline ?? bytes.count - 1) + 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return line
        }

        var skipped = 0
        while true {
            guard let line = nextLine() else { throw SOPSError.armor("no BEGIN line") }
            if line.allSatisfy(isSpace) {
                skipped += line.count + 1
                guard skipped <= maxWhitespace else { throw SOPSError.armor("too much leading whitespace") }
                continue
            }
            guard line.elementsEqual(begin.utf8) else { throw SOPSError.armor("the first line is not '\(begin)'") }
            break
        }
        var out: [UInt8] = []
        while true {
            guard let line = nextLine() else { throw SOPSError.armor("no END line") }
            if line.elementsEqual(end.utf8) { break }
            guard !line.isEmpty else { throw SOPSError.armor("empty line in armored data") }
            guard line.count <= AgeHeader.columnsPerLine else { throw SOPSError.armor("line longer than 64 columns") }
            guard let decoded = Base64.decodeStrictPadded(line) else { throw SOPSError.armor("invalid base64 line") }
            out += decoded
            if decoded.count < AgeHeader.bytesPerLine {
                guard let closing = nextLine(), closing.elementsEqual(end.utf8) else {
                    throw SOPSError.armor("a short line is not followed by the END line")
                }
                break
            }
        }
        let trailing = bytes[offset...]
        guard trailing.allSatisfy(isSpace) else { throw SOPSError.armor("data after the END line") }
        guard trailing.count < maxWhitespace else { throw SOPSError.armor("too much trailing whitespace") }
        return out
    }

    /// ASCII whitespace (what Go's `bytes.TrimSpace` removes from armor lines).
    static func isSpace(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D: true
        default: false
        }
    }
}
