import Foundation
import RunnerCore

extension DockerPlugin {
    /// `docker exec`: argv as given, or a string through the container's `sh -c`. Environment
    /// values travel in docker's own environment (`-e NAME` copies it), never on its command line.
    func exec(_ with: [String: Value], _ docker: DockerCLI) async throws -> StepResult {
        let container = with["exec"]?.stringValue ?? ""
        let command: [String]
        switch with["command"] {
        case .list(let items)?: command = items.map(\.interpolated)
        case .string(let script)?: command = ["sh", "-c", script]
        default: throw StepFailure("docker exec needs command: a list (argv) or a string (run by sh -c)")
        }
        guard !command.isEmpty else { throw StepFailure("docker exec: command is empty") }
        let environment = (with["env"]?.mapValue ?? [:]).mapValues(\.interpolated)
        var arguments = ["exec"]
        if let user = with["user"]?.stringValue { arguments += ["--user", user] }
        if let workdir = with["workdir"]?.stringValue { arguments += ["--workdir", workdir] }
        for name in environment.keys.sorted() {
            guard ShellQuote.isVariableName(name) else { throw StepFailure("docker exec: invalid environment variable name '\(name)'") }
            arguments += ["--env", name]
        }
        let result = try await docker.run(arguments + ["--", container] + command, environment: environment)
        // Without the final newline, as the local target reports output (SSH keeps it).
        var outputs: [String: Value] = ["stdout": .string(Self.chomp(result.stdout)), "stderr": .string(Self.chomp(result.stderr))]
        outputs["exit_code"] = result.exitCode.map { .int(Int($0)) } ?? .null
        guard result.succeeded else {
            let failure = docker.failure("docker exec in \(container)", result)
            throw StepFailure(failure.message, outputs: outputs)
        }
        return StepResult(outputs: outputs, changed: true)
    }

    /// Creates the network unless it exists; returns its id and whether it was created.
    func ensureNetwork(_ name: String, driver: String?, _ docker: DockerCLI) async throws -> (String, Bool) {
        let inspect = ["network", "inspect", "--format", "{{.Id}}", "--", name]
        let existing = try await docker.run(inspect, timeout: DockerCLI.quickTimeout, quiet: true)
        if existing.succeeded { return (existing.stdout.trimmingCharacters(in: .whitespacesAndNewlines), false) }
        guard existing.stderr.lowercased().contains("no such network") || existing.stderr.contains("not found") else {
            throw docker.failure("docker network inspect \(name)", existing)
        }
        var create = ["network", "create"]
        if let driver { create += ["--driver", driver] }
        let created = try await docker.run(create + ["--", name], timeout: DockerCLI.quickTimeout, quiet: true)
        if created.succeeded {
            docker.context.log("created network \(name)")
            return (created.stdout.trimmingCharacters(in: .whitespacesAndNewlines), true)
        }
        // Another run created it meanwhile: that is the state we wanted.
        if created.stderr.contains("already exists") {
            let again = try await docker.check("docker network inspect \(name)", inspect, timeout: DockerCLI.quickTimeout, quiet: true)
            return (again.stdout.trimmingCharacters(in: .whitespacesAndNewlines), false)
        }
        throw docker.failure("docker network create \(name)", created)
    }

    /// `docker image prune --force`, with `--all` and filters.
    func prune(_ with: [String: Value], _ docker: DockerCLI) async throws -> StepResult {
        var arguments = ["image", "prune", "--force"]
        if with["all"]?.boolValue == true { arguments.append("--all") }
        for filter in (with["filter"]?.listValue ?? []).map(\.interpolated) { arguments += ["--filter", filter] }
        let result = try await docker.check("docker image prune", arguments, timeout: .seconds(600))
        let reclaimed = result.stdout.split(separator: "\n").last { $0.hasPrefix("Total reclaimed space:") }
            .map { $0.dropFirst("Total reclaimed space:".count).trimmingCharacters(in: .whitespaces) } ?? "0B"
        let removed = result.stdout.split(separator: "\n").contains { $0.hasPrefix("deleted:") || $0.hasPrefix("untagged:") }
        return StepResult(outputs: ["reclaimed": .string(reclaimed)], changed: removed)
    }

    static func chomp(_ text: String) -> String {
        var text = text[...]
        if text.last == "\n" || text.last == "\r\n" { text.removeLast() }
        return String(text)
    }
}
