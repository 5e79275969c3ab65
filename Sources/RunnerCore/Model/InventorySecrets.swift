/// The inventory's own secrets: a SOPS file named at its top,
///
/// ```yaml
/// secrets: { sops: inventory.secrets.sops.yaml }   # relative to the inventory file
/// hosts:
///   hornbill: { address: 100.67.57.25, user: stefan, sudo_password: hornbill_sudo }
/// ```
///
/// whose values the hosts' `sudo_password` and `identity_passphrase` may name. It is decrypted
/// (with the machinery of a pipeline's `secrets: - sops:`) only when a step needs one of them,
/// so pipelines that use neither sudo nor a key passphrase need no age key for it.
extension Inventory {
    public struct SecretsFile: Sendable, Hashable {
        /// The SOPS file, resolved against the inventory file's directory.
        public var path: String
        /// `key_file`: the age identities to decrypt it with, resolved the same way.
        public var keyFile: String?
        /// Where `secrets:` is written.
        public var location: SourceLocation

        public init(path: String, keyFile: String? = nil, location: SourceLocation) {
            self.path = path
            self.keyFile = keyFile
            self.location = location
        }
    }
}
