/// Durations as pipelines write them: `90s`, `5m`, `1h30m`, `500ms`, `2d`, or a bare number of seconds.
public enum DurationParser {
    /// The longest duration accepted: a year. Longer values are typos (and overflow).
    public static let maximum: Int64 = 366 * 86_400_000

    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: " ")
        guard !s.isEmpty else { return nil }
        if let seconds = Double(s) {
            guard seconds >= 0, seconds.isFinite, seconds * 1000 <= Double(maximum) else { return nil }
            return .milliseconds(Int64(seconds * 1000))
        }
        var total: Int64 = 0
        var number = ""
        var unit = ""
        var sawPart = false
        func flush() -> Bool {
            guard let n = Double(number), n >= 0 else { return false }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return false
            }
            guard n.isFinite, n * factor <= Double(maximum) - Double(total) else { return false }
            total += Int64(n * factor)
            number = ""
            unit = ""
            sawPart = true
            return true
        }
        for ch in s {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard !number.isEmpty, flush(), sawPart else { return nil }
        return .milliseconds(total)
    }

    /// `1m05s`, `3.2s`, `450ms`: how durations are shown to people.
    public static func format(_ d: Duration) -> String {
        let ms = d.milliseconds
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 {
            let tenths = ms / 100
            return "\(tenths / 10).\(tenths % 10)s"
        }
        let totalSeconds = ms / 1000
        let h = totalSeconds / 3600, m = (totalSeconds % 3600) / 60, s = totalSeconds % 60
        let pad = { (v: Int64) in v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h)h\(pad(m))m\(pad(s))s" : "\(m)m\(pad(s))s"
    }
}

extension Duration {
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    public var seconds: Double { Double(milliseconds) / 1000 }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = self[...]
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
