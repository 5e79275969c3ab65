/// One output stream of a command, as every target handles it: lines (and pieces of long lines)
/// for streaming through a `LineSplitter`, and the last `limit` bytes for the `CommandResult`.
///
/// Streaming is never limited; only what the result keeps is.
public struct OutputCapture: Sendable {
    public var stream: OutputStream { splitter.stream }
    /// Bytes kept for the result (the tail).
    public let limit: Int
    private var splitter: LineSplitter
    private var tail: [UInt8] = []
    private var total = 0

    public init(_ stream: OutputStream, limit: Int, pieceLength: Int = LineSplitter.defaultPieceLength) {
        splitter = LineSplitter(stream, pieceLength: pieceLength)
        self.limit = max(0, limit)
    }

    /// True when more bytes arrived than `limit`: `text` is the end of the output only.
    public var truncated: Bool { total > limit }

    /// Takes the next bytes of the stream: keeps the tail, delivers complete lines and pieces.
    public mutating func append(_ chunk: UnsafeRawBufferPointer, emit: (OutputLine) -> Void) {
        keep(chunk)
        splitter.append(chunk, emit: emit)
    }

    /// The stream ended: delivers a last line that had no terminator.
    public mutating func finish(emit: (OutputLine) -> Void) {
        splitter.finish(emit: emit)
    }

    /// The kept tail as text: a UTF-8 sequence cut by truncation is dropped, invalid bytes become
    /// U+FFFD, and a single trailing newline (`\n` or `\r\n`) is removed.
    public var text: String {
        var bytes = tail.suffix(limit)
        var skipped = 0
        while truncated, skipped < 3, let first = bytes.first, first & 0xC0 == 0x80 {
            bytes.removeFirst()
            skipped += 1
        }
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func keep(_ chunk: UnsafeRawBufferPointer) {
        total += chunk.count
        guard limit > 0 else { return }
        if chunk.count >= limit {
            tail.removeAll(keepingCapacity: true)
            tail.append(contentsOf: chunk.suffix(limit))
            return
        }
        tail.append(contentsOf: chunk)
        // Trim in batches so appending stays amortised O(1) per byte.
        if tail.count - limit >= max(limit, 1 << 16) { tail.removeFirst(tail.count - limit) }
    }
}
