import Foundation
import RunnerCore
import RunnerSOPS

/// `uses: sops` — SOPS files with age keys, natively: no sops binary on any machine, and the
/// age key never leaves the machine runner runs on.
///
/// - `decrypt`: a SOPS file on the step's host to a plaintext file there (mode 0600, atomic);
///   the same bytes `sops -d` prints.
/// - `load`: a SOPS file beside the pipeline into masked outputs (what `secrets: - sops:` uses).
/// - `encrypt`: a plaintext file on the host to a SOPS file, for age recipients or the creation
///   rule of a `.sops.yaml`.
public struct SOPSPlugin: StepPlugin {
    public let name = "sops"
    public let summary = "Decrypt, load or encrypt SOPS files (age keys), natively"
    public let parameters = [
        ParameterSpec("decrypt", .string, doc: "SOPS file on the step's host to decrypt. Needs `dest`"),
        ParameterSpec("dest", .string, doc: "decrypt/encrypt: the file to write on the host (decrypt: mode 0600, written atomically)"),
        ParameterSpec("load", .string, doc: "SOPS file beside the pipeline (or an absolute path) whose values become masked outputs"),
        ParameterSpec("encrypt", .string, doc: "Plaintext file on the step's host to encrypt. Needs `dest`, and `recipients` or a `.sops.yaml`"),
        ParameterSpec("recipients", .list, doc: "encrypt: age recipients (`age1…`); default: the matching creation rule of `config`"),
        ParameterSpec("config", .string, doc: "encrypt: the `.sops.yaml` (on this machine) whose creation rules apply; default: the nearest one above the pipeline"),
        ParameterSpec("format", .oneOf(["dotenv", "yaml", "json", "binary"]),
                      doc: "File format; default from the name as sops does, with `*.env.sops` read as dotenv"),
        ParameterSpec("key_file", .string, doc: "age identities file; default SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, then ~/.config/sops/age/keys.txt"),
    ]
    public let outputs = [
        OutputSpec("path", .string, doc: "decrypt/encrypt: the file written"),
        OutputSpec("keys", .list, doc: "decrypt/load: the names of the values (never the values)"),
        OutputSpec("<name>", .string, doc: "load: one output per value (masked everywhere)"),
    ]

    public init() {}

    /// `sops decrypt .env.sops`, `sops load deploy.env.sops`, `sops encrypt .env`.
    public func label(_ with: StepLabel) -> String {
        guard let action = ["decrypt", "load", "encrypt"].first(where: with.has) else { return name }
        return with.words(name, action, with.file(action))
    }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let actions = ["decrypt", "load", "encrypt"].filter { with[$0]?.stringValue != nil }
        guard actions.count == 1 else {
            throw StepFailure("sops needs exactly one of decrypt, load or encrypt\(actions.isEmpty ? "" : " (got \(actions.joined(separator: " and ")))")")
        }
        do {
            switch actions[0] {
            case "decrypt": return try await decrypt(with, context: context)
            case "load": return try await load(with, context: context)
            default: return try await encrypt(with, context: context)
            }
        } catch let error as SOPSError {
            throw StepFailure("sops: \(error.message)")
        }
    }

    private func decrypt(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let source = with["decrypt"]?.stringValue ?? ""
        guard let dest = with["dest"]?.stringValue, !dest.isEmpty else { throw StepFailure("sops decrypt needs dest (the plaintext file to write)") }
        let encrypted = try await context.target.readFile(source, limit: 64 << 20)
        let file = try SOPSFile.decrypt(data: encrypted, format: format(with, file: source), identities: try identities(with, context: context))
        for entry in file.entries { context.registerSecret(entry.value) }
        let keys = Value.list(file.entries.map { .string($0.name) })
        if (try? await context.target.readFile(dest, limit: file.plaintext.count)) == file.plaintext {
            return StepResult(outputs: ["path": .string(dest), "keys": keys], changed: false)
        }
        try await context.target.writeFile(dest, contents: file.plaintext, mode: 0o600)
        context.log("decrypted \(source) to \(dest) (\(file.entries.count) values)")
        return StepResult(outputs: ["path": .string(dest), "keys": keys], changed: true)
    }

    private func load(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let path = local(with["load"]?.stringValue ?? "", context: context)
        guard let data = FileManager.default.contents(atPath: path) else { throw StepFailure("sops load: cannot read \(path)") }
        let file = try SOPSFile.decrypt(data: [UInt8](data), format: format(with, file: path), identities: try identities(with, context: context))
        var outputs: [String: Value] = [:]
        for entry in file.entries {
            context.registerSecret(entry.value)
            outputs[entry.name] = .string(entry.value)
        }
        outputs["keys"] = .list(file.entries.map { .string($0.name) })
        return StepResult(outputs: outputs)
    }

    private func encrypt(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let source = with["encrypt"]?.stringValue ?? ""
        guard let dest = with["dest"]?.stringValue, !dest.isEmpty else { throw StepFailure("sops encrypt needs dest (the SOPS file to write)") }
        let encrypter: SOPSEncrypter
        if let list = with["recipients"]?.listValue {
            encrypter = SOPSEncrypter(recipients: try list.map { try AgeRecipient($0.interpolated) })
        } else {
            let found: (directory: String, config: SOPSConfig)?
            if let config = with["config"]?.stringValue {
                let path = local(config, context: context)
                guard let data = FileManager.default.contents(atPath: path) else { throw StepFailure("sops encrypt: cannot read \(path)") }
                found = (Paths.directory(of: path), try SOPSConfig(yaml: [UInt8](data)))
            } else {
                found = try SOPSConfig.find(forFile: Paths.join(context.pipelineDirectory, Paths.fileName(of: dest)))
            }
            guard let found, let rule = try found.config.creationRule(forFile: dest, configDirectory: found.directory) else {
                throw StepFailure("sops encrypt: no recipients given and no .sops.yaml creation rule matches \(dest)")
            }
            encrypter = try SOPSEncrypter(creationRule: rule)
        }
        let plaintext = try await context.target.readFile(source, limit: 64 << 20)
        let encrypted = try encrypter.encrypt(plaintext, format: format(with, file: dest))
        try await context.target.writeFile(dest, contents: encrypted, mode: 0o644)
        context.log("encrypted \(source) to \(dest) for \(encrypter.recipients.count) recipient(s)")
        return StepResult(outputs: ["path": .string(dest)], changed: true)
    }

    /// The format: explicit, else `*.env.sops` is dotenv (the convention of `.env.sops` files,
    /// which sops itself reads as binary unless told `--input-type dotenv`), else sops's rule
    /// on the name without a trailing `.sops`.
    private func format(_ with: [String: Value], file: String) -> SOPSFormat {
        if let name = with["format"]?.stringValue, let format = SOPSFormat(rawValue: name) { return format }
        let base = Paths.fileName(of: file)
        if base.hasSuffix(".sops") { return SOPSFormat(fileName: String(base.dropLast(5))) }
        return SOPSFormat(fileName: base)
    }

    private func identities(_ with: [String: Value], context: StepContext) throws -> [AgeIdentity] {
        let keyFile = with["key_file"]?.stringValue.map { local($0, context: context) }
        return try AgeKeySources(keyFile: keyFile).loadIdentities()
    }

    private func local(_ path: String, context: StepContext) -> String {
        path.hasPrefix("/") ? path : Paths.join(context.pipelineDirectory, path)
    }
}
