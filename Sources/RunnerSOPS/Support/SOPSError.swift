/// Why an age or SOPS operation failed.
///
/// Messages name files, keys, recipients and byte counts, never a plaintext value, a data key,
/// a file key or a secret key: they are safe to log. `exitCode` is what `sops` exits with for the
/// same failure, so a caller can mirror the CLI.
///
/// ```swift
/// do {
///     let file = try SOPSFile.decrypt(data: bytes, format: .dotenv, identities: identities)
/// } catch let error as SOPSError where error.code == .macMismatch {
///     print(error)  // "MAC mismatch: the file was modified after it was encrypted ..."
/// }
/// ```
public struct SOPSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. New cases may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input is not a well-formed file of its format (YAML, JSON, dotenv, metadata fields).
        public static let invalidFile = Code("invalid file")
        /// The file has no `sops` metadata.
        public static let metadataNotFound = Code("metadata not found")
        /// A plaintext file already carries sops metadata.
        public static let alreadyEncrypted = Code("already encrypted")
        /// No identity could unwrap the data key (no age entry for our keys, PGP only, wrong key).
        public static let noMatchingIdentity = Code("no matching identity")
        /// A value did not decrypt or authenticate (wrong AAD, tampered, not `ENC[...]`).
        public static let decryptionFailed = Code("decryption failed")
        /// The MAC is missing, does not decrypt, or does not match the values.
        public static let macMismatch = Code("MAC mismatch")
        /// An age identity, recipient or key file is malformed.
        public static let invalidKey = Code("invalid key")
        /// A key file could not be read.
        public static let unreadableKeyFile = Code("unreadable key file")
        /// The request itself is not possible (no recipients, complex value in dotenv, reserved key).
        public static let invalidRequest = Code("invalid request")
        /// age: the ASCII armor is malformed.
        public static let ageArmor = Code("age armor failure")
        /// age: the header does not parse, or a stanza for a known type is malformed.
        public static let ageHeader = Code("age header failure")
        /// age: no stanza could be unwrapped with the identities given.
        public static let ageNoMatch = Code("age no match")
        /// age: a file key was unwrapped but the header MAC does not verify.
        public static let ageHMAC = Code("age header MAC failure")
        /// age: the payload is truncated, tampered or has trailing data.
        public static let agePayload = Code("age payload failure")
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The exit status `sops` uses for this failure (1 generic, 25 value decryption, 51 MAC,
    /// 128 data key, 203 already encrypted).
    public var exitCode: Int32 {
        switch code {
        case .decryptionFailed: 25
        case .macMismatch: 51
        case .noMatchingIdentity, .ageNoMatch, .ageHMAC, .ageHeader, .ageArmor, .agePayload: 128
        case .alreadyEncrypted: 203
        default: 1
        }
    }
}

extension SOPSError {
    static func invalidFile(_ message: String) -> SOPSError { SOPSError(.invalidFile, message) }
    static func invalidKey(_ message: String) -> SOPSError { SOPSError(.invalidKey, message) }
    static func invalidRequest(_ message: String) -> SOPSError { SOPSError(.invalidRequest, message) }
    static func armor(_ message: String) -> SOPSError { SOPSError(.ageArmor, "age: invalid armor: " + message) }
    static func header(_ message: String) -> SOPSError { SOPSError(.ageHeader, "age: invalid header: " + message) }
    static func payload(_ message: String) -> SOPSError { SOPSError(.agePayload, "age: invalid payload: " + message) }
}
