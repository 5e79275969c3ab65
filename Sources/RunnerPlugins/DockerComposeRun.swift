import Foundation
import RunnerCore

/// One step's Compose project: the detected Compose, its command line and directory.
struct ComposeRun {
    let docker: DockerCLI
    let command: ComposeCommand
    let directory: String?

    static func make(_ with: [String: Value], _ docker: DockerCLI) async throws -> ComposeRun {
        let directory = with["dir"]?.stringValue
        if let directory {
            let exists = try await docker.run([], program: ["test", "-d", directory], timeout: DockerCLI.quickTimeout, quiet: true)
            guard exists.succeeded else {
                throw StepFailure("docker compose: no directory \(directory) on \(docker.context.target.name)")
            }
        }
        let flavor = try await ComposeFlavor.detect(docker)
        let command = ComposeCommand(flavor: flavor, files: (with["files"]?.listValue ?? []).map(\.interpolated),
                                     project: with["project"]?.stringValue, envFile: with["env_file"]?.stringValue)
        return ComposeRun(docker: docker, command: command, directory: directory)
    }

    /// Runs Compose in the project directory; a failure names the action and the directory.
    @discardableResult
    func compose(_ action: String, _ arguments: [String], quiet: Bool = false) async throws -> CommandResult {
        let place = directory.map { " in \($0)" } ?? ""
        return try await docker.check("\(command.flavor.displayName) \(action)\(place)", arguments, program: command.flavor.program,
                                      workingDirectory: directory, timeout: quiet ? DockerCLI.quickTimeout : nil, quiet: quiet)
    }

    /// Every container of the project, stopped ones included.
    func containers() async throws -> [ContainerInfo] {
        let ids = try await compose("ps", command.containerIDs(), quiet: true)
            .completeStdout("\(command.flavor.displayName) ps", limit: DockerCLI.outputLimit)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try await docker.inspect(ids).sorted { $0.name < $1.name }
    }

    func perform(_ action: String, _ with: [String: Value]) async throws -> StepResult {
        let services = (with["services"]?.listValue ?? []).map(\.interpolated)
        let removeOrphans = with["remove_orphans"]?.boolValue ?? false
        let before = try await containers()
        let changed: Bool
        var after: [ContainerInfo]?
        switch action {
        case "up":
            let build = with["build"]?.boolValue ?? false
            if with["pull"]?.boolValue == true { try await pull(services, build: build, config: try await config()) }
            try await compose("up", command.up(build: build, removeOrphans: removeOrphans, services: services))
            after = try await containers()
            changed = Self.fingerprint(before) != Self.fingerprint(after ?? [])
        case "down":
            guard services.isEmpty else { throw StepFailure("docker compose down stops the whole project; `services` does not apply") }
            try await compose("down", command.down(removeOrphans: removeOrphans))
            changed = !before.isEmpty
        case "pull", "build":
            let config = try await config()
            let watched = try await ImageWatch(self, config: config, services: services)
            if action == "pull" {
                try await pull(services, build: false, config: config)
            } else {
                try await compose("build", command.build(services: services, pull: with["pull"]?.boolValue ?? false))
            }
            changed = try await watched.changed()
        case "restart":
            try await compose("restart", command.restart(services: services))
            changed = before.contains { services.isEmpty || services.contains($0.service ?? "") }
        default:
            changed = false
            after = before
        }
        if after == nil { after = try await containers() }
        let containers = after ?? []
        if !containers.isEmpty {
            docker.context.log("\(action): " + containers.map { "\($0.name) \($0.summary)" }.joined(separator: ", "))
        }
        let project = containers.first?.project ?? before.first?.project ?? command.project
        return StepResult(outputs: [
            "containers": .list(containers.map(\.value)),
            "images": .map(Self.images(containers)),
            "previous_images": .map(Self.images(before)),
            "project": project.map(Value.string) ?? .null,
            "compose_command": .string(command.flavor.displayName),
        ], changed: changed)
    }

    /// The resolved compose file.
    func config() async throws -> ComposeConfig {
        let yaml = try await compose("config", command.config(), quiet: true)
            .completeStdout("\(command.flavor.displayName) config", limit: DockerCLI.outputLimit)
        do { return try ComposeConfig(yaml: yaml) } catch {
            throw StepFailure("\(command.flavor.displayName) config: cannot read its output: \(error)")
        }
    }

    /// Pulls the images of services that come from a registry; services built here are left to
    /// `build --pull` (when `build`), as a registry has no image for them.
    private func pull(_ selected: [String], build: Bool, config: ComposeConfig) async throws {
        let services = selected.isEmpty ? config.services.keys.sorted() : selected
        let pulled = services.filter { config.services[$0]?.built != true }
        let built = services.filter { config.services[$0]?.built == true }
        if !pulled.isEmpty { try await compose("pull", command.pull(services: pulled)) }
        if build, !built.isEmpty { try await compose("build --pull", command.build(services: built, pull: true)) }
        if !build, !built.isEmpty { docker.context.log("not pulled (built here): \(built.joined(separator: ", "))") }
    }

    /// What `up` may change: which containers exist, their state and their image.
    static func fingerprint(_ containers: [ContainerInfo]) -> Set<String> {
        Set(containers.map { "\($0.id) \($0.status) \($0.imageID)" })
    }

    /// Image id by service (by container name for containers outside Compose).
    static func images(_ containers: [ContainerInfo]) -> [String: Value] {
        var out: [String: Value] = [:]
        for container in containers { out[container.service ?? container.name] = .string(container.imageID) }
        return out
    }
}

/// Whether a build or pull gave the project's services new images: their image ids by name
/// before and after. When a service's image name is unknown (a built service under Compose v1
/// without `image:`), any new image on the host counts, which another build at the same moment
/// can make a false "changed".
struct ImageWatch {
    let run: ComposeRun
    let names: [String]
    let anyNewImage: Bool
    let before: [String: String]
    let allBefore: Set<String>

    init(_ run: ComposeRun, config: ComposeConfig, services: [String]) async throws {
        self.run = run
        let selected = services.isEmpty ? config.services.keys.sorted() : services
        let images = selected.map { config.image(of: $0, flavor: run.command.flavor) }
        names = images.compactMap { $0 }
        anyNewImage = images.contains(nil)
        before = try await run.docker.imageIDsByName()
        allBefore = anyNewImage ? Set(before.values) : []
    }

    func changed() async throws -> Bool {
        let after = try await run.docker.imageIDsByName()
        let key = { (name: String) in DockerCLI.imageKey(name) }
        if names.contains(where: { before[key($0)] != after[key($0)] }) { return true }
        return anyNewImage && !Set(after.values).subtracting(allBefore).isEmpty
    }
}
