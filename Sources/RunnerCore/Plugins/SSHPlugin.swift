import Foundation

/// `uses: ssh` — file transfer and local scripts for what `run:` does not cover. It works on
/// the step's target through the `Target` interface (SFTP on SSH hosts, files on `local`),
/// and through sudo when the step has `sudo:`.
public struct SSHPlugin: StepPlugin {
    public let name = "ssh"
    public let summary = "Upload a file or inline content, download a file, or run a local script on the step's host"
    public let parameters = [
        ParameterSpec("upload", .string, doc: "Remote path to write (atomically: temporary file, mode, rename). Needs `src` or `content`"),
        ParameterSpec("src", .string, doc: "upload: local file to send (relative to the pipeline's directory)"),
        ParameterSpec("content", .string, doc: "upload: the text to write instead of a local file"),
        ParameterSpec("mode", .string, default: .string("0644"), doc: "upload: octal file mode"),
        ParameterSpec("owner", .string, doc: "upload: `user` or `user:group` to chown the file to (usually with `sudo: true`)"),
        ParameterSpec("download", .string, doc: "Remote path to fetch. Needs `dest`"),
        ParameterSpec("dest", .string, doc: "download: local path to write (relative to the pipeline's directory)"),
        ParameterSpec("max_size", .int, default: .int(64 << 20), doc: "download: refuse remote files larger than this many bytes"),
        ParameterSpec("script", .string, doc: "Local script to upload to a temporary file on the host, run and remove"),
        ParameterSpec("args", .list, default: .list([]), doc: "script: arguments, passed as they are (never through a shell)"),
        ParameterSpec("interpreter", .string, default: .string("/bin/sh"), doc: "script: program that runs the script"),
    ]
    public let outputs = [
        OutputSpec("path", .string, doc: "upload/download: the file written"),
        OutputSpec("bytes", .int, doc: "upload/download: its size"),
        OutputSpec("stdout", .string, doc: "script: its standard output"),
        OutputSpec("stderr", .string, doc: "script: its standard error"),
        OutputSpec("exit_code", .int, doc: "script: its exit status"),
    ]

    public init() {}

