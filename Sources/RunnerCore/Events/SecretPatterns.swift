/// Every registered form, indexed by the first two bytes a match can start with.
struct SecretPatterns: Sendable {
    private(set) var patterns: [SecretPattern] = []
    private var known: Set<SecretForms.Form> = []
    /// `(first << 8 | second, pattern index)` for every pattern's possible starts.
    private var pairs: [(key: Int, pattern: Int)] = []
    /// Pattern indices by start pair, flattened: those for key `k` are
    /// `pairIndices[pairOffsets[k]..<pairOffsets[k + 1]]`. Most pairs have none.
    private var pairOffsets = [Int32](repeating: 0, count: (1 << 16) + 1)
    private var pairIndices: [Int32] = []
    /// One-character patterns by their byte (a `7`).
    private var byByte = [[Int]](repeating: [], count: 256)
    private var singles = [Bool](repeating: false, count: 256)
    /// The most bytes one match of any form can span (0 with no secrets).
    private(set) var longest = 0

    /// Adds the forms of one secret (the index is rebuilt once per call).
    mutating func add(_ forms: [SecretForms.Form]) {
        for form in forms where known.insert(form).inserted {
            let pattern = SecretPattern(form)
            guard !pattern.units.isEmpty else { continue }
            for start in pattern.starts {
                if let second = start.second {
                    pairs.append((Int(start.first) << 8 | Int(second), patterns.count))
                } else {
                    byByte[Int(start.first)].append(patterns.count)
                    singles[Int(start.first)] = true
                }
            }
            patterns.append(pattern)
            longest = max(longest, pattern.longest)
        }
        var counts = [Int32](repeating: 0, count: (1 << 16) + 1)
        for pair in pairs { counts[pair.key + 1] += 1 }
        for key in 0..<(1 << 16) { counts[key + 1] += counts[key] }
        pairOffsets = counts
        var fill = counts
        pairIndices = [Int32](repeating: 0, count: pairs.count)
        for pair in pairs {
            pairIndices[Int(fill[pair.key])] = Int32(pair.pattern)
            fill[pair.key] += 1
        }
    }

    /// The byte ranges of `text` that hold a secret form, sorted, overlapping ones merged.
    func ranges(in text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        guard !patterns.isEmpty else { return [] }
        var out: [Range<Int>] = []
        var current: [Int] = [], next: [Int] = []
        current.reserveCapacity(8)
        next.reserveCapacity(8)
        func record(_ index: Int, at position: Int) {
            guard let end = patterns[index].match(text, at: position, &current, &next) else { return }
            if let last = out.last, position <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                out.append(position..<end)
            }
        }
        singles.withUnsafeBufferPointer { singles in
            pairOffsets.withUnsafeBufferPointer { offsets in
                pairIndices.withUnsafeBufferPointer { indices in
                    for position in 0..<text.count {
                        let first = Int(text[position])
                        if singles[first] { for index in byByte[first] { record(index, at: position) } }
                        guard position + 1 < text.count else { continue }
                        let key = first << 8 | Int(text[position + 1])
                        let (low, high) = (Int(offsets[key]), Int(offsets[key + 1]))
                        for slot in low..<high { record(Int(indices[slot]), at: position) }
                    }
                }
            }
        }
        return out
    }
}
