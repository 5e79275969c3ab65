/// age's STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks, nonce = 11-byte big-endian
/// counter ‖ last-chunk flag, key = HKDF(file key, salt = 16-byte nonce, "payload").
enum AgeStream {
    static let chunkSize = 64 * 1024
    static let tagSize = 16
    static let nonceSize = 16

    static func payloadKey(fileKey: [UInt8], nonce: some Collection<UInt8>) -> [UInt8] {
        AgePrimitives.hkdf(ikm: fileKey, salt: Array(nonce), info: "payload")
    }

    private static func chunkNonce(counter: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { nonce[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    /// Encrypts `plaintext` into chunks; an empty plaintext gives one empty final chunk.
    static func seal(_ plaintext: [UInt8], key: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(plaintext.count + (plaintext.count / chunkSize + 1) * tagSize)
        var counter: UInt64 = 0
        var index = 0
        repeat {
            let end = min(index + chunkSize, plaintext.count)
            let last = end == plaintext.count
            out += AgePrimitives.seal(key: key, nonce: chunkNonce(counter: counter, last: last), Array(plaintext[index..<end]))
            counter += 1
            index = end
        } while index < plaintext.count
        return out
    }

    /// Decrypts `payload`, handing each authenticated chunk's plaintext to `output` before the
    /// next one is read, so a failure later on still leaves what was released correct.
    static func open(
        _ payload: ArraySlice<UInt8>, key: [UInt8], output: (ArraySlice<UInt8>) throws -> Void
    ) throws -> Void {
        let encryptedChunkSize = chunkSize + tagSize
        var counter: UInt64 = 0
        var index = payload.startIndex
        while true {
            let remaining = payload.endIndex - index
            guard remaining > 0 else { throw SOPSError.payload("the payload is truncated (no final chunk)") }
            let chunk = payload[index..<(index + min(remaining, encryptedChunkSize))]
            var last = remaining <= encryptedChunkSize && chunk.count < encryptedChunkSize
            if last && counter > 0 && chunk.count == tagSize {
                throw SOPSError.payload("the final chunk is empty")
            }
            var plaintext = AgePrimitives.open(key: key, nonce: chunkNonce(counter: counter, last: last), chunk)
            if plaintext == nil && !last {
                // A full-size chunk may be the final one.
                last = true
                plaintext = AgePrimitives.open(key: key, nonce: chunkNonce(counter: counter, last: true), chunk)
            }
            guard let plaintext else { throw SOPSError.payload("a chunk failed to authenticate") }
            try output(plaintext[...])
            index = chunk.endIndex
            counter += 1
            if last {
                guard index == payload.endIndex else { throw SOPSError.payload("trailing data after the final chunk") }
                return
            }
        }
    }
}
