import Synchronization

/// Host credentials (`identity_passphrase`, `sudo_password`): the secrets the inventory names,
/// looked up only where a step needs them, and checked before the first step for the hosts
/// a pipeline names in `on:`.
extension Engine {
    /// The value of the secret `name` that `field` of `host` names: an entry of the run's
    /// `secrets`, a param declared `secret: true`, or a value of the inventory's own SOPS file
    /// (decrypted the first time one is needed). Nil when the field is not set.
    func credential(_ name: String?, of host: Inventory.Host, field: String, run state: RunState) async throws -> String? {
        guard let name else { return nil }
        let scope = await state.runtime.snapshot()
        if case .map(let values)? = scope["secrets"], let value = values[name], value != .null { return value.interpolated }
        if state.pipeline.params.contains(where: { $0.secret && $0.name == name }), case .map(let values)? = scope["params"],
           let value = values[name], value != .null {
            return value.interpolated
        }
        var looked = "neither in the pipeline's secrets: nor a param with secret: true"
        if let file = state.pipeline.inventory.secrets {
            let values = try await state.inventorySecrets.values {
                try await self.loadSOPS(file.path, shown: file.path, keyFile: file.keyFile, at: file.location, state: state)
            }
            if let value = values[name], value != .null { return value.interpolated }
            looked = "neither in the pipeline's secrets:, a param with secret: true, nor in the inventory's \(file.path)"
        }
        throw StepFailure("host '\(host.name)': \(field) names the secret '\(name)', which is \(looked)")
    }

    /// The values of a SOPS file on this machine (`secrets: - sops:`, the inventory's
    /// `secrets:`), decrypted by the sops plugin and added to the masker.
    func loadSOPS(_ path: String, shown: String, keyFile: String?, at location: SourceLocation, state: RunState) async throws -> [String: Value] {
        guard let plugin = plugins["sops"] else {
            throw Diagnostic("secrets from '\(shown)' need the sops plugin, which this build does not include", at: location)
        }
        let context = makeContext(target: LocalTarget(processes: state.processes), step: StepRef(name: "secrets", location: location),
                                  environment: [:], workingDirectory: nil, state: state)
        var with: [String: Value] = ["load": .string(path)]
        if let keyFile { with["key_file"] = .string(keyFile) }
        let result: StepResult
        do {
            result = try await plugin.run(try plugins.bind(with, for: plugin), context: context)
        } catch let failure as StepFailure {
            throw Diagnostic("secrets from '\(shown)': \(failure.message)", at: location)
        }
        var loaded: [String: Value] = [:]
        for (name, value) in result.outputs where name != "keys" {
            state.emitter.masker.add(value)
            loaded[name] = value
        }
        return loaded
    }
}

/// The inventory's secrets of one run, decrypted once, by the first step that needs one.
final class InventorySecretsCache: Sendable {
    private let loading = Mutex<Task<[String: Value], any Error>?>(nil)

    func values(_ load: @escaping @Sendable () async throws -> [String: Value]) async throws -> [String: Value] {
        let task = loading.withLock { current in
            if let current { return current }
            let started = Task { try await load() }
            current = started
            return started
        }
        return try await task.value
    }
}
