/// Recovers the 32-byte data key from a file's metadata with age identities.
enum SOPSDataKey {
    static let size = 32

    static func recover(_ metadata: SOPSMetadata, identities: [AgeIdentity]) throws(SOPSError) -> [UInt8] {
        let groups = metadata.keyGroups
        var problems: [String] = []
        if groups.count == 1, let group = groups.first {
            if let key = unwrap(group, identities: identities, problems: &problems), key.count == size { return key }
            throw noKey(metadata, identities: identities, detail: details(problems))
        }
        // Several groups: each wraps a Shamir share; `shamir_threshold` shares rebuild the key.
        let threshold = metadata.shamirThreshold > 0 ? metadata.shamirThreshold : groups.count
        var parts: [[UInt8]] = []
        for group in groups {
            if let part = unwrap(group, identities: identities, problems: &problems) { parts.append(part) }
            if parts.count >= threshold { break }
        }
        guard parts.count >= threshold, let key = Shamir.combine(parts), key.count == size else {
            throw noKey(
                metadata, identities: identities,
                detail: " (\(parts.count) of the \(threshold) key group shares needed)" + details(problems))
        }
        return key
    }

    /// The first age entry of the group that one of the identities opens. Entries for someone
    /// else, or malformed ones, are skipped like sops does; malformed ones are noted.
    private static func unwrap(_ group: SOPSMetadata.KeyGroup, identities: [AgeIdentity], problems: inout [String]) -> [UInt8]? {
        for entry in group.age where !entry.enc.isEmpty {
            do {
                return try Age.decrypt(Array(entry.enc.utf8), identities: identities, armored: true)
            } catch where error.code != .ageNoMatch {
                problems.append("the age entry for \(entry.recipient) is damaged: \(error.message)")
            } catch {
                continue
            }
        }
        return nil
    }

    private static func details(_ problems: [String]) -> String {
        problems.isEmpty ? "" : "; " + problems.joined(separator: "; ")
    }

    private static func noKey(_ metadata: SOPSMetadata, identities: [AgeIdentity], detail: String = "") -> SOPSError {
        let recipients = metadata.keyGroups.flatMap { $0.age.map(\.recipient) }
        let pgp = metadata.keyGroups.flatMap(\.pgp)
        let others = metadata.keyGroups.flatMap { $0.other.keys }.sorted()
        var wrapped: [String] = []
        if !pgp.isEmpty { wrapped.append("PGP (\(pgp.joined(separator: ", ")))") }
        if !others.isEmpty { wrapped.append(Set(others).sorted().joined(separator: ", ")) }
        guard !recipients.isEmpty else {
            return SOPSError(
                .noMatchingIdentity,
                "no age identity for this file: its data key is wrapped only for \(wrapped.joined(separator: " and ")), which is not supported; add an age recipient with 'sops updatekeys'")
        }
        let ours = identities.compactMap { $0.recipient?.description }
        return SOPSError(
            .noMatchingIdentity,
            "no age identity for this file: none of its age recipients (\(recipients.joined(separator: ", "))) matches the \(identities.count) identit\(identities.count == 1 ? "y" : "ies") available (\(ours.isEmpty ? "none with a public key" : ours.joined(separator: ", ")))\(detail)")
    }
}

/// HashiCorp Vault-style Shamir secret sharing over GF(2^8) (sops' `shamir` package): each part
/// is the share bytes followed by its x coordinate.
enum Shamir {
    static func combine(_ parts: [[UInt8]]) -> [UInt8]? {
        guard parts.count >= 2, let length = parts.first?.count, length >= 2, parts.allSatisfy({ $0.count == length }) else {
            return parts.count == 1 ? parts.first : nil
        }
        let xs = parts.map { $0[length - 1] }
        guard Set(xs).count == xs.count else { return nil }
        var secret = [UInt8](repeating: 0, count: length - 1)
        for index in 0..<(length - 1) {
            var result: UInt8 = 0
            for i in parts.indices {
                var basis: UInt8 = 1
                for j in parts.indices where j != i {
                    basis = multiply(basis, divide(xs[j], xs[i] ^ xs[j]))
                }
                result ^= multiply(parts[i][index], basis)
            }
            secret[index] = result
        }
        return secret
    }

    /// Multiplication in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1.
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a
        var b = b
        var product: UInt8 = 0
        while b != 0 {
            if b & 1 != 0 { product ^= a }
            let carry = a & 0x80
            a <<= 1
            if carry != 0 { a ^= 0x1B }
            b >>= 1
        }
        return product
    }

    private static func inverse(_ a: UInt8) -> UInt8 {
        // a^254 = a^-1 in GF(2^8) (0 maps to 0).
        var result: UInt8 = 1
        var base = a
        var exponent = 254
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    static func divide(_ a: UInt8, _ b: UInt8) -> UInt8 {
        b == 0 ? 0 : multiply(a, inverse(b))
    }
}
