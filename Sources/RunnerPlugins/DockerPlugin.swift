import Foundation
import RunnerCore

/// `uses: docker` — Compose deploys with health gates, `docker exec`, networks and image
/// pruning, through the docker CLI on the step's host (local or SSH).
///
/// ```yaml
/// - uses: docker
///   on: hornbill
///   with: { network: sgos, compose: up, dir: /srv/apps/sgos-phone, build: true, wait_healthy: sgos-phone-app, timeout: 5m }
/// ```
///
/// One step does, in this order: `network` (ensure), `compose`, `wait_healthy`; or alone
/// `exec` or `prune`.
public struct DockerPlugin: StepPlugin {
    public let name = "docker"
    public let summary = "Docker Compose up/down/pull/build/restart/ps with health gates, exec, networks, image pruning"
    public let parameters = [
        ParameterSpec("compose", .oneOf(["up", "down", "pull", "build", "restart", "ps"]),
                      doc: "Compose action, with `docker compose` (v2) or else `docker-compose` (v1), whichever the host has"),
        ParameterSpec("dir", .string, doc: "compose: the project directory (holds docker-compose.yml); commands run there"),
        ParameterSpec("files", .list, default: .list([]), doc: "compose: compose files (`-f`), relative to `dir`"),
        ParameterSpec("project", .string, doc: "compose: project name (`-p`); default: Compose's (the directory name)"),
        ParameterSpec("env_file", .string, doc: "compose: file with variables for the compose file (`--env-file`)"),
        ParameterSpec("services", .list, default: .list([]), doc: "compose up/pull/build/restart: only these services"),
        ParameterSpec("build", .bool, default: .bool(false), doc: "compose up: build images first (`--build`)"),
        ParameterSpec("pull", .bool, default: .bool(false),
                      doc: "compose up/build: pull newer images first: `compose pull` for registry images, `build --pull` (fresh base images) for services built here"),
        ParameterSpec("remove_orphans", .bool, default: .bool(false), doc: "compose up/down: remove containers of services no longer in the file"),
        ParameterSpec("wait_healthy", .any,
                      doc: "Container name (or comma-separated names, or a list) to wait for (after `compose`, if any): healthy, or running when it has no healthcheck. `true`: every container of the compose project"),
        ParameterSpec("timeout", .duration, default: .string("5m"), doc: "wait_healthy: give up after this long"),
        ParameterSpec("interval", .duration, default: .string("2s"), doc: "wait_healthy: time between two looks"),
        ParameterSpec("log_lines", .int, default: .int(30), doc: "wait_healthy: lines of the container's log in the error"),
        ParameterSpec("exec", .string, doc: "Container to run `command` in (`docker exec`)"),
        ParameterSpec("command", .any, shellString: true,
                      doc: "exec: a list (argv, no shell) or a string (run by `sh -c` in the container; `${{ }}` is refused in the string form: use the list form)"),
        ParameterSpec("user", .string, doc: "exec: user inside the container"),
        ParameterSpec("workdir", .string, doc: "exec: working directory inside the container"),
        ParameterSpec("env", .map, default: .map([:]),
                      doc: "exec: environment for the command; values reach docker through its environment, never its command line"),
        ParameterSpec("network", .string, doc: "Network to ensure: created when missing (e.g. the external `sgos` network apps join)"),
        ParameterSpec("driver", .string, doc: "network: driver when creating it (docker's default: bridge)"),
        ParameterSpec("prune", .oneOf(["images"]), doc: "`images`: remove dangling images (`docker image prune`)"),
        ParameterSpec("all", .bool, default: .bool(false), doc: "prune: every image no container uses, not only dangling ones"),
        ParameterSpec("filter", .list, default: .list([]), doc: "prune: filters such as `until=168h` or `label=app=phone`"),
    ]
    public let outputs = [
        OutputSpec("containers", .list,
                   doc: "compose, wait_healthy: `{ name, id, service, state, health, image, image_id }` of each container afterwards"),
        OutputSpec("images", .map, doc: "compose: image id of each service (or container) afterwards"),
        OutputSpec("previous_images", .map, doc: "compose: image id of each service before the step: what a rollback can go back to"),
        OutputSpec("project", .string, doc: "compose: the project name Compose used"),
        OutputSpec("compose_command", .string, doc: "compose: `docker compose` or `docker-compose`"),
        OutputSpec("network_id", .string, doc: "network: the network's id"),
        OutputSpec("stdout", .string, doc: "exec: the command's standard output"),
        OutputSpec("stderr", .string, doc: "exec: its standard error"),
        OutputSpec("exit_code", .int, doc: "exec: its exit status"),
        OutputSpec("reclaimed", .string, doc: "prune: space freed, as docker reports it"),
    ]

