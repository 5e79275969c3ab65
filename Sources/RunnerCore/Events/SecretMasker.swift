import Foundation
import Synchronization

/// Replaces secret values, and their base64 and URL-encoded forms, with `***`.
///
/// Thread-safe: secrets are added while a run starts and while steps load them.
public final class SecretMasker: Sendable {
    private let state = Mutex<[String]>([])

    public init(_ secrets: [String] = []) {
        for s in secrets { add(s) }
    }

    public static let mask = "***"

    /// Registers a secret. Empty strings are ignored.
    public func add(_ secret: String) {
        guard !secret.isEmpty else { return }
        var forms = [secret]
        let base64 = Data(secret.utf8).base64EncodedString()
        forms.append(base64)
        let unpadded = base64.replacingOccurrences(of: "=", with: "")
        if unpadded != base64 { forms.append(unpadded) }
        if let url = secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?/#"))),
           url != secret { forms.append(url) }
        if let url = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics), url != secret { forms.append(url) }
        for line in secret.split(separator: "\n") where line.count >= 4 && String(line) != secret { forms.append(String(line)) }
        state.withLock { list in
            for form in forms where !list.contains(form) { list.append(form) }
            list.sort { $0.count > $1.count }
        }
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

    public var isEmpty: Bool { state.withLock { $0.isEmpty } }

    public func mask(_ text: String) -> String {
        let secrets = state.withLock { $0 }
        guard !secrets.isEmpty, !text.isEmpty else { return text }
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Self.mask)
        }
        return out
    }

    public func mask(_ value: Value) -> Value {
        switch value {
        case .string(let s): .string(mask(s))
        case .list(let items): .list(items.map(mask))
        case .map(let m): .map(m.mapValues(mask))
        case .int, .double:
            // A secret PIN is a number in outputs and params: it must not print either.
            mask(value.interpolated) == value.interpolated ? value : .string(Self.mask)
        case .null, .bool: value
        }
    }

    public func mask(_ map: [String: Value]) -> [String: Value] { map.mapValues(mask) }
}
