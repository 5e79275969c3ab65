import Foundation
import RunnerCore

/// `uses: restic` — backups with the restic CLI (`--json`) on the step's host.
///
/// The repository, its password and the storage credentials travel in restic's environment
/// (`RESTIC_REPOSITORY`, `RESTIC_PASSWORD` or `RESTIC_PASSWORD_FILE`, `AWS_*`), never on a command line. The password,
/// `env` and credentials inside the repository URL are masked in every log line and error; the
/// repository's location is not, so messages can say which one is missing (see `URLCredentials`).
public struct ResticPlugin: StepPlugin {
    public let name = "restic"
    public let summary = "Back up, prune, check, list and restore with restic (JSON output parsed)"
    public let parameters = [
        ParameterSpec("command", .oneOf(["init", "backup", "forget", "check", "snapshots", "restore"]), required: true,
                      doc: "What to do. `backup` initialises the repository first when it does not exist yet"),
        ParameterSpec("repository", .string, required: true, urlCredentials: true,
                      doc: "Repository: a path, `sftp:…`, `s3:https://host/bucket/path`, … Shown in messages; only credentials in it (`user:password@`, query values) are masked"),
        ParameterSpec("password", .string, secret: true, doc: "Repository password (or `password_file`)"),
        ParameterSpec("password_file", .string,
                      doc: "A file on the step's host holding the repository password (restic's `RESTIC_PASSWORD_FILE`), instead of `password`"),
        ParameterSpec("env", .map, default: .map([:]), secret: true,
                      doc: "More environment for restic, e.g. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (masked)"),
        ParameterSpec("paths", .list, doc: "backup: files and directories to save"),
        ParameterSpec("exclude", .list, default: .list([]), doc: "backup: exclude patterns"),
        ParameterSpec("tags", .list, default: .list([]), doc: "backup: tags for the snapshot; forget/snapshots: only snapshots with these tags"),
        ParameterSpec("host", .string, doc: "backup: host name recorded in the snapshot; forget/snapshots: only this host's snapshots"),
        ParameterSpec("status_file", .string, doc: "backup: a JSON file written on the host with time, result and snapshot (like the seeds' status.json)"),
        ParameterSpec("keep_daily", .int, doc: "forget: daily snapshots to keep"),
        ParameterSpec("keep_weekly", .int, doc: "forget: weekly snapshots to keep"),
        ParameterSpec("keep_monthly", .int, doc: "forget: monthly snapshots to keep"),
        ParameterSpec("keep_last", .int, doc: "forget: most recent snapshots to keep"),
        ParameterSpec("prune", .bool, default: .bool(true), doc: "forget: also remove the data no snapshot uses any more"),
        ParameterSpec("read_data_subset", .string, doc: "check: also read this part of the data, e.g. `10%` or `1/5`"),
        ParameterSpec("snapshot", .string, default: .string("latest"), doc: "restore: snapshot id"),
        ParameterSpec("target", .string, doc: "restore: directory to restore into"),
        ParameterSpec("include", .list, default: .list([]), doc: "restore: only these paths"),
        ParameterSpec("verify", .bool, default: .bool(true), doc: "restore: read the restored files back and compare"),
    ]
    public let outputs = [
        OutputSpec("snapshot_id", .string, doc: "backup: the new snapshot"),
        OutputSpec("files_new", .int, doc: "backup: files added"),
        OutputSpec("files_changed", .int, doc: "backup: files changed"),
        OutputSpec("data_added", .int, doc: "backup: bytes added to the repository"),
        OutputSpec("summary", .string, doc: "backup: one line (snapshot, files, bytes), also shown in the run summary"),
        OutputSpec("removed", .int, doc: "forget: snapshots removed"),
        OutputSpec("snapshots", .list, doc: "snapshots: `{ id, time, host, paths, tags }` of each snapshot, oldest first"),
    ]

    public let alternatives = [["password", "password_file"]]

    public init() {}

