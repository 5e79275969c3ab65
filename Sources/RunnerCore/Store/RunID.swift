import Foundation

/// The identifier of one run: a ULID.
///
/// 26 characters of Crockford base32 (`0-9`, `A-Z` without `I`, `L`, `O`, `U`): a 48-bit
/// millisecond Unix timestamp (10 characters) followed by 80 random bits (16 characters).
/// Because the timestamp comes first, ids sort by creation time when compared as strings,
/// so `runner show 01JD3` can take any unique prefix.
///
/// Ids generated in the same millisecond by one process are strictly increasing: the random
/// part of the previous id is incremented instead of drawn anew.
public struct RunID: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The canonical, upper-case text of the id.
    public let description: String

    fileprivate init(canonical: String) {
        description = canonical
    }

    /// Parses an id, ignoring case. Returns `nil` unless `string` is 26 Crockford base32
    /// characters whose timestamp fits in 48 bits.
    public init?(_ string: String) {
        let upper = string.uppercased()
        guard upper.utf8.count == Self.length,
              upper.utf8.allSatisfy({ Crockford.value(of: $0) != nil }),
              let first = upper.utf8.first, first <= UInt8(ascii: "7")  // 10 chars = 50 bits; top 2 must be 0
        else { return nil }
        description = upper
    }

    /// A new id for a run created at `date` (clamped to the ULID range, 1970 to year 10889).
    public static func generate(at date: Date = Date()) -> RunID {
        RunIDGenerator.shared.next(at: date)
    }

    /// When the id was generated, to the millisecond.
    public var date: Date {
        let millis = Crockford.decode(description.utf8.prefix(10))
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.description < rhs.description }

    /// Number of characters in an id.
    public static let length = 26
    static let maxTimestamp: UInt64 = (1 << 48) - 1
}

extension RunID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = RunID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a run id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Crockford base32 digits, 5 bits each, most significant first.
enum Crockford {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// The 5-bit value of an upper-case digit, or `nil`.
    static func value(of byte: UInt8) -> UInt64? {
        alphabet.firstIndex(of: byte).map { UInt64($0) }
    }

    static func encode(_ value: UInt64, digits: Int) -> String {
        let bytes = (0..<digits).map { i in alphabet[Int((value >> UInt64(5 * (digits - 1 - i))) & 31)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ digits: some Sequence<UInt8>) -> UInt64 {
        digits.reduce(0) { ($0 << 5) | (value(of: $1) ?? 0) }
    }
}

/// Makes ids, keeping those of the same millisecond increasing. `RunID.generate` uses the
/// shared one; tests make their own so that other tests' ids don't interleave.
final class RunIDGenerator: @unchecked Sendable {  // state guarded by `lock`
    static let shared = RunIDGenerator()

    /// Two 40-bit halves of the random part.
    typealias Random = (high: UInt64, low: UInt64)
    private static let halfMask: UInt64 = (1 << 40) - 1

    private let lock = NSLock()
    private var lastTimestamp: UInt64?
    private var lastRandom: Random = (0, 0)

    func next(at date: Date) -> RunID {
        let millis = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let timestamp = UInt64(max(0, min(millis, Double(RunID.maxTimestamp))))
        let random = randomPart(forTimestamp: timestamp)
        return RunID(canonical: Crockford.encode(timestamp, digits: 10)
            + Crockford.encode(random.high, digits: 8)
            + Crockford.encode(random.low, digits: 8))
    }

    private func randomPart(forTimestamp timestamp: UInt64) -> Random {
        lock.lock()
        defer { lock.unlock() }
        let next = timestamp == lastTimestamp ? Self.increment(lastRandom) ?? Self.draw() : Self.draw()
        lastTimestamp = timestamp
        lastRandom = next
        return next
    }

    private static func draw() -> Random {
        var rng = SystemRandomNumberGenerator()
        return (rng.next() & halfMask, rng.next() & halfMask)
    }

    /// The 80-bit value plus one, or `nil` on overflow (then a fresh draw is used).
    private static func increment(_ r: Random) -> Random? {
        if r.low < halfMask { return (r.high, r.low + 1) }
        if r.high < halfMask { return (r.high + 1, 0) }
        return nil
    }
}
