import Synchronization

/// Masks one command's output as it streams, so that no secret is ever split over two emitted
/// pieces.
///
/// Output is cut in two places a secret can straddle: a line longer than the streaming limit
/// arrives in pieces (`OutputLine.continues`), and `base64`, `openssl` and PEM wrap long base64
/// over lines. Per stream this keeps back just enough text: the last `longestMatch - 1` bytes of
/// a piece that continues (the rest goes out at once, still marked `continues`), and a line made
/// only of base64 characters (at least `wrapWidth` of them) until the following text shows whether
/// a form goes on there. A held line is joined to the next with its line break, which base64
/// forms match across. Whole lines are never cut or merged; `finish()` emits what is held.
///
/// ```swift
/// let stream = StreamMasker(masker: masker) { line in sink(line) }
/// defer { stream.finish() }
/// try await target.run(command) { stream.accept($0) }
/// ```
public final class StreamMasker: Sendable {
    /// Wrapped base64 lines are at least this long (`base64` uses 76, PEM and openssl 64).
    static let wrapWidth = 16

    private struct Segment {
        var bytes: [UInt8]
        var continues: Bool
    }

    private struct Stream {
        var segments: [Segment] = []
        /// Length and character class of the line being received (across its pieces).
        var lineLength = 0
        var lineIsBase64 = true
    }

    private struct State {
        var streams: [OutputStream: Stream] = [:]
        var finished = false
    }

    private let masker: SecretMasker
    private let emit: @Sendable (OutputLine) -> Void
    private let state = Mutex(State())

    /// `emit` gets masked lines, in order per stream.
    public init(masker: SecretMasker, emit: @escaping @Sendable (OutputLine) -> Void) {
        self.masker = masker
        self.emit = emit
    }

    public func accept(_ line: OutputLine) {
        state.withLock { state in
            var stream = state.streams[line.stream] ?? Stream()
            let bytes = Array(line.text.utf8)
            stream.lineLength += bytes.count
            stream.lineIsBase64 = stream.lineIsBase64 && bytes.allSatisfy(Self.isBase64)
            if let last = stream.segments.indices.last, stream.segments[last].continues {
                // The held end of the line and this piece are one text: a secret across them is one match.
                stream.segments[last].bytes += bytes
                stream.segments[last].continues = line.continues
            } else {
                stream.segments.append(Segment(bytes: bytes, continues: line.continues))
            }
            var holdsNext = line.continues
            if !line.continues {
                holdsNext = stream.lineIsBase64 && stream.lineLength >= Self.wrapWidth
                stream.lineLength = 0
                stream.lineIsBase64 = true
            }
            flush(&stream, line.stream, all: state.finished || !holdsNext)
            state.streams[line.stream] = stream
        }
    }

    /// Emits everything held back: the command has ended.
    public func finish() {
        state.withLock { state in
            state.finished = true
            for (name, var stream) in state.streams {
                flush(&stream, name, all: true)
                state.streams[name] = stream
            }
        }
    }

    /// `A-Z a-z 0-9 + / = - _`, and the `\r` of a CRLF line end.
    private static func isBase64(_ byte: UInt8) -> Bool {
        (SecretPattern.isWord(byte) && byte < 0x80) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
            || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "-") || byte == 0x0D
    }

    /// Masks the held text as one (pieces joined, lines joined by `\n`) and emits all of it, or
    /// all but the part a secret form could still be continuing from.
    private func flush(_ stream: inout Stream, _ name: OutputStream, all: Bool) {
        var joined: [UInt8] = []
        var starts: [Int] = []
        for (index, segment) in stream.segments.enumerated() {
            starts.append(joined.count)
            joined += segment.bytes
            if !segment.continues && index < stream.segments.count - 1 { joined.append(0x0A) }
        }
        let ranges = masker.ranges(in: joined)
        var cut = all ? joined.count : min(joined.count, max(0, joined.count + 1 - masker.longestMatch))
        while true {
            var moved = cut
            for range in ranges where range.lowerBound < moved && moved < range.upperBound { moved = range.lowerBound }
            moved = legalCut(atOrBefore: moved, stream.segments, starts, joined)
            if moved == cut { break }
            cut = moved
        }
        var kept: [Segment] = []
        for (index, segment) in stream.segments.enumerated() {
            let span = starts[index]..<(starts[index] + segment.bytes.count)
            if span.upperBound <= cut {
                emit(OutputLine(name, SecretMasker.replacing(ranges, in: joined, within: span), continues: segment.continues))
            } else if span.lowerBound < cut {
                emit(OutputLine(name, SecretMasker.replacing(ranges, in: joined, within: span.lowerBound..<cut), continues: true))
                kept.append(Segment(bytes: Array(joined[cut..<span.upperBound]), continues: segment.continues))
            } else {
                kept.append(segment)
            }
        }
        stream.segments = kept
    }

    /// The nearest place at or before `cut` where held text can be split: a segment's start or
    /// end, or a character boundary inside a piece that continues (lines stay whole).
    private func legalCut(atOrBefore cut: Int, _ segments: [Segment], _ starts: [Int], _ joined: [UInt8]) -> Int {
        guard let index = starts.lastIndex(where: { $0 <= cut }) else { return 0 }
        let start = starts[index], end = start + segments[index].bytes.count
        if cut == start || cut >= end { return cut >= end ? end : start }
        guard segments[index].continues else { return start }
        var position = cut
        while position > start, joined[position] & 0xC0 == 0x80 { position -= 1 }
        return position
    }
}
