import Foundation
import RunnerCore

/// One step's docker CLI on the step's target: argv only, never a shell built from values.
struct DockerCLI {
    let context: StepContext

    /// Limit for the short commands (inspect, logs, network, version probes), so a wedged
    /// daemon fails the step instead of hanging it.
    static let quickTimeout: Duration = .seconds(60)

    /// Bytes of docker's output kept for parsing (`inspect` JSON, `compose config` YAML).
    static let outputLimit = 4 << 20

    /// Runs `docker <arguments>`; output is streamed into the run log unless `quiet`.
    func run(_ arguments: [String], program: [String] = ["docker"], workingDirectory: String? = nil,
             environment: [String: String] = [:], timeout: Duration? = nil, quiet: Bool = false) async throws -> CommandResult {
        let command = Command(.argv(program + arguments), environment: context.environment.merging(environment) { _, new in new },
                              workingDirectory: workingDirectory ?? context.workingDirectory, timeout: timeout, outputLimit: Self.outputLimit)
        return quiet ? try await context.target.run(command) { _ in } : try await context.run(command)
    }

    /// Like `run`, but a failure is a `StepFailure` naming `what` with docker's last words.
    @discardableResult
    func check(_ what: String, _ arguments: [String], program: [String] = ["docker"], workingDirectory: String? = nil,
               environment: [String: String] = [:], timeout: Duration? = nil, quiet: Bool = false) async throws -> CommandResult {
        let result = try await run(arguments, program: program, workingDirectory: workingDirectory, environment: environment,
                                   timeout: timeout, quiet: quiet)
        guard result.succeeded else { throw failure(what, result) }
        return result
    }

    func failure(_ what: String, _ result: CommandResult) -> StepFailure {
        let detail = Self.lastWords(result)
        if detail.contains("Cannot connect to the Docker daemon") || detail.contains("Is the docker daemon running") {
            return StepFailure("\(what): no Docker engine answers on \(context.target.name) (\(detail))")
        }
        if detail.contains("permission denied while trying to connect to the Docker daemon") {
            return StepFailure("\(what): \(context.target.name)'s user may not use Docker: add it to the docker group or use `sudo: true` (\(detail))")
        }
        return StepFailure("\(what) failed (\(result.failureReason))\(detail.isEmpty ? "" : ": " + detail)")
    }

    /// The last lines of stderr, or of stdout when stderr is empty (docker-compose v1 reports some errors there).
    /// Then the result's `hint` (what to do when sudo refused), if any.
    static func lastWords(_ result: CommandResult, lines: Int = 8) -> String {
        let text = result.stderr.isEmpty ? result.stdout : result.stderr
        let words = text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        guard let hint = result.hint else { return words }
        return words.isEmpty ? hint : words + "\n" + hint
    }

    /// `docker inspect` of containers by name or id; names without a container are absent from the result.
    func inspect(_ names: [String]) async throws -> [ContainerInfo] {
        guard !names.isEmpty else { return [] }
        let result = try await run(["inspect", "--type", "container", "--"] + names, timeout: Self.quickTimeout, quiet: true)
        let text = try result.completeStdout("docker inspect", limit: Self.outputLimit).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let items = (try? JSON.decode(text.isEmpty ? "[]" : text))?.listValue else {
            throw failure("docker inspect \(names.joined(separator: " "))", result)
        }
        if !result.succeeded, items.isEmpty, !result.stderr.contains("No such") { throw failure("docker inspect", result) }
        return items.compactMap(ContainerInfo.init)
    }