    /// `ssh upload app.json`, `ssh download dump.sql`, `ssh script migrate.sh`.
    public func label(_ with: StepLabel) -> String {
        guard let action = ["upload", "download", "script"].first(where: with.has) else { return name }
        return with.words(name, action, with.file(action))
    }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let actions = ["upload", "download", "script"].filter { with[$0] != nil && with[$0] != .null }
        guard actions.count == 1 else {
            throw StepFailure("ssh needs exactly one of upload, download or script\(actions.isEmpty ? "" : " (got \(actions.joined(separator: " and ")))")")
        }
        switch actions[0] {
        case "upload": return try await upload(with, context: context)
        case "download": return try await download(with, context: context)
        default: return try await script(with, context: context)
        }
    }

    private func upload(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let path = with["upload"]?.stringValue ?? ""
        guard let mode = Int(with["mode"]?.stringValue ?? "0644", radix: 8), (0...0o7777).contains(mode) else {
            throw StepFailure("ssh upload: mode must be octal like 0644, not '\(with["mode"]?.stringValue ?? "")'")
        }
        let contents: [UInt8]
        switch (with["src"]?.stringValue, with["content"]?.stringValue) {
        case (let src?, nil): contents = try readLocal(src, context: context)
        case (nil, let text?): contents = Array(text.utf8)
        default: throw StepFailure("ssh upload needs exactly one of src (a local file) or content (inline text)")
        }
        let owner = with["owner"]?.stringValue
        if let owner, !Self.isOwner(owner) {
            throw StepFailure("ssh upload: owner must be user or user:group, not '\(owner)'")
        }
        let target = context.target
        // Unchanged when the file already has these bytes, this mode and owner.
        let current = try? await target.readFile(path, limit: contents.count)
        if current == contents, let (currentMode, currentOwner) = try await attributes(path, context: context),
           currentMode == mode, owner.map({ Self.sameOwner($0, currentOwner) }) ?? true {
            return StepResult(outputs: ["path": .string(path), "bytes": .int(contents.count)], changed: false)
        }
        try await target.writeFile(path, contents: contents, mode: mode)
        if let owner {
            let result = try await plumbing(["chown", owner, "--", path], context: context)
            guard result.succeeded else { throw StepFailure("ssh upload: chown \(owner) \(path) failed: \(result.stderrTail)") }
        }
        context.log("wrote \(path) (\(contents.count) bytes, mode \(String(mode, radix: 8)))")
        return StepResult(outputs: ["path": .string(path), "bytes": .int(contents.count)], changed: true)
    }

    private func download(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let remote = with["download"]?.stringValue ?? ""
        guard let dest = with["dest"]?.stringValue, !dest.isEmpty else { throw StepFailure("ssh download needs dest (a local path)") }
        let limit = with["max_size"]?.intValue ?? 64 << 20
        let bytes = try await context.target.readFile(remote, limit: limit)
        let local = dest.hasPrefix("/") ? dest : Paths.join(context.pipelineDirectory, dest)
        try await LocalTarget().writeFile(local, contents: bytes, mode: 0o600)
        context.log("fetched \(remote) from \(context.target.name) to \(local) (\(bytes.count) bytes)")
        return StepResult(outputs: ["path": .string(local), "bytes": .int(bytes.count)], changed: true)
    }

    private func script(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let source = with["script"]?.stringValue ?? ""
        let contents = try readLocal(source, context: context)
        let arguments = (with["args"]?.listValue ?? []).map(\.interpolated)
        let interpreter = with["interpreter"]?.stringValue ?? "/bin/sh"
        let made = try await plumbing(["mktemp", "-t", "runner-script.XXXXXXXX"], context: context)
        let path = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard made.succeeded, path.hasPrefix("/") else {
            throw StepFailure("ssh script: cannot create a temporary file on \(context.target.name): \(made.stderrTail)")
        }
        var result: CommandResult
        do {
            try await context.target.writeFile(path, contents: contents, mode: 0o700)
            result = try await context.run(.argv([interpreter, path] + arguments))
        } catch {
            _ = try? await plumbing(["rm", "-f", "--", path], context: context)
            throw error
        }
        _ = try? await plumbing(["rm", "-f", "--", path], context: context)
        var outputs: [String: Value] = ["stdout": .string(result.stdout), "stderr": .string(result.stderr)]
        outputs["exit_code"] = result.exitCode.map { .int(Int($0)) } ?? .null
        guard result.succeeded else {
            throw StepFailure("script \(source) \(result.failureReason): \(result.stderrTail)", outputs: outputs)
        }
        return StepResult(outputs: outputs, changed: true)
    }

    /// Runs one of the plugin's own helper commands (mktemp, stat, chown, rm) on the step's
    /// target without streaming its output into the run log: the user did not ask for it, and
    /// a temporary file's path in the log tells others where to look for (or race) the script.
    private func plumbing(_ argv: [String], context: StepContext) async throws -> CommandResult {
        try await context.target.run(Command(.argv(argv), environment: context.environment), onOutput: { _ in })
    }

    private func readLocal(_ path: String, context: StepContext) throws -> [UInt8] {
        let full = path.hasPrefix("/") ? path : Paths.join(context.pipelineDirectory, path)
        guard let data = FileManager.default.contents(atPath: full) else { throw StepFailure("cannot read local file \(full)") }
        return [UInt8](data)
    }

    /// Mode and `user:group` of a remote file (nil when missing).
    private func attributes(_ path: String, context: StepContext) async throws -> (Int, String)? {
        let result = try await plumbing(["stat", "-c", "%a %U:%G", "--", path], context: context)
        let fields = result.stdout.split(separator: " ")
        guard result.succeeded, fields.count == 2, let mode = Int(fields[0], radix: 8) else { return nil }
        return (mode, fields[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `wanted` (`user` or `user:group`) matches the file's `user:group`.
    static func sameOwner(_ wanted: String, _ current: String) -> Bool {
        wanted.contains(":") ? wanted == current : current.hasPrefix(wanted + ":")
    }

    static func isOwner(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { part in
            !part.isEmpty && part.first != "-" && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        }
    }
}
