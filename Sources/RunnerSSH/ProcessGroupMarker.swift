/// Finds the line `\u{1}runner-pgid:<n>` that the remote wrapper writes to stderr before it
/// starts the command (see `SSHTarget.remoteCommandLine`), removes it from the stream and
/// remembers the process group id, which timeouts and cancellation kill.
///
/// Bytes that a login shell prints before the marker (a noisy `.bashrc`) are passed through.
/// When no marker shows up in the first 4 KiB, scanning stops and everything is passed on.
struct ProcessGroupMarker {
    static let prefix = Array("\u{1}runner-pgid:".utf8)
    private static let scanLimit = 4096

    private(set) var processGroup: Int?
    private var scanning = true
    private var pending: [UInt8] = []

    /// Returns the bytes of `chunk` that belong to the command's stderr.
    mutating func filter(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        guard scanning else { return Array(chunk) }
        pending.append(contentsOf: chunk)
        if let start = Self.find(Self.prefix, in: pending),
           let end = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let digits = pending[(start + Self.prefix.count)..<end]
            processGroup = Int(String(decoding: digits, as: UTF8.self)).flatMap { $0 > 1 ? $0 : nil }
            scanning = false
            let rest = Array(pending[..<start]) + pending[(end + 1)...]
            pending = []
            return rest
        }
        if pending.count > Self.scanLimit {
            scanning = false
            defer { pending = [] }
            return pending
        }
        return []
    }

    /// What is still held back when the stream ends.
    mutating func finish() -> [UInt8] {
        scanning = false
        defer { pending = [] }
        return pending
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
