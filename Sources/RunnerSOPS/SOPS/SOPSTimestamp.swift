import Foundation

/// `lastmodified`: Go's `time.Parse(time.RFC3339, s)` and `t.Format(time.RFC3339)`, which is the
/// MAC's additional data (fractional seconds dropped, a zero offset written `Z`).
enum SOPSTimestamp {
    /// The canonical RFC 3339 form of `text`, or nil when it does not parse.
    static func parse(_ text: String) -> String? {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard b.count >= 20, let year = digits(0..<4), b[4] == UInt8(ascii: "-"), let month = digits(5..<7),
            b[7] == UInt8(ascii: "-"), let day = digits(8..<10), b[10] == UInt8(ascii: "T"),
            let hour = digits(11..<13), b[13] == UInt8(ascii: ":"), let minute = digits(14..<16),
            b[16] == UInt8(ascii: ":"), let second = digits(17..<19)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 60 else {
            return nil
        }
        var index = 19
        if b[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < b.count, b[index] >= UInt8(ascii: "0"), b[index] <= UInt8(ascii: "9") { index += 1 }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offset = "Z"
        if b[index] == UInt8(ascii: "Z") {
            index += 1
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard let hours = digits((index + 1)..<(index + 3)), index + 3 < b.count, b[index + 3] == UInt8(ascii: ":"),
                let minutes = digits((index + 4)..<(index + 6)), hours < 24, minutes < 60
            else { return nil }
            if hours != 0 || minutes != 0 {
                offset = String(decoding: b[index..<(index + 6)], as: UTF8.self)
            }
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        return String(decoding: b[0..<19], as: UTF8.self) + offset
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Now, in UTC, to the second: `2006-01-02T15:04:05Z`.
    static func now(_ date: Date = Date()) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ n: Int, _ width: Int = 2) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(secondOfDay / 3600)):\(pad(secondOfDay % 3600 / 60)):\(pad(secondOfDay % 60))Z"
    }
}
