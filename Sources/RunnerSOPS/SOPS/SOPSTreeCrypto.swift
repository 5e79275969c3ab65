import Crypto

/// Walks a tree the way sops does (depth first, file order; list indices are not part of the
/// path; a comment's path is the map that holds it) and encrypts or decrypts its leaves while
/// hashing them into the MAC.
struct SOPSTreeCrypto {
    let matcher: SOPSCryptMatcher
    let macOnlyEncrypted: Bool
    let key: [UInt8]
    /// IVs seen while decrypting, reused when the same value is encrypted again at the same
    /// path (sops' "stash"), so that re-encrypting an edited file leaves unchanged values as
    /// they were.
    var stash: SOPSIVStash? = nil

    /// SHA-256("sops"), hashed first when only encrypted values are covered by the MAC.
    static let macOnlyEncryptedInitialization: [UInt8] = Array(SHA256.hash(data: Array("sops".utf8)))

    /// Encrypts every leaf the rule selects; returns the MAC (uppercase hex SHA-512).
    func encrypt(_ branches: inout SOPSBranches) throws(SOPSError) -> String {
        var hash = newHash()
        for index in branches.indices {
            try walkBranch(&branches[index], path: [], comments: []) { (value, path, comments) throws(SOPSError) in
                let isComment = if case .comment = value { true } else { false }
                let encrypted = matcher.shouldEncrypt(path: path, comments: comments, isComment: isComment)
                if (!macOnlyEncrypted || encrypted) && !isComment, let bytes = value.macBytes {
                    hash.update(data: bytes)
                }
                guard encrypted else { return value }
                let aad = Self.aad(path)
                return try SOPSCipher.encrypt(value, key: key, aad: aad, iv: stash?.iv(aad: aad, value: value))
            }
        }
        return Self.hex(hash)
    }

    /// Decrypts every leaf the rule selects; returns the MAC computed over the plaintext.
    /// Comments that do not decrypt are kept as they are (sops: "possibly unencrypted comment").
    func decrypt(_ branches: inout SOPSBranches) throws(SOPSError) -> String {
        var hash = newHash()
        for index in branches.indices {
            try walkBranch(&branches[index], path: [], comments: []) { (value, path, comments) throws(SOPSError) in
                let isComment = if case .comment = value { true } else { false }
                let encrypted = matcher.shouldEncrypt(path: path, comments: comments, isComment: isComment)
                var plain = value
                if encrypted {
                    switch value {
                    case .comment(let comment):
                        // A comment that does not decrypt was probably never encrypted: kept as is.
                        if case (.comment(let decrypted), let iv)? = SOPSCipher.decryptWithIV(comment.text, key: key, aad: Self.aad(path)) {
                            plain = .comment(SOPSComment(text: decrypted.text, inline: comment.inline))
                            stash?.record(aad: Self.aad(path), value: plain, iv: iv)
                        }
                    case .string(let text):
                        guard let (decrypted, iv) = SOPSCipher.decryptWithIV(text, key: key, aad: Self.aad(path)) else {
                            let what =
                                SOPSEncryptedValue.parse(text) == nil
                                ? "is not an encrypted value (ENC[...])" : "does not decrypt (modified value, renamed key, or wrong data key)"
                            throw SOPSError(.decryptionFailed, "cannot decrypt the value at '\(Self.display(path))': it \(what)")
                        }
                        plain = decrypted
                        stash?.record(aad: Self.aad(path), value: plain, iv: iv)
                    default:
                        throw SOPSError(.decryptionFailed, "the value at '\(Self.display(path))' should be encrypted but is a plain \(Self.typeName(value))")
                    }
                }
                if (!macOnlyEncrypted || encrypted) && !isComment, let bytes = plain.macBytes {
                    hash.update(data: bytes)
                }
                return plain
            }
        }
        return Self.hex(hash)
    }

    private func newHash() -> SHA512 {
        var hash = SHA512()
        if macOnlyEncrypted { hash.update(data: Self.macOnlyEncryptedInitialization) }
        return hash
    }

    static func aad(_ path: [String]) -> String { path.joined(separator: ":") + ":" }

    static func display(_ path: [String]) -> String { path.isEmpty ? "(top-level comment)" : path.joined(separator: ".") }

    private static func hex(_ hash: SHA512) -> String { Bytes.hex(hash.finalize(), uppercase: true) }

    private static func typeName(_ value: SOPSValue) -> String {
        switch value {
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .time: "timestamp"
        case .bytes, .rawString: "byte string"
        default: "value"
        }
    }

    // MARK: Walk

    typealias Leaf = (SOPSValue, [String], [[String]]) throws(SOPSError) -> SOPSValue

    private func walkBranch(_ items: inout [SOPSItem], path: [String], comments: [[String]], _ leaf: Leaf) throws(SOPSError) {
        var stack = comments + [[]]
        for index in items.indices {
            switch items[index] {
            case .comment(let comment):
                stack[stack.count - 1].append(comment.text)
                if case .comment(let updated) = try leaf(.comment(comment), path, stack) { items[index] = .comment(updated) }
            case .pair(let key, var value):
                try walkValue(&value, path: path + [key], comments: stack, leaf)
                items[index] = .pair(key, value)
                stack[stack.count - 1] = []
            }
        }
    }

    private func walkList(_ items: inout [SOPSValue], path: [String], comments: [[String]], _ leaf: Leaf) throws(SOPSError) {
        var stack = comments + [[]]
        for index in items.indices {
            let isComment: Bool
            if case .comment(let comment) = items[index] {
                stack[stack.count - 1].append(comment.text)
                isComment = true
            } else {
                isComment = false
            }
            try walkValue(&items[index], path: path, comments: stack, leaf)
            if !isComment { stack[stack.count - 1] = [] }
        }
    }

    private func walkValue(_ value: inout SOPSValue, path: [String], comments: [[String]], _ leaf: Leaf) throws(SOPSError) {
        switch value {
        case .map(var items):
            try walkBranch(&items, path: path, comments: comments, leaf)
            value = .map(items)
        case .list(var items):
            try walkList(&items, path: path, comments: comments, leaf)
            value = .list(items)
        case .null:
            return
        default:
            value = try leaf(value, path, comments)
        }
    }
}

/// IVs by (additional data, type, plaintext bytes).
final class SOPSIVStash {
    private var ivs: [String: [UInt8]] = [:]

    private static func key(aad: String, value: SOPSValue) -> String? {
        guard let type = SOPSCipher.typeName(value), let bytes = value.macBytes else { return nil }
        return aad + "\u{0}" + type + "\u{0}" + Bytes.hex(bytes)
    }

    func record(aad: String, value: SOPSValue, iv: [UInt8]?) {
        guard let iv, let key = Self.key(aad: aad, value: value) else { return }
        ivs[key] = iv
    }

    func iv(aad: String, value: SOPSValue) -> [UInt8]? {
        Self.key(aad: aad, value: value).flatMap { ivs[$0] }
    }
}
