/// Joins the pieces of long lines (see `OutputLine.continues`) back into whole lines, keeping
/// at most `limit` bytes of each: the console shows a long line shortened, `runner show --log`
/// shows it whole.
///
/// Pieces are joined per key (a stream of one step on one host), since other lines may arrive
/// between the pieces of one line.
///
/// ```swift
/// var joiner = LineJoiner<OutputStream>(limit: 10)
/// joiner.add("0123456", continues: true, for: .stdout)     // nil: the line goes on
/// joiner.add("789abc", continues: false, for: .stdout)     // "0123456789", cutBytes 3
/// ```
public struct LineJoiner<Key: Hashable & Sendable>: Sendable {
    /// A whole line, or its first `limit` bytes and how many bytes were left out.
    public struct Line: Sendable, Hashable {
        public var text: String
        public var cutBytes: Int

        public init(text: String, cutBytes: Int = 0) {
            self.text = text
            self.cutBytes = cutBytes
        }

        /// The text, followed by `… [N bytes cut]` when it was shortened.
        public var shown: String { cutBytes == 0 ? text : "\(text)… [\(cutBytes) bytes cut]" }
    }

    /// Bytes kept of one line.
    public let limit: Int
    private var open: [Key: Line] = [:]

    public init(limit: Int = .max) {
        self.limit = max(0, limit)
    }

    /// Whether a line of `key` is waiting for its next piece.
    public func isOpen(_ key: Key) -> Bool { open[key] != nil }

    /// Adds a piece; returns the line when `continues` is false (the piece ends it).
    public mutating func add(_ text: String, continues: Bool, for key: Key) -> Line? {
        var line = open.removeValue(forKey: key) ?? Line(text: "")
        Self.append(text, to: &line, limit: limit)
        if continues {
            open[key] = line
            return nil
        }
        return line
    }

    /// Ends the open line of `key`, if any (its last piece never came).
    public mutating func close(_ key: Key) -> Line? {
        open.removeValue(forKey: key)
    }

    /// Ends every open line.
    public mutating func closeAll() -> [(key: Key, line: Line)] {
        defer { open.removeAll() }
        return open.map { (key: $0.key, line: $0.value) }
    }

    private static func append(_ text: String, to line: inout Line, limit: Int) {
        let room = limit - line.text.utf8.count
        let size = text.utf8.count
        if line.cutBytes == 0 && size <= room {
            line.text += text
            return
        }
        guard line.cutBytes == 0, room > 0 else {
            line.cutBytes += size
            return
        }
        // Cut at a scalar boundary at or before `room` bytes.
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: room)
        while end.samePosition(in: text.unicodeScalars) == nil { end = text.utf8.index(before: end) }
        let kept = text.utf8[..<end].count
        line.text += String(text[..<end])
        line.cutBytes += size - kept
    }
}