    /// `restic backup`, `restic forget`, …
    public func label(_ with: StepLabel) -> String { with.words(name, with.text("command")) }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let restic = Restic(with: with, context: context)
        switch with["command"]?.stringValue {
        case "init": return StepResult(changed: try await restic.initialiseIfMissing())
        case "backup": return try await backup(restic, with)
        case "forget": return try await forget(restic, with)
        case "check": return try await check(restic, with)
        case "snapshots": return StepResult(outputs: ["snapshots": .list(try await restic.snapshots(filterArguments(with)))])
        default: return try await restore(restic, with)
        }
    }

    private func backup(_ restic: Restic, _ with: [String: Value]) async throws -> StepResult {
        let paths = strings(with["paths"])
        guard !paths.isEmpty else { throw StepFailure("restic backup needs paths") }
        var arguments = ["backup", "--json"]
        for pattern in strings(with["exclude"]) { arguments += ["--exclude", pattern] }
        for tag in strings(with["tags"]) { arguments += ["--tag", tag] }
        if let host = with["host"]?.stringValue { arguments += ["--host", host] }
        arguments += ["--"] + paths
        do {
            _ = try await restic.initialiseIfMissing()
            let summary = try await restic.backup(arguments)
            var outputs: [String: Value] = [
                "snapshot_id": summary["snapshot_id"] ?? .null, "files_new": summary["files_new"] ?? .null,
                "files_changed": summary["files_changed"] ?? .null, "data_added": summary["data_added"] ?? .null,
            ]
            let line = "snapshot \(outputs["snapshot_id"]?.interpolated ?? "?"): \(outputs["files_new"]?.interpolated ?? "0") new, "
                + "\(outputs["files_changed"]?.interpolated ?? "0") changed files, \(ByteCount.format(summary["data_added"]?.intValue ?? 0)) added"
            outputs["summary"] = .string(line)
            restic.context.log(line)
            try await writeStatus(restic, with, result: "success", snapshot: outputs["snapshot_id"]?.stringValue, error: nil)
            return StepResult(outputs: outputs, changed: true)
        } catch let failure as StepFailure {
            try? await writeStatus(restic, with, result: "failure", snapshot: nil, error: restic.context.masker.mask(failure.message))
            throw failure
        }
    }

    private func forget(_ restic: Restic, _ with: [String: Value]) async throws -> StepResult {
        var arguments = ["forget", "--json"]
        for (key, flag) in [("keep_last", "--keep-last"), ("keep_daily", "--keep-daily"), ("keep_weekly", "--keep-weekly"), ("keep_monthly", "--keep-monthly")] {
            if let count = with[key]?.intValue { arguments += [flag, String(count)] }
        }
        guard arguments.count > 2 else { throw StepFailure("restic forget needs a retention policy: keep_last, keep_daily, keep_weekly or keep_monthly") }
        arguments += filterArguments(with)
        if with["prune"]?.boolValue ?? true { arguments.append("--prune") }
        // Quiet: the JSON is for the plugin; the log gets the count below.
        let result = try await restic.run(arguments, log: false)
        // The JSON document is the first line; prune's report follows as text.
        let groups = try result.completeStdout("restic forget (it ran; its report)", limit: Restic.outputLimit).split(separator: "\n").lazy.compactMap { try? JSON.decode(String($0)) }.first
        let removed = groups?.listValue?.reduce(0) { $0 + ($1.mapValue?["remove"]?.listValue?.count ?? 0) } ?? 0
        restic.context.log("forgot \(removed) snapshot(s)\(arguments.contains("--prune") ? " and pruned unused data" : "")")
        return StepResult(outputs: ["removed": .int(removed)], changed: removed > 0)
    }

    private func check(_ restic: Restic, _ with: [String: Value]) async throws -> StepResult {
        var arguments = ["check"]
        if let subset = with["read_data_subset"]?.stringValue { arguments.append("--read-data-subset=\(subset)") }
        _ = try await restic.run(arguments)
        return StepResult()
    }

    private func restore(_ restic: Restic, _ with: [String: Value]) async throws -> StepResult {
        guard let target = with["target"]?.stringValue, !target.isEmpty else { throw StepFailure("restic restore needs target (a directory)") }
        var arguments = ["restore", with["snapshot"]?.stringValue ?? "latest", "--target", target]
        for path in strings(with["include"]) { arguments += ["--include", path] }
        if with["verify"]?.boolValue ?? true { arguments.append("--verify") }
        let result = try await restic.run(arguments)
        if result.stdout.contains("There were") && result.stdout.contains("errors") {
            throw StepFailure("restic restore reported errors: \(result.stdout.suffix(500))")
        }
        restic.context.log("restored \(with["snapshot"]?.stringValue ?? "latest") to \(target)")
        return StepResult(changed: true)
    }

    private func writeStatus(_ restic: Restic, _ with: [String: Value], result: String, snapshot: String?, error: String?) async throws {
        guard let path = with["status_file"]?.stringValue else { return }
        var status: [String: Value] = ["time": .string(ISO8601DateFormatter().string(from: Date())), "result": .string(result)]
        if let snapshot { status["snapshot"] = .string(snapshot) }
        if let error { status["error"] = .string(error) }
        try await restic.context.target.writeFile(path, contents: Array((JSON.encode(.map(status)) + "\n").utf8), mode: 0o644)
    }

    private func filterArguments(_ with: [String: Value]) -> [String] {
        var arguments: [String] = []
        for tag in strings(with["tags"]) { arguments += ["--tag", tag] }
        if let host = with["host"]?.stringValue { arguments += ["--host", host] }
        return arguments
    }

    private func strings(_ value: Value?) -> [String] { value?.listValue?.map(\.interpolated) ?? [] }
}
