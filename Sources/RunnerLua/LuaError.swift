/// A Lua script failed to compile or to run, or was stopped.
public struct LuaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the script failed.
    public enum Kind: Sendable, Hashable {
        /// The source does not compile.
        case syntax
        /// The script raised an error (including a Swift function throwing, and results that
        /// cannot be converted to a `Value`).
        case runtime
        /// The call ran more instructions than `LuaLimits.instructions`.
        case instructionLimit
        /// The state needed more memory than `LuaLimits.memoryBytes`.
        case memoryLimit
        /// The call ran longer than `LuaLimits.wallClock`.
        case timeout
        /// `LuaState.cancel()` or `LuaCanceller.cancel()` stopped the call.
        case cancelled
    }

    public var kind: Kind
    /// The message without the `chunk:line:` prefix Lua adds.
    public var message: String
    /// The chunk the error points at, when known.
    public var chunkName: String?
    /// The 1-based line within that chunk, when known.
    public var line: Int?
    /// The innermost frames first, like `deploy.yml:14:3: in function 'check'`; at most 10.
    public var traceback: [String]

    public init(kind: Kind, message: String, chunkName: String? = nil, line: Int? = nil, traceback: [String] = []) {
        self.kind = kind
        self.message = message
        self.chunkName = chunkName
        self.line = line
        self.traceback = traceback
    }

    /// `deploy.yml:14:3: boom` (chunk, line, message), or just the message when the position is unknown.
    public var description: String {
        switch (chunkName, line) {
        case let (chunk?, line?): "\(chunk):\(line): \(message)"
        case let (chunk?, nil): "\(chunk): \(message)"
        default: message
        }
    }
}

extension LuaError {
    /// Frames kept in `traceback`.
    static let tracebackLimit = 10

    /// Lua shortens chunk names in messages to `LUA_IDSIZE - 1` bytes.
    static let chunkNameLimit = 59

    /// Splits `chunk:line: message` as Lua formats positions, trying each known chunk name
    /// (names may themselves contain colons, so the prefix cannot be found by searching).
    static func splitPosition(_ text: String, sources: [String]) -> (message: String, chunkName: String, line: Int)? {
        let bytes = Array(text.utf8)
        for source in sources {
            let prefix = Array(source.utf8.prefix(chunkNameLimit))
            guard bytes.count > prefix.count + 1, bytes.starts(with: prefix), bytes[prefix.count] == UInt8(ascii: ":")
            else { continue }
            var index = prefix.count + 1
            var line = 0
            while index < bytes.count, let digit = asciiDigit(bytes[index]), line < 100_000_000 {
                line = line * 10 + digit
                index += 1
            }
            guard index > prefix.count + 1,
                bytes[index...].starts(with: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            else { continue }
            let message = String(decoding: bytes[(index + 2)...], as: UTF8.self)
            return (message, source, line)
        }
        return nil
    }

    /// The chunk name that Lua shortened to `shortName` in a message, or `shortName` itself.
    static func fullName(of shortName: String, candidates: [String]) -> String {
        candidates.first { Array($0.utf8.prefix(chunkNameLimit)) == Array(shortName.utf8) } ?? shortName
    }

    private static func asciiDigit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// The frames of a `luaL_traceback` text: without the header, tabs and the final C entry
    /// (the protected call itself), at most `tracebackLimit`.
    static func frames(ofTraceback text: String) -> [String] {
        let lines = text.split(separator: "\n").map { $0.drop { $0 == "\t" } }
        let frames = lines.filter { $0 != "stack traceback:" && $0 != "[C]: in ?" }
        return frames.prefix(tracebackLimit).map(String.init)
    }
}
