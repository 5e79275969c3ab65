import Foundation

/// The ways one secret can be written in output, which the masker looks for.
///
/// Besides the value itself: the lines of a multi-line value, its URL encodings, its base64
/// (standard and URL alphabet, padded and unpadded), and the three "embedded" base64 forms that
/// appear when the value is encoded with other data before or after it (`user:<secret>` in HTTP
/// Basic auth). JSON escapes of every form are handled by `SecretPattern`, not listed here.
enum SecretForms {
    /// Forms shorter than this many characters are masked only where they stand as a whole
    /// token (not touching a letter, digit or `_`): a `7` or `true` from a secrets file would
    /// otherwise turn `d7` into `d***` and every `"changed":true` into `***`.
    static let anywhereLength = 8

    struct Form: Hashable {
        var text: String
        /// Masked only as a whole token.
        var token: Bool
        /// A base64 form: it may be wrapped over lines (`base64`, PEM), a line break between any
        /// two of its characters.
        var wraps: Bool
    }

    static func of(_ secret: String) -> [Form] {
        var forms: [Form] = []
        func add(_ text: String, wraps: Bool = false, embedded: Bool = false) {
            guard !text.isEmpty else { return }
            if embedded && text.count < anywhereLength { return }
            let form = Form(text: text, token: !embedded && text.count < anywhereLength, wraps: wraps)
            if !forms.contains(where: { $0.text == text }) { forms.append(form) }
        }
        add(secret)
        for line in secret.split(whereSeparator: \.isNewline) where line.count >= 4 { add(String(line)) }
        if let url = secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?/#"))) {
            add(url)
        }
        if let url = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { add(url) }
        let bytes = Array(secret.utf8)
        let base64 = Data(bytes).base64EncodedString()
        for text in [base64, base64.replacingOccurrences(of: "=", with: "")] {
            add(text, wraps: true)
            add(urlAlphabet(text), wraps: true)
        }
        for inner in embeddedBase64(bytes) + embeddedBase64(bytes, atEnd: true) {
            add(inner, wraps: true, embedded: true)
            add(urlAlphabet(inner), wraps: true, embedded: true)
        }
        return forms
    }

    /// The base64 characters that encode only the secret's own bits when it is encoded at byte
    /// offset 0, 1 and 2 (mod 3) of a longer input: the characters shared with the neighbouring
    /// bytes depend on them and are left out. `atEnd`: the secret ends the input (`user:<secret>`),
    /// so its last characters and the padding are its own too (given padded and unpadded; at
    /// offset 0 that is the whole value's base64, registered on its own).
    static func embeddedBase64(_ bytes: [UInt8], atEnd: Bool = false) -> [String] {
        (atEnd ? 1..<3 : 0..<3).flatMap { shift -> [String] in
            let encoded = Array(Data([UInt8](repeating: 0, count: shift) + bytes).base64EncodedString().utf8)
            let first = (8 * shift + 5) / 6                 // first character whose 6 bits are all the secret's
            let end = (8 * shift + 8 * bytes.count) / 6     // after the last such character
            guard end > first else { return [] }
            if !atEnd { return [String(decoding: encoded[first..<end], as: UTF8.self)] }
            let tail = String(decoding: encoded[first...], as: UTF8.self)
            return [tail, tail.replacingOccurrences(of: "=", with: "")]
        }
    }

    /// base64url (JWT segments): `-` and `_` for `+` and `/`.
    static func urlAlphabet(_ base64: String) -> String {
        String(base64.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}
