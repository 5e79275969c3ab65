import Testing
@testable import RunnerCore

/// `count` bytes of 1- to 4-byte UTF-8 characters (a 12-byte pattern, padded with `z`), so that
/// piece boundaries fall inside every kind of character.
func mixedLine(_ count: Int) -> [UInt8] {
    let pattern = Array("aé€😀bc".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count + pattern.count <= count { bytes += pattern }
    return bytes + [UInt8](repeating: UInt8(ascii: "z"), count: count - bytes.count)
}

/// Checks the pieces of lines as the contract says (every piece but the last continues, none
/// longer than `pieceLength`, each valid UTF-8 on its own) and returns the joined lines.
func joinedLines(_ pieces: [OutputLine], pieceLength: Int = LineSplitter.defaultPieceLength) -> [String] {
    var lines: [String] = []
    var current = ""
    var open = false
    for piece in pieces {
        #expect(piece.text.utf8.count <= pieceLength, "piece of \(piece.text.utf8.count) bytes")
        #expect(!piece.text.contains("\u{FFFD}"), "a piece was cut inside a UTF-8 sequence")
        current += piece.text
        open = piece.continues
        if !open {
            lines.append(current)
            current = ""
        }
    }
    #expect(!open, "the last piece says the line continues")
    return lines
}

@Suite struct LineSplitterTests {
    private func split(_ bytes: [UInt8], pieceLength: Int = LineSplitter.defaultPieceLength, chunk: Int = 1 << 16) -> [OutputLine] {
        var splitter = LineSplitter(.stdout, pieceLength: pieceLength)
        var out: [OutputLine] = []
        var start = 0
        while start < bytes.count {
            splitter.append(Array(bytes[start..<min(start + chunk, bytes.count)])) { out.append($0) }
            start += chunk
        }
        splitter.finish { out.append($0) }
        return out
    }

    /// The crash of issue 10: a line of exactly the piece length (and around it), fed at once
    /// and in chunks of every awkward size.
    @Test(arguments: [65535, 65536, 65537, 131072, 131073])
    func linesAroundThePieceLength(size: Int) {
        let line = mixedLine(size)
        for chunk in [1 << 16, 4096, 65537, 7] where size < 70000 || chunk >= 4096 {
            let pieces = split(line + Array("\nnext\n".utf8), chunk: chunk)
            let lines = joinedLines(pieces)
            #expect(lines == [String(decoding: line, as: UTF8.self), "next"], "size \(size), chunk \(chunk)")
        }
    }

    @Test func aLineOfExactlyThePieceLengthArrivesWhole() {
        let pieces = split(Array(String(repeating: "a", count: 65536).utf8) + [0x0A])
        #expect(pieces.count == 1 && pieces[0].continues == false && pieces[0].text.utf8.count == 65536)
        let over = split(Array(String(repeating: "a", count: 65537).utf8) + [0x0A])
        #expect(over.map(\.continues) == [true, false] && over.map(\.text.utf8.count) == [65536, 1])
    }

    /// Every piece length against every alignment of 1- to 4-byte characters.
    @Test func piecesNeverCutACharacter() {
        for pieceLength in 4...13 {
            for size in [40, 41, 42, 43, 100] {
                let line = mixedLine(size)
                for chunk in [1, 3, 1000] {
                    let lines = joinedLines(split(line, pieceLength: pieceLength, chunk: chunk), pieceLength: pieceLength)
                    #expect(lines == [String(decoding: line, as: UTF8.self)], "piece \(pieceLength) size \(size) chunk \(chunk)")
                }
            }
        }
    }

    @Test func carriageReturnsEndLinesOnlyBeforeANewline() {
        #expect(split(Array("a\r\nb\rc\r\n\r".utf8)).map(\.text) == ["a", "b\rc", ""])
        // A `\r\n` right after a full piece: the `\r` is not text of the line.
        let long = String(repeating: "x", count: 65536)
        #expect(joinedLines(split(Array((long + "\r\n").utf8))) == [long])
        #expect(joinedLines(split(Array((long + "\r\n").utf8), chunk: 65537)) == [long])
    }

    @Test func invalidBytesDoNotBreakPieces() {
        let bytes = [UInt8](repeating: 0xFF, count: 70000) + [0x0A]
        let pieces = split(bytes)
        #expect(pieces.count == 2 && pieces[0].continues && !pieces[1].continues)
    }
}
