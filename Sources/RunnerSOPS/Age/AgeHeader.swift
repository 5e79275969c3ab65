/// One recipient stanza: `-> type arg…` and a body.
struct AgeStanza: Sendable, Equatable {
    var type: String
    var args: [String]
    var body: [UInt8]

    /// The stanza as it appears in a header: arguments on the first line, the body in lines of
    /// 64 base64 columns, always ending with a short (possibly empty) line.
    var encoded: [UInt8] {
        var out = Array("->".utf8)
        for arg in [type] + args {
            out.append(UInt8(ascii: " "))
            out += Array(arg.utf8)
        }
        out.append(UInt8(ascii: "\n"))
        let text = Array(Base64.encode(body, padded: false).utf8)
        var index = 0
        while true {
            let end = min(index + AgeHeader.columnsPerLine, text.count)
            out += text[index..<end]
            out.append(UInt8(ascii: "\n"))
            if end - index < AgeHeader.columnsPerLine { break }
            index = end
        }
        return out
    }
}

/// The age v1 header, parsed strictly (every deviation from the canonical encoding is an error,
/// so that the MAC over the raw bytes equals the MAC over the re-encoded header).
struct AgeHeader: Sendable {
    static let intro = Array("age-encryption.org/v1\n".utf8)
    static let columnsPerLine = 64
    static let bytesPerLine = 48

    var stanzas: [AgeStanza]
    /// The 32-byte header MAC.
    var mac: [UInt8]
    /// The header bytes the MAC covers: from the intro up to and including `---`.
    var macInput: [UInt8]

    /// Parses the header at the start of `bytes`; returns it and the offset of the payload.
    static func parse(_ bytes: [UInt8]) throws(SOPSError) -> (header: AgeHeader, payloadOffset: Int) {
        var reader = LineReader(bytes: bytes)
        guard let first = reader.nextLine() else { throw SOPSError.header("the file is empty or has no header") }
        guard Array(bytes[first]) == intro else {
            throw SOPSError.header("unsupported or malformed version line (not age-encryption.org/v1)")
        }
        var stanzas: [AgeStanza] = []
        while true {
            let start = reader.offset
            let rest = bytes[start...]
            if rest.starts(with: Array("---".utf8)) {
                guard let line = reader.nextLine() else { throw SOPSError.header("the header ends without a line break") }
                let parts = splitArgs(bytes[line])
                guard parts.first == "---", parts.count == 2 else { throw SOPSError.header("malformed closing line") }
                guard let mac = Base64.decodeStrictUnpadded(Array(parts[1].utf8)), mac.count == 32 else {
                    throw SOPSError.header("malformed header MAC")
                }
                let header = AgeHeader(stanzas: stanzas, mac: mac, macInput: Array(bytes[..<(start + 3)]))
                return (header, reader.offset)
            } else if rest.starts(with: Array("->".utf8)) {
                guard let line = reader.nextLine() else { throw SOPSError.header("a stanza line has no line break") }
                let parts = splitArgs(bytes[line])
                guard parts.first == "->", parts.count >= 2, parts.dropFirst().allSatisfy(isValidArgument) else {
                    throw SOPSError.header("malformed stanza line")
                }
                var body: [UInt8] = []
                while true {
                    guard let bodyLine = reader.nextLine() else { throw SOPSError.header("a stanza body is not terminated") }
                    let text = bytes[bodyLine].dropLast()  // the "\n"
                    guard text.count <= columnsPerLine, let decoded = Base64.decodeStrictUnpadded(text) else {
                        throw SOPSError.header("malformed stanza body line")
                    }
                    body += decoded
                    if decoded.count < bytesPerLine { break }
                }
                stanzas.append(AgeStanza(type: parts[1], args: Array(parts.dropFirst(2)), body: body))
            } else {
                throw SOPSError.header("unexpected line in header")
            }
        }
    }

    /// The header for `stanzas`, MAC'd with `fileKey`.
    static func encode(stanzas: [AgeStanza], fileKey: [UInt8]) -> [UInt8] {
        var out = intro
        for stanza in stanzas { out += stanza.encoded }
        out += Array("---".utf8)
        let mac = AgePrimitives.hmacSHA256(key: macKey(fileKey), out)
        out += Array(" \(Base64.encode(mac, padded: false))\n".utf8)
        return out
    }

    static func macKey(_ fileKey: [UInt8]) -> [UInt8] {
        AgePrimitives.hkdf(ikm: fileKey, salt: [], info: "header")
    }

    /// Whether the MAC verifies under `fileKey`.
    func verifyMAC(fileKey: [UInt8]) -> Bool {
        Bytes.constantTimeEqual(AgePrimitives.hmacSHA256(key: Self.macKey(fileKey), macInput), mac)
    }

    /// A line without its "\n", split on single spaces (Go's `strings.Split`, so empty pieces stay).
    private static func splitArgs(_ line: ArraySlice<UInt8>) -> [String] {
        line.dropLast().split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// 1+ characters from `!` to `~`.
    private static func isValidArgument(_ arg: String) -> Bool {
        !arg.isEmpty && arg.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }
    }
}

/// Lines ending in "\n", as ranges that include the "\n".
private struct LineReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func nextLine() -> Range<Int>? {
        guard offset < bytes.count, let newline = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        defer { offset = newline + 1 }
        return offset..<(newline + 1)
    }
}
