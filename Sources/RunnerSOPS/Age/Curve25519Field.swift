/// Just enough arithmetic modulo 2^255 - 19 to turn an Ed25519 public key into its X25519
/// (Montgomery) form, u = (1 + y) / (1 - y), for encrypting to ssh-ed25519 recipients.
/// Sixteen 16-bit limbs in Int64, after TweetNaCl. Public data only, so not constant time.
enum Curve25519Field {
    typealias Element = [Int64]

    /// The Montgomery u-coordinate of a 32-byte Ed25519 public key, or nil for a key of the wrong size.
    static func montgomery(fromEdwards key: [UInt8]) -> [UInt8]? {
        guard key.count == 32 else { return nil }
        let y = unpack(key)
        let one: Element = [1] + [Int64](repeating: 0, count: 15)
        let u = multiply(add(one, y), inverse(subtract(one, y)))
        return pack(u)
    }

    private static func unpack(_ bytes: [UInt8]) -> Element {
        var out = (0..<16).map { Int64(bytes[2 * $0]) | Int64(bytes[2 * $0 + 1]) << 8 }
        out[15] &= 0x7FFF  // the sign bit of x
        return out
    }

    private static func carry(_ o: inout Element) {
        for i in 0..<16 {
            o[i] += 1 << 16
            let c = o[i] >> 16
            if i < 15 { o[i + 1] += c - 1 } else { o[0] += 38 * (c - 1) }
            o[i] -= c << 16
        }
    }

    private static func add(_ a: Element, _ b: Element) -> Element { zip(a, b).map { $0 + $1 } }
    private static func subtract(_ a: Element, _ b: Element) -> Element { zip(a, b).map { $0 - $1 } }

    private static func multiply(_ a: Element, _ b: Element) -> Element {
        var t = [Int64](repeating: 0, count: 31)
        for i in 0..<16 { for j in 0..<16 { t[i + j] += a[i] * b[j] } }
        for i in 0..<15 { t[i] += 38 * t[i + 16] }
        var o = Array(t[0..<16])
        carry(&o)
        carry(&o)
        return o
    }

    /// a^(p-2).
    private static func inverse(_ a: Element) -> Element {
        var c = a
        for bit in stride(from: 253, through: 0, by: -1) {
            c = multiply(c, c)
            if bit != 2 && bit != 4 { c = multiply(c, a) }
        }
        return c
    }

    private static func pack(_ n: Element) -> [UInt8] {
        var t = n
        carry(&t)
        carry(&t)
        carry(&t)
        var m = [Int64](repeating: 0, count: 16)
        for _ in 0..<2 {
            m[0] = t[0] - 0xFFED
            for i in 1..<15 {
                m[i] = t[i] - 0xFFFF - ((m[i - 1] >> 16) & 1)
                m[i - 1] &= 0xFFFF
            }
            m[15] = t[15] - 0x7FFF - ((m[14] >> 16) & 1)
            let borrow = (m[15] >> 16) & 1
            m[14] &= 0xFFFF
            if borrow == 0 { t = m }
        }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<16 {
            out[2 * i] = UInt8(truncatingIfNeeded: t[i] & 0xFF)
            out[2 * i + 1] = UInt8(truncatingIfNeeded: t[i] >> 8)
        }
        return out
    }
}
