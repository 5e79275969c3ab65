import Crypto

import Foundation

enum Bytes {
    /// `count` bytes from the system CSPRNG.
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Compares in time that depends only on the lengths.
    static func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// Lowercase or uppercase hex.
    static func hex<S: Sequence<UInt8>>(_ bytes: S, uppercase: Bool = false) -> String {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension SymmetricKey {
    /// The key's bytes (only for keys this module derived itself).
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

extension HashedAuthenticationCode {
    var bytes: [UInt8] { Array(self) }
}
