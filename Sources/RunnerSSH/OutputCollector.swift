import RunnerCore

/// Splits one output stream into lines for `onOutput` and keeps its last `limit` bytes.
struct OutputCollector {
    let stream: OutputStream
    let limit: Int
    private var pending: [UInt8] = []
    private var tail: [UInt8] = []
    private var total = 0

    /// True when more bytes arrived than `limit`.
    var truncated: Bool { total > limit }

    init(_ stream: OutputStream, limit: Int) {
        self.stream = stream
        self.limit = max(0, limit)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer, _ onOutput: (OutputLine) -> Void) {
        keepTail(bytes)
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            pending.append(contentsOf: bytes[start..<index])
            emit(onOutput)
            start = index + 1
        }
        pending.append(contentsOf: bytes[start...])
    }

    /// Delivers a last line that had no terminator.
    mutating func finish(_ onOutput: (OutputLine) -> Void) {
        if !pending.isEmpty { emit(onOutput) }
    }

    /// The last `limit` bytes, decoded as UTF-8.
    var text: String { String(decoding: tail.suffix(limit), as: UTF8.self) }

    private mutating func emit(_ onOutput: (OutputLine) -> Void) {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        onOutput(OutputLine(stream, String(decoding: pending, as: UTF8.self)))
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func keepTail(_ bytes: UnsafeRawBufferPointer) {
        total += bytes.count
        tail.append(contentsOf: bytes.count > limit ? bytes[(bytes.count - limit)...] : bytes[...])
        // Amortised: drop the excess in bulk once it is large.
        if tail.count > limit + max(limit, 1 << 16) { tail.removeFirst(tail.count - limit) }
    }
}
