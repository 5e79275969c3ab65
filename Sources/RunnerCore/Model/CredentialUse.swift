/// A host credential a step needs: the host's `identity_passphrase` to connect to it, its
/// `sudo_password` for a `sudo:` step on it. Only what a pipeline uses is required, so an
/// inventory can name a sudo password that pipelines without `sudo:` never declare.
struct CredentialUse: Sendable, Hashable {
    var host: String
    /// `identity_passphrase` or `sudo_password`.
    var field: String
    /// The secret the field names.
    var secret: String
    /// Why it is needed: the step and what it does on the host.
    var why: String

    /// The credentials the steps of `pipeline` need on the hosts their `on:` names literally
    /// (hosts or groups), or that `resolved` gives for a step (by its location; other
    /// expressions are resolved when the step runs), on `limit`'s hosts only when given.
    static func uses(of pipeline: Pipeline, limit: Set<String>? = nil, resolved: [SourceLocation: [String]] = [:]) -> [CredentialUse] {
        var out: [CredentialUse] = []
        for step in pipeline.allSteps {
            guard let on = step.on else { continue }
            var hosts: [String] = []
            for name in resolved[step.location] ?? literalHostNames(on).map(\.0) {
                for host in pipeline.inventory.resolve(name) ?? [] where !hosts.contains(host) && (limit?.contains(host) ?? true) {
                    hosts.append(host)
                }
            }
            for name in hosts {
                guard let host = pipeline.inventory.hosts[name] else { continue }
                if let secret = host.identityPassphraseSecret, !host.isLocal {
                    out.append(CredentialUse(host: name, field: "identity_passphrase", secret: secret,
                                             why: "step '\(step.displayName)' at \(step.location) connects to it"))
                }
                if let secret = host.sudoPasswordSecret, let user = step.sudo {
                    out.append(CredentialUse(host: name, field: "sudo_password", secret: secret,
                                             why: "step '\(step.displayName)' at \(step.location) runs with sudo: \(user == "root" ? "true" : user) on it"))
                }
            }
        }
        return out
    }

    /// The host and group names an `on:` writes as plain text (a name or a list of names).
    static func literalHostNames(_ on: TemplateValue) -> [(String, SourceLocation)] {
        switch on {
        case .literal(.string(let s), let at): [(s, at)]
        case .list(let items, _): items.compactMap { if case .literal(.string(let s), let at) = $0 { (s, at) } else { nil } }
        default: []
        }
    }
}