    /// The last `count` lines of a container's log (stdout and stderr together, in order).
    func logTail(_ container: String, count: Int) async -> String {
        let script = #"exec docker logs --tail "$1" -- "$2" 2>&1"#
        guard let result = try? await run([], program: ["/bin/sh", "-c", script, "runner-docker-logs", String(count), container],
                                          timeout: Self.quickTimeout, quiet: true) else { return "" }
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: false).suffix(count)
            .map { $0.count > 400 ? String($0.prefix(400)) + "…" : String($0) }.joined(separator: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every tagged local image: `repository:tag` → id.
    func imageIDsByName() async throws -> [String: String] {
        let result = try await check("docker images", ["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
                                     timeout: Self.quickTimeout, quiet: true)
        var out: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, !fields[0].hasPrefix("<none>") { out[String(fields[0])] = String(fields[1]) }
        }
        return out
    }

    /// An image reference as `docker images` lists it: `app` is `app:latest`, `docker.io/library/nginx` is `nginx`.
    static func imageKey(_ reference: String) -> String {
        var name = reference
        for prefix in ["docker.io/library/", "docker.io/"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
            break
        }
        let last = name.split(separator: "/").last ?? ""
        return last.contains(":") || name.contains("@") ? name : name + ":latest"
    }
}

/// What `docker inspect` says about one container, reduced to what steps and errors need.
struct ContainerInfo: Sendable, Hashable {
    var id: String
    var name: String
    var service: String?
    var project: String?
    /// created, running, restarting, paused, exited, dead, removing.
    var status: String
    var exitCode: Int
    /// starting, healthy or unhealthy; nil when the container has no healthcheck.
    var health: String?
    var failingStreak: Int
    /// The last health-check results: exit code and output.
    var healthLog: [HealthCheck]
    /// The image as configured (`app:latest`) and the id it resolved to.
    var image: String
    var imageID: String
    var restartCount: Int

    struct HealthCheck: Sendable, Hashable {
        var exitCode: Int
        var output: String
    }

    init?(_ value: Value) {
        guard let map = value.mapValue, let id = map["Id"]?.stringValue, let state = map["State"]?.mapValue else { return nil }
        self.id = id
        var name = map["Name"]?.stringValue ?? id
        if name.hasPrefix("/") { name.removeFirst() }
        self.name = name
        let config = map["Config"]?.mapValue ?? [:]
        let labels = config["Labels"]?.mapValue ?? [:]
        service = labels["com.docker.compose.service"]?.stringValue
        project = labels["com.docker.compose.project"]?.stringValue
        status = state["Status"]?.stringValue ?? "unknown"
        exitCode = state["ExitCode"]?.intValue ?? 0
        let health = state["Health"]?.mapValue
        self.health = health?["Status"]?.stringValue
        failingStreak = health?["FailingStreak"]?.intValue ?? 0
        healthLog = (health?["Log"]?.listValue ?? []).compactMap { entry in
            guard let entry = entry.mapValue else { return nil }
            return HealthCheck(exitCode: entry["ExitCode"]?.intValue ?? -1, output: entry["Output"]?.stringValue ?? "")
        }
        image = config["Image"]?.stringValue ?? ""
        imageID = map["Image"]?.stringValue ?? ""
        restartCount = map["RestartCount"]?.intValue ?? 0
    }

    /// `running`, `running (healthy)`, `exited (1)`.
    var summary: String {
        switch status {
        case "running": health.map { "running (\($0))" } ?? "running"
        case "exited", "dead": "\(status) (\(exitCode))"
        default: status
        }
    }

    /// The container as a step output.
    var value: Value {
        var map: [String: Value] = [
            "name": .string(name), "id": .string(String(id.prefix(12))), "state": .string(status),
            "image": .string(image), "image_id": .string(imageID),
        ]
        map["health"] = health.map(Value.string) ?? .null
        map["service"] = service.map(Value.string) ?? .null
        if status == "exited" || status == "dead" { map["exit_code"] = .int(exitCode) }
        return .map(map)
    }

    /// Whether `reference` (a name or an id prefix) names this container.
    func matches(_ reference: String) -> Bool {
        reference == name || reference == "/" + name || (reference.count >= 6 && id.hasPrefix(reference))
    }
}
