import RunnerCore
import Synchronization

/// One step's restic: the command line without secrets, the environment with them.
struct Restic {
    let context: StepContext
    let environment: [String: String]

    init(with: [String: Value], context: StepContext) {
        self.context = context
        var environment = ["RESTIC_REPOSITORY": with["repository"]?.interpolated ?? ""]
        if let file = with["password_file"]?.stringValue, with["password"] == nil {
            environment["RESTIC_PASSWORD_FILE"] = file
        } else {
            environment["RESTIC_PASSWORD"] = with["password"]?.interpolated ?? ""
        }
        for (key, value) in with["env"]?.mapValue ?? [:] {
            environment[key] = value.interpolated
            context.registerSecret(value.interpolated)
        }
        for credential in URLCredentials.parts(of: environment["RESTIC_REPOSITORY"] ?? "") { context.registerSecret(credential) }
        context.registerSecret(environment["RESTIC_PASSWORD"] ?? "")
        self.environment = environment
    }

    /// The repository as messages show it (its credentials masked by the run's masker).
    var repository: String { environment["RESTIC_REPOSITORY"] ?? "" }

    /// Bytes of restic's output kept for parsing (JSON listings of snapshots, forget groups).
    static let outputLimit = 8 << 20

    private func command(_ arguments: [String], timeout: Duration? = nil) -> Command {
        Command(.argv(["restic", "--no-cache"] + arguments), environment: context.environment.merging(environment) { _, new in new },
                workingDirectory: context.workingDirectory, timeout: timeout, outputLimit: Self.outputLimit)
    }

    /// Runs restic; a non-zero exit is a `StepFailure` with restic's own last words.
    @discardableResult
    func run(_ arguments: [String], log: Bool = true) async throws -> CommandResult {
        let result = try await (log ? context.run(command(arguments)) : context.target.run(command(arguments)) { _ in })
        guard result.succeeded else { throw failure(arguments[0], result) }
        return result
    }

    func failure(_ action: String, _ result: CommandResult) -> StepFailure {
        let detail = result.stderrTail.isEmpty ? result.failureReason : result.stderrTail
        if detail.contains("wrong password") {
            return StepFailure("restic \(action): wrong repository password (restic: \(detail))")
        }
        if detail.contains("Is there a repository at the following location?") {
            let hint = action == "open" ? "" : " (`command: init` creates one; `backup` creates it when missing)"
            return StepFailure("restic \(action): no repository at \(repository), or it cannot be reached\(hint) (restic: \(detail))")
        }
        return StepFailure("restic \(action) \(result.failureReason): \(detail)")
    }

    /// Creates the repository unless it exists; true when it was created. A wrong password or an
    /// unreachable repository is an error, not a reason to initialise.
    func initialiseIfMissing() async throws -> Bool {
        let probe = try await context.target.run(command(["cat", "config"], timeout: .seconds(120))) { _ in }
        if probe.succeeded { return false }
        let detail = probe.stderr
        let missing = detail.contains("Is there a repository at the following location?")
            && (detail.contains("no such file") || detail.contains("does not exist") || detail.contains("NoSuchBucket")
                || detail.contains("key does not exist") || detail.contains("The specified key does not exist"))
        guard missing else { throw failure("open", probe) }
        try await run(["init"])
        context.log("initialised a new restic repository")
        return true
    }

    /// `restic backup --json`, logging progress every 10 % and returning the summary message.
    func backup(_ arguments: [String]) async throws -> [String: Value] {
        let progress = Mutex(-1)
        let context = self.context
        let result = try await context.target.run(command(arguments)) { line in
            guard line.stream == .stdout else { return context.log(line.text, level: .warn) }
            guard line.text.contains("\"message_type\":\"status\""), case .map(let status)? = try? JSON.decode(line.text),
                  let done = status["percent_done"].flatMap(\.doubleValue) else { return }
            let tenth = Int(done * 10)
            let report = progress.withLock { last -> Bool in
                guard tenth > last else { return false }
                last = tenth
                return true
            }
            if report {
                let files = status["files_done"]?.intValue ?? 0, total = status["total_files"]?.intValue ?? 0
                context.log("backup \(tenth * 10)% (\(files)/\(total) files)")
            }
        }
        guard result.succeeded else { throw failure("backup", result) }
        for line in result.stdout.split(separator: "\n").reversed() where line.contains("\"message_type\":\"summary\"") {
            if case .map(let summary)? = try? JSON.decode(String(line)) { return summary }
        }
        throw StepFailure("restic backup printed no summary")
    }

    /// `restic snapshots --json`, as `{ id, time, host, paths, tags }` maps.
    func snapshots(_ filters: [String]) async throws -> [Value] {
        let result = try await run(["snapshots", "--json"] + filters, log: false)
        let text = try result.completeStdout("restic snapshots", limit: Self.outputLimit)
        guard case .list(let items)? = try? JSON.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StepFailure("restic snapshots: cannot parse its JSON output")
        }
        return items.compactMap { item in
            guard let map = item.mapValue else { return nil }
            var snapshot: [String: Value] = [:]
            snapshot["id"] = map["short_id"] ?? map["id"] ?? Value.null
            snapshot["time"] = map["time"] ?? Value.null
            snapshot["host"] = map["hostname"] ?? Value.null
            snapshot["paths"] = map["paths"] ?? Value.list([])
            snapshot["tags"] = map["tags"] ?? Value.list([])
            return Value.map(snapshot)
        }
    }
}
