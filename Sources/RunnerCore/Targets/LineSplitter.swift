#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a command's output stream into `OutputLine`s, for every target (local processes and SSH
/// channels use this one splitter).
///
/// A line ends at `\n`; the `\n` and a `\r` before it are dropped. A line longer than
/// `pieceLength` bytes is delivered in pieces of at most `pieceLength` bytes, every piece but
/// the last with `continues` set, so memory stays bounded however long a line is. A piece never
/// ends inside a UTF-8 sequence: joining the pieces' texts gives the line back.
///
/// ```swift
/// var splitter = LineSplitter(.stdout)
/// splitter.append(Array("one\ntw".utf8)) { print($0.text) }   // one
/// splitter.finish { print($0.text) }                          // tw
/// ```
public struct LineSplitter: Sendable {
    /// The default piece length: 64 KiB.
    public static let defaultPieceLength = 1 << 16

    public let stream: OutputStream
    /// The longest piece delivered, in bytes (at least 4, so a UTF-8 sequence always fits).
    public let pieceLength: Int
    /// The unfinished line: never longer than `pieceLength` between calls.
    private var partial: [UInt8] = []

    public init(_ stream: OutputStream, pieceLength: Int = LineSplitter.defaultPieceLength) {
        self.stream = stream
        self.pieceLength = max(4, pieceLength)
    }

    /// Splits the next bytes of the stream; complete lines and full pieces go to `emit`.
    public mutating func append(_ chunk: UnsafeRawBufferPointer, emit: (OutputLine) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            guard let newline = memchr(base + start, 0x0A, chunk.count - start) else {
                partial.append(contentsOf: chunk[start...])
                deliverPieces(emit: emit)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(newline))
            if partial.isEmpty && end - start <= pieceLength {
                deliver(chunk[start..<end], continues: false, emit: emit)
            } else {
                partial.append(contentsOf: chunk[start..<end])
                deliverPieces(emit: emit)
                deliver(partial[...], continues: false, emit: emit)
                partial.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// `append` for bytes in an array (tests, small inputs).
    public mutating func append(_ bytes: [UInt8], emit: (OutputLine) -> Void) {
        bytes.withUnsafeBytes { append($0, emit: emit) }
    }

    /// The stream ended: delivers a last line that had no `\n`.
    public mutating func finish(emit: (OutputLine) -> Void) {
        guard !partial.isEmpty else { return }
        deliver(partial[...], continues: false, emit: emit)
        partial.removeAll()
    }

    /// Delivers full pieces while more than a piece is held: a line that goes on.
    private mutating func deliverPieces(emit: (OutputLine) -> Void) {
        var offset = 0
        while partial.count - offset > pieceLength {
            let cut = offset + Self.boundary(partial[offset...], within: pieceLength)
            deliver(partial[offset..<cut], continues: true, emit: emit)
            offset = cut
        }
        if offset > 0 { partial.removeFirst(offset) }
    }

    /// Where to cut `bytes` (longer than `limit`) so that the piece is at most `limit` bytes and
    /// does not end inside a UTF-8 sequence: back over up to three continuation bytes.
    static func boundary(_ bytes: ArraySlice<UInt8>, within limit: Int) -> Int {
        var cut = limit
        while cut > limit - 3, bytes[bytes.startIndex + cut] & 0xC0 == 0x80 { cut -= 1 }
        return cut
    }

    private func deliver<Bytes: BidirectionalCollection<UInt8>>(_ line: Bytes, continues: Bool, emit: (OutputLine) -> Void)
    where Bytes.SubSequence == Bytes {
        var line = line
        if !continues, line.last == 0x0D { line.removeLast() }
        emit(OutputLine(stream, String(decoding: line, as: UTF8.self), continues: continues))
    }
}
