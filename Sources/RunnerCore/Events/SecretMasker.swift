import Foundation
import Synchronization

/// Replaces secret values with `***` wherever they appear, in any of the forms output carries them:
/// as they are, JSON-escaped (once or twice), URL-encoded, base64 (standard or URL alphabet,
/// padded or not, alone or embedded in a longer encoded input such as `user:<secret>`, wrapped
/// over lines), and each line of a multi-line value.
///
/// Forms shorter than `SecretForms.anywhereLength` (8) characters are masked only where they
/// stand as a whole token; see docs/pipelines.md ("Secrets").
///
/// ```swift
/// let masker = SecretMasker(["hunter2-long"])
/// masker.mask(#"{"password":"hunter2-long"}"#)   // {"password":"***"}
/// ```
///
/// Thread-safe: secrets are added while a run starts and while steps load them.
public final class SecretMasker: Sendable {
    private let state = Mutex(SecretPatterns())

    public init(_ secrets: [String] = []) {
        for s in secrets { add(s) }
    }

    public static let mask = "***"

    /// Registers a secret. Empty strings are ignored.
    public func add(_ secret: String) {
        guard !secret.isEmpty else { return }
        let forms = SecretForms.of(secret)
        state.withLock { $0.add(forms) }
    }

    /// Registers every scalar in a value (each element of a secret list, a secret number).
    public func add(_ value: Value) {
        switch value {
        case .null: break
        case .list(let items): items.forEach(add)
        case .map(let map): map.values.forEach(add)
        default: add(value.interpolated)
        }
        if case .list = value { add(value.interpolated) }
    }

    public var isEmpty: Bool { state.withLock { $0.patterns.isEmpty } }

    /// The most bytes one masked occurrence can span: text this long before a cut is enough to
    /// find any occurrence that crosses it (`StreamMasker` keeps this much back).
    var longestMatch: Int { state.withLock { $0.longest } }

    /// The byte ranges of `bytes` that hold a secret, sorted and merged.
    func ranges(in bytes: [UInt8]) -> [Range<Int>] {
        let patterns = state.withLock { $0 }
        return bytes.withUnsafeBufferPointer { patterns.ranges(in: $0) }
    }

    public func mask(_ text: String) -> String {
        guard !text.isEmpty, !isEmpty else { return text }
        let bytes = Array(text.utf8)
        let found = ranges(in: bytes)
        if found.isEmpty { return text }
        return Self.replacing(found, in: bytes, within: 0..<bytes.count)
    }

    /// The text of `bytes[within]` with every part of `ranges` inside it replaced by `***`. Line
    /// breaks inside a range stay, so a masked wrapped form keeps its lines.
    static func replacing(_ ranges: [Range<Int>], in bytes: [UInt8], within: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(within.count)
        var position = within.lowerBound
        for range in ranges where range.upperBound > within.lowerBound && range.lowerBound < within.upperBound {
            let masked = max(range.lowerBound, within.lowerBound)..<min(range.upperBound, within.upperBound)
            out.append(contentsOf: bytes[position..<masked.lowerBound])
            var pieceHasText = false
            for byte in bytes[masked] {
                if byte == 0x0A || byte == 0x0D {
                    if pieceHasText { out.append(contentsOf: mask.utf8) }
                    pieceHasText = false
                    out.append(byte)
                } else {
                    pieceHasText = true
                }
            }
            if pieceHasText { out.append(contentsOf: mask.utf8) }
            position = masked.upperBound
        }
        out.append(contentsOf: bytes[position..<within.upperBound])
        return String(decoding: out, as: UTF8.self)
    }

    public func mask(_ value: Value) -> Value {
        switch value {
        case .string(let s): .string(mask(s))
        case .list(let items): .list(items.map(mask))
        case .map(let m): .map(mask(m))
        case .int, .double:
            // A secret PIN is a number in outputs and params: it must not print either.
            mask(value.interpolated) == value.interpolated ? value : .string(Self.mask)
        case .null, .bool: value
        }
    }

    /// Masks keys as well as values (`return { [secrets.token] = 1 }` in a Lua step). Keys that
    /// mask to the same text get `#2`, `#3`… so no entry is lost.
    public func mask(_ map: [String: Value]) -> [String: Value] {
        var out: [String: Value] = [:]
        var renamed: [(original: String, masked: String, value: Value)] = []
        for (key, value) in map {
            let masked = mask(key)
            if masked == key { out[key] = mask(value) } else { renamed.append((key, masked, mask(value))) }
        }
        for (_, key, value) in renamed.sorted(by: { $0.original < $1.original }) {
            var name = key, counter = 1
            while out[name] != nil {
                counter += 1
                name = "\(key)#\(counter)"
            }
            out[name] = value
        }
        return out
    }
}
