import Crypto

/// A parsed `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value.
struct SOPSEncryptedValue: Sendable, Equatable {
    var data: [UInt8]
    var iv: [UInt8]
    var tag: [UInt8]
    var type: String

    /// sops' (unanchored-at-the-end, greedy) pattern
    /// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`, matched without a regex engine
    /// so that hostile input cannot make it backtrack. Groups never span a newline.
    static func parse(_ text: String) -> SOPSEncryptedValue? {
        let prefix = Array("ENC[AES256_GCM,data:".utf8)
        let bytes = Array(text.utf8)
        guard bytes.starts(with: prefix) else { return nil }
        let body = Array(bytes[prefix.count...].prefix { $0 != UInt8(ascii: "\n") })
        guard let close = body.lastIndex(of: UInt8(ascii: "]")) else { return nil }
        // Greedy from the left: each group ends at the last separator that still leaves a
        // non-empty group and a possible match for the rest.
        guard let typeStart = lastOccurrence(of: ",type:", in: body, before: close, minimumGap: 1),
            let tagStart = lastOccurrence(of: ",tag:", in: body, before: typeStart, minimumGap: 1),
            let ivStart = lastOccurrence(of: ",iv:", in: body, before: tagStart, minimumGap: 1),
            ivStart >= 1
        else { return nil }
        guard let data = Base64.decodeLenientPadded(body[..<ivStart]),
            let iv = Base64.decodeLenientPadded(body[(ivStart + 4)..<tagStart]),
            let tag = Base64.decodeLenientPadded(body[(tagStart + 5)..<typeStart])
        else { return nil }
        return SOPSEncryptedValue(
            data: data, iv: iv, tag: tag, type: String(decoding: body[(typeStart + 6)..<close], as: UTF8.self))
    }

    /// The largest index `i` where `separator` starts and whose following group (up to `limit`)
    /// has at least `minimumGap` bytes.
    private static func lastOccurrence(of separator: String, in body: [UInt8], before limit: Int, minimumGap: Int) -> Int? {
        let pattern = Array(separator.utf8)
        var index = limit - pattern.count - minimumGap
        while index >= 0 {
            if body[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index -= 1
        }
        return nil
    }

    var text: String {
        "ENC[AES256_GCM,data:\(Base64.encode(data)),iv:\(Base64.encode(iv)),tag:\(Base64.encode(tag)),type:\(type)]"
    }
}

/// AES-256-GCM as sops uses it: 32-byte random IVs (standard GCM with the GHASH-derived J0),
/// the path as additional data.
enum SOPSCipher {
    static let ivSize = 32

    static func seal(_ plaintext: [UInt8], key: [UInt8], iv: [UInt8]? = nil, aad: String, type: String) throws(SOPSError) -> SOPSEncryptedValue {
        let iv = iv ?? Bytes.random(ivSize)
        do {
            let box = try AES.GCM.seal(
                plaintext, using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: iv), authenticating: Array(aad.utf8))
            return SOPSEncryptedValue(data: Array(box.ciphertext), iv: iv, tag: Array(box.tag), type: type)
        } catch {
            throw SOPSError.invalidRequest("AES-GCM encryption failed (key of \(key.count) bytes, IV of \(iv.count) bytes)")
        }
    }

    /// The plaintext, or nil when it does not authenticate under `key` and `aad`.
    static func open(_ value: SOPSEncryptedValue, key: [UInt8], aad: String) -> [UInt8]? {
        guard key.count == 32, value.iv.count >= 12, value.tag.count == 16,
            let nonce = try? AES.GCM.Nonce(data: value.iv),
            let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: value.data, tag: value.tag),
            let plaintext = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: Array(aad.utf8))
        else { return nil }
        return Array(plaintext)
    }

    /// The `type:` a leaf is encrypted with, nil for what is not encrypted.
    static func typeName(_ value: SOPSValue) -> String? {
        switch value {
        case .string, .rawString, .bytes: "str"
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .time: "time"
        case .comment: "comment"
        case .null, .map, .list: nil
        }
    }

    /// Encrypts a leaf as sops does: empty strings and comments stay empty, every other scalar
    /// becomes `ENC[...]` typed by its Swift case. `iv` reuses an IV (sops' stash on edit).
    static func encrypt(_ value: SOPSValue, key: [UInt8], aad: String, iv: [UInt8]? = nil) throws(SOPSError) -> SOPSValue {
        let type: String
        switch value {
        case .string(let s) where s.isEmpty: return value
        case .comment(let c) where c.text.isEmpty: return value
        case .string, .rawString: type = "str"
        case .int: type = "int"
        case .float: type = "float"
        case .bool: type = "bool"
        case .time: type = "time"
        case .comment: type = "comment"
        case .bytes(let b) where b.isEmpty: return .string("")
        case .bytes: type = "str"
        case .null, .map, .list: return value
        }
        let text = try seal(value.macBytes ?? [], key: key, iv: iv, aad: aad, type: type).text
        if case .comment(let c) = value { return .comment(SOPSComment(text: text, inline: c.inline)) }
        return .string(text)
    }

    /// Decrypts `ENC[...]` text into a typed value. Nil when the text is not sops' format, does
    /// not authenticate, or its plaintext does not fit its type.
    static func decrypt(_ text: String, key: [UInt8], aad: String) -> SOPSValue? {
        decryptWithIV(text, key: key, aad: aad)?.value
    }

    /// `decrypt`, with the IV the value was encrypted under (nil for the empty string).
    static func decryptWithIV(_ text: String, key: [UInt8], aad: String) -> (value: SOPSValue, iv: [UInt8]?)? {
        if text.isEmpty { return (.string(""), nil) }
        guard let encrypted = SOPSEncryptedValue.parse(text), let plaintext = open(encrypted, key: key, aad: aad),
            let value = typed(plaintext, type: encrypted.type)
        else { return nil }
        return (value, encrypted.iv)
    }

    private static func typed(_ plaintext: [UInt8], type: String) -> SOPSValue? {
        let string = String(validating: plaintext, as: UTF8.self)
        switch type {
        case "str": return string.map(SOPSValue.string) ?? .rawString(plaintext)
        case "int": return string.flatMap(goAtoi).map(SOPSValue.int)
        case "float": return string.flatMap(GoFloat.parse).map(SOPSValue.float)
        case "bool": return string.flatMap(goParseBool).map(SOPSValue.bool)
        case "bytes": return .bytes(plaintext)
        case "time": return string.map(SOPSValue.time)
        case "comment": return .comment(SOPSComment(text: string ?? String(decoding: plaintext, as: UTF8.self)))
        default: return nil
        }
    }

    /// `strconv.Atoi`: optional sign, decimal digits.
    static func goAtoi(_ text: String) -> Int? {
        var digits = Substring(text)
        if let first = digits.first, first == "+" || first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `strconv.ParseBool`.
    static func goParseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }
}
