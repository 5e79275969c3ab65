/// The three base64 dialects the formats use, written out because each is strict in its own way
/// (Foundation's decoder accepts non-canonical padding bits and is lenient about `=`).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Standard alphabet, with `=` padding when `padded`.
    static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes, padded: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let a = iterator.next() {
            let b = iterator.next()
            let c = iterator.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | (b ?? 0) >> 4)])
            if let b {
                out.append(alphabet[Int((b & 0x0F) << 2 | (c ?? 0) >> 6)])
            } else if padded {
                out.append(UInt8(ascii: "="))
            }
            if let c {
                out.append(alphabet[Int(c & 0x3F)])
            } else if padded {
                out.append(UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// age header base64: standard alphabet, no padding, canonical (unused bits zero), nothing
    /// but alphabet characters (Go's `RawStdEncoding.Strict()`).
    static func decodeStrictUnpadded<Bytes: Collection<UInt8>>(_ text: Bytes) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var sextets: [UInt8] = []
        sextets.reserveCapacity(text.count)
        for byte in text {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            sextets.append(value)
        }
        return assemble(sextets, canonical: true)
    }

    /// Padded standard base64 with canonical padding bits and no other characters (Go's
    /// `StdEncoding.Strict()`, used for armor lines).
    static func decodeStrictPadded<Bytes: Collection<UInt8>>(_ text: Bytes) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        let bytes = Array(text)
        var padding = 0
        if bytes.last == UInt8(ascii: "=") { padding += 1 }
        if bytes.count >= 2, bytes[bytes.count - 2] == UInt8(ascii: "=") { padding += 1 }
        guard padding == 0 || bytes.count >= 4 else { return nil }
        var sextets: [UInt8] = []
        sextets.reserveCapacity(bytes.count)
        for byte in bytes.dropLast(padding) {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            sextets.append(value)
        }
        guard sextets.count % 4 != 1 else { return nil }
        return assemble(sextets, canonical: true)
    }

    /// Go's non-strict `StdEncoding`, as sops decodes `ENC[...]` fields: `\r` and `\n` are
    /// skipped, padding is required, unused bits are ignored.
    static func decodeLenientPadded<Bytes: Collection<UInt8>>(_ text: Bytes) -> [UInt8]? {
        let filtered = text.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        guard filtered.count % 4 == 0 else { return nil }
        var padding = 0
        if filtered.last == UInt8(ascii: "=") { padding += 1 }
        if filtered.count >= 2, filtered[filtered.count - 2] == UInt8(ascii: "=") { padding += 1 }
        var sextets: [UInt8] = []
        sextets.reserveCapacity(filtered.count)
        for byte in filtered.dropLast(padding) {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            sextets.append(value)
        }
        guard sextets.count % 4 != 1 else { return nil }
        return assemble(sextets, canonical: false)
    }

    /// Packs 6-bit values into bytes; a trailing partial group must have zero unused bits when
    /// `canonical`.
    private static func assemble(_ sextets: [UInt8], canonical: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(sextets.count * 3 / 4)
        var index = 0
        while index + 4 <= sextets.count {
            let n = UInt32(sextets[index]) << 18 | UInt32(sextets[index + 1]) << 12
                | UInt32(sextets[index + 2]) << 6 | UInt32(sextets[index + 3])
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n))
            index += 4
        }
        switch sextets.count - index {
        case 2:
            let a = sextets[index]
            let b = sextets[index + 1]
            if canonical && b & 0x0F != 0 { return nil }
            out.append(a << 2 | b >> 4)
        case 3:
            let a = sextets[index]
            let b = sextets[index + 1]
            let c = sextets[index + 2]
            if canonical && c & 0x03 != 0 { return nil }
            out.append(a << 2 | b >> 4)
            out.append((b & 0x0F) << 4 | c >> 2)
        default:
            break
        }
        return out
    }
}
