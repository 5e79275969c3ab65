/// Sizes as people write them in settings: `16MiB`, `512KiB`, `1GiB`, `64M`, `500k`, or a
/// bare number of bytes. `K`, `M` and `G` are binary too (a log budget, not a disk label).
public enum ByteCount {
    /// Parses a size; `nil` for anything else (negative, unknown unit, overflow).
    public static func parse(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: " ").lowercased()
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let unit = String(s.dropFirst(digits.count)).trimmingCharacters(in: " ")
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        default: return nil
        }
        guard number <= Int.max >> shift else { return nil }
        return number << shift
    }

    /// `16 MiB`, `512 KiB`, `1.5 MiB` (to a tenth), or a plain byte count below 1 KiB.
    public static func format(_ count: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where count >= 1 << shift {
            if count % (1 << shift) == 0 { return "\(count >> shift) \(unit)" }
            let tenths = count.multipliedReportingOverflow(by: 10).overflow ? (count >> shift) * 10 : (count * 10) >> shift
            return "\(tenths / 10).\(tenths % 10) \(unit)"
        }
        return count == 1 ? "1 byte" : "\(count) bytes"
    }
}