    public init() {}

    /// `docker compose up`, `docker exec sgos-phone-app`, `docker network sgos`, `docker prune images`,
    /// `docker wait healthy`.
    public func label(_ with: StepLabel) -> String {
        if with.has("exec") { return with.words(name, "exec", with.text("exec")) }
        if with.has("prune") { return with.words(name, "prune", with.text("prune")) }
        if with.has("compose") { return with.words(name, "compose", with.text("compose")) }
        if with.has("network") { return with.words(name, "network", with.text("network")) }
        if with.has("wait_healthy") { return with.words(name, "wait healthy") }
        return name
    }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let docker = DockerCLI(context: context)
        let given = { (key: String) in with[key].map { !$0.isNull } ?? false }
        let alone = ["exec", "prune"].filter(given)
        let combinable = ["network", "compose", "wait_healthy"].filter(given)
        guard alone.count + combinable.count > 0 else {
            throw StepFailure("docker needs one of compose, wait_healthy, exec, network or prune")
        }
        guard alone.isEmpty || (alone.count == 1 && combinable.isEmpty) else {
            throw StepFailure("docker: \((alone + combinable).joined(separator: " and ")) cannot be combined in one step (only network, compose and wait_healthy can)")
        }
        switch alone.first {
        case "exec": return try await exec(with, docker)
        case "prune": return try await prune(with, docker)
        default: break
        }
        var result = StepResult()
        if let network = with["network"]?.stringValue {
            let (id, created) = try await ensureNetwork(network, driver: with["driver"]?.stringValue, docker)
            result.outputs["network_id"] = .string(id)
            result.changed = result.changed || created
        }
        var project: ComposeRun?
        if let action = with["compose"]?.stringValue {
            let run = try await ComposeRun.make(with, docker)
            let composed = try await run.perform(action, with)
            result.outputs.merge(composed.outputs) { _, new in new }
            result.changed = result.changed || composed.changed
            project = run
        }
        if let wait = with["wait_healthy"], !wait.isNull {
            do {
                let containers = try await waitHealthy(wait, with, docker, project: project)
                result.outputs["containers"] = .list(containers.map(\.value))
            } catch var failure as StepFailure {
                // A failed health gate keeps what compose did (`previous_images` for the rollback).
                failure.outputs = result.outputs.merging(failure.outputs) { _, new in new }
                throw failure
            }
        }
        return result
    }

    private func waitHealthy(_ wait: Value, _ with: [String: Value], _ docker: DockerCLI, project: ComposeRun?) async throws -> [ContainerInfo] {
        var names: [String]
        switch wait {
        case .bool(false): return []
        case .bool(true):
            guard let project else { throw StepFailure("docker wait_healthy: true needs compose (it waits for the project's containers)") }
            names = try await project.containers().map(\.name)
            guard !names.isEmpty else { throw StepFailure("docker wait_healthy: the compose project has no containers") }
        case .string(let text): names = text.split(separator: ",").map(String.init)
        case .list(let items): names = items.map(\.interpolated)
        default: throw StepFailure("docker wait_healthy must be a container name, a list of names or true, not \(wait.typeName)")
        }
        names = names.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw StepFailure("docker wait_healthy: no container named") }
        let waiter = DockerHealthWait(docker: docker, timeout: Self.duration(with["timeout"], default: .seconds(300)),
                                      interval: Self.duration(with["interval"], default: .seconds(2)),
                                      logLines: max(1, with["log_lines"]?.intValue ?? 30))
        return try await waiter.wait(for: names)
    }

    /// A `duration` parameter: `"5m"`, or a number of seconds.
    static func duration(_ value: Value?, default fallback: Duration) -> Duration {
        switch value {
        case .string(let text)?: DurationParser.parse(text) ?? fallback
        case .int(let seconds)?: .seconds(seconds)
        case .double(let seconds)?: .milliseconds(Int64(seconds * 1000))
        default: fallback
        }
    }
}
