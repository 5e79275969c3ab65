/// A small zlib (RFC 1950) / DEFLATE (RFC 1951) decoder, for the compressed age test vectors.
/// Foundation has no zlib API on Linux and the tests should not need a system library.
enum Inflate {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func zlib(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6, data[0] & 0x0F == 8, (UInt16(data[0]) << 8 | UInt16(data[1])) % 31 == 0,
            data[1] & 0x20 == 0
        else { throw Failure(description: "not a zlib stream") }
        var reader = BitReader(bytes: data, offset: 2)
        let out = try inflate(&reader)
        let adlerOffset = reader.byteAlignedOffset
        guard adlerOffset + 4 <= data.count else { throw Failure(description: "missing adler32") }
        let expected = data[adlerOffset..<(adlerOffset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in out {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        guard b << 16 | a == expected else { throw Failure(description: "adler32 mismatch") }
        return out
    }

    private struct BitReader {
        let bytes: [UInt8]
        var offset: Int
        var bitBuffer: UInt32 = 0
        var bitCount = 0

        init(bytes: [UInt8], offset: Int) {
            self.bytes = bytes
            self.offset = offset
        }

        mutating func bits(_ count: Int) throws -> Int {
            while bitCount < count {
                guard offset < bytes.count else { throw Failure(description: "truncated deflate stream") }
                bitBuffer |= UInt32(bytes[offset]) << UInt32(bitCount)
                offset += 1
                bitCount += 8
            }
            let value = Int(bitBuffer & ((1 << UInt32(count)) - 1))
            bitBuffer >>= UInt32(count)
            bitCount -= count
            return value
        }

        mutating func alignToByte() {
            bitBuffer = 0
            bitCount = 0
        }

        /// The offset of the first byte not (even partly) consumed.
        var byteAlignedOffset: Int { offset - bitCount / 8 }
    }

    /// Canonical Huffman decoding table: counts per length and symbols in order.
    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) {
            for length in lengths { counts[length] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for i in 1..<16 { offsets[i] = offsets[i - 1] + counts[i - 1] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }

        func decode(_ reader: inout BitReader) throws -> Int {
            var code = 0
            var first = 0
            var index = 0
            for length in 1..<16 {
                code |= try reader.bits(1)
                let count = counts[length]
                if code - count < first { return symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw Failure(description: "invalid Huffman code")
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    private static func inflate(_ reader: inout BitReader) throws -> [UInt8] {
        var out: [UInt8] = []
        var final = false
        while !final {
            final = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0:
                reader.alignToByte()
                guard reader.offset + 4 <= reader.bytes.count else { throw Failure(description: "truncated stored block") }
                let length = Int(reader.bytes[reader.offset]) | Int(reader.bytes[reader.offset + 1]) << 8
                reader.offset += 4
                guard reader.offset + length <= reader.bytes.count else { throw Failure(description: "truncated stored block") }
                out += reader.bytes[reader.offset..<(reader.offset + length)]
                reader.offset += length
            case 1:
                let literal = Huffman(lengths: [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112) + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8))
                let distance = Huffman(lengths: [Int](repeating: 5, count: 30))
                try inflateBlock(&reader, literal: literal, distance: distance, into: &out)
            case 2:
                let literalCount = try reader.bits(5) + 257
                let distanceCount = try reader.bits(5) + 1
                let codeCount = try reader.bits(4) + 4
                let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
                var codeLengths = [Int](repeating: 0, count: 19)
                for i in 0..<codeCount { codeLengths[order[i]] = try reader.bits(3) }
                let codeHuffman = Huffman(lengths: codeLengths)
                var lengths: [Int] = []
                while lengths.count < literalCount + distanceCount {
                    let symbol = try codeHuffman.decode(&reader)
                    switch symbol {
                    case 0..<16: lengths.append(symbol)
                    case 16:
                        guard let previous = lengths.last else { throw Failure(description: "repeat with no previous length") }
                        lengths += [Int](repeating: previous, count: 3 + (try reader.bits(2)))
                    case 17: lengths += [Int](repeating: 0, count: 3 + (try reader.bits(3)))
                    default: lengths += [Int](repeating: 0, count: 11 + (try reader.bits(7)))
                    }
                }
                let literal = Huffman(lengths: Array(lengths[0..<literalCount]))
                let distance = Huffman(lengths: Array(lengths[literalCount..<(literalCount + distanceCount)]))
                try inflateBlock(&reader, literal: literal, distance: distance, into: &out)
            default:
                throw Failure(description: "invalid block type")
            }
        }
        return out
    }

    private static func inflateBlock(_ reader: inout BitReader, literal: Huffman, distance: Huffman, into out: inout [UInt8]) throws {
        while true {
            let symbol = try literal.decode(&reader)
            if symbol < 256 {
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let index = symbol - 257
                guard index < lengthBase.count else { throw Failure(description: "invalid length symbol") }
                let length = lengthBase[index] + (try reader.bits(lengthExtra[index]))
                let distanceSymbol = try distance.decode(&reader)
                guard distanceSymbol < distanceBase.count else { throw Failure(description: "invalid distance symbol") }
                let back = distanceBase[distanceSymbol] + (try reader.bits(distanceExtra[distanceSymbol]))
                guard back <= out.count else { throw Failure(description: "distance too far back") }
                for _ in 0..<length { out.append(out[out.count - back]) }
            }
        }
    }
}
