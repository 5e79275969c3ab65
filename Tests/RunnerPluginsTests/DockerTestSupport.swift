import Foundation
import RunnerCore
import RunnerLua
import RunnerPlugins
import RunnerSSH
import RunnerTestSupport
import Synchronization
import Testing

/// Where a plugin test's steps run: on this machine, or on an SSH host (a local sshd, logged
/// in as the unprivileged `runner-test`).
enum Where: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case local, ssh

    var testDescription: String { rawValue }
}

/// Records finished steps with their outputs.
final class OutputsLog: EventSink {
    private let events = Mutex<[Event]>([])
    func handle(_ event: Event) { events.withLock { $0.append(event) } }

    private var finished: [(id: String, status: StepStatus, error: String?, outputs: [String: Value])] {
        events.withLock { $0 }.compactMap { event in
            guard case .stepFinished(let status, _, _, _, let outputs, let error) = event.kind, let step = event.step else { return nil }
            return (step.id ?? step.label, status, error, outputs)
        }
    }

    func status(_ id: String) -> StepStatus? { finished.last { $0.id == id }?.status }
    func error(_ id: String) -> String? { finished.last { $0.id == id }?.error }
    func outputs(_ id: String) -> [String: Value] { finished.last { $0.id == id }?.outputs ?? [:] }

    /// Everything a user could see.
    var transcript: String { events.withLock { $0 }.map(\.message).joined(separator: "\n") }
}

/// Runs plugin steps locally or over SSH.
///
/// Steps are YAML flow maps written with `ON ` where the host belongs: `{ id: up, ON uses: docker, with: {…} }`.
/// Locally `ON ` disappears; over SSH it becomes `on: web, ` (and `on: web, sudo: true, ` with `sudo`).
struct PluginRun {
    let place: Where
    var sudo = false
    var stepTimeout: Duration = .seconds(120)

    /// Runs the steps (one per element) and returns the outcome and what happened.
    func callAsFunction(_ steps: [String], finally: [String] = []) async throws -> (Engine.Outcome, OutputsLog) {
        let directory = try makeTemporaryDirectory("runner-plugin-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var server: SSHServer?
        defer { server?.stop() }
        var inventory = "hosts: {}\n"
        var params: [String: Value] = [:]
        var header = ""
        let on: String
        switch place {
        case .local:
            on = ""
        case .ssh:
            try Self.allowDocker()
            let started = try SSHServer.start()
            server = started
            inventory = "hosts:\n  web: \(try started.inventoryEntry(sudo ? "sudo_password: sudo_pw" : ""))\n"
            if sudo {
                header = "params:\n  sudo_pw: { required: true, secret: true }\n"
                params["sudo_pw"] = .string(SSHServer.sudoPassword)
            }
            on = sudo ? "on: web, sudo: true, " : "on: web, "
        }
        let list = { (steps: [String]) in steps.map { "  - " + $0.replacingOccurrences(of: "ON ", with: on) + "\n" }.joined() }
        var yaml = header + "inventory: inventory.yml\nsteps:\n" + list(steps)
        if !finally.isEmpty { yaml += "finally:\n" + list(finally) }
        try inventory.write(toFile: "\(directory)/inventory.yml", atomically: true, encoding: .utf8)
        try yaml.write(toFile: "\(directory)/pipeline.yml", atomically: true, encoding: .utf8)
        let plugins = try PluginRegistry(RunnerPlugins.all)
        let pipeline = try PipelineLoader(plugins: plugins, checker: LuaScripting()).load(path: "\(directory)/pipeline.yml")
        let engine = Engine(plugins: plugins, scripting: LuaScripting(), targets: SSHTargets(),
                            lockDirectory: "\(directory)/locks", defaultStepTimeout: stepTimeout)
        let log = OutputsLog()
        let outcome = await engine.run(pipeline, params: try ParamResolver.resolve(params, for: pipeline),
                                       options: .init(runID: RunID.generate().description), sinks: [log])
        return (outcome, log)
    }

    /// The SSH test user may use the Docker engine (as `docker` group members may).
    private static let dockerGroup: Result<Void, FixtureError> = Result {
        try SSHServer.ensureUserAndClientKey()
        try Spawn.run("/usr/sbin/usermod", ["-aG", "docker", SSHServer.user])
    }.mapError { $0 as? FixtureError ?? FixtureError("\($0)") }

    static func allowDocker() throws {
        guard TestImages.dockerInstalled else { return }
        try dockerGroup.get()
    }
}

/// A Compose project in a temporary directory; `down()` removes its containers.
struct ComposeProject {
    let name: String
    let directory: String

    init(_ compose: String, files: [String: String] = [:]) throws {
        _ = try TestImages.busybox()
        name = TestImages.unique("proj")
        directory = try makeTemporaryDirectory("runner-compose")
        // The project name (Compose reads .env in the project directory) is what down() cleans up.
        try "COMPOSE_PROJECT_NAME=\(name)\n".write(toFile: directory + "/.env", atomically: true, encoding: .utf8)
        try compose.replacingOccurrences(of: "NAME", with: name)
            .write(toFile: directory + "/docker-compose.yml", atomically: true, encoding: .utf8)
        for (file, text) in files {
            try text.replacingOccurrences(of: "NAME", with: name).write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
        }
    }

    /// Containers, networks and built images of the project go, whatever the test did.
    func down() {
        let ids = (try? TestImages.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=\(name)"])) ?? ""
        for id in ids.split(separator: "\n") { _ = try? TestImages.docker(["rm", "-f", String(id)]) }
        _ = try? TestImages.docker(["network", "rm", "\(name)_default"])
        _ = try? TestImages.docker(["image", "rm", "-f", "\(name)-img:latest"])
        _ = try? TestImages.docker(["image", "prune", "-f", "--filter", "label=runner-test-project=\(name)"])
        _ = try? TestImages.docker(["image", "prune", "-f", "--filter", "label=runner-test-project=\(name)"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A busybox service: prints `echo`, serves /health on 8080 when `serve`, exits cleanly on SIGTERM.
func busyboxService(_ service: String, healthcheck: String? = nil, command: String? = nil, extra: String = "") -> String {
    let script = command ?? "echo '\(service) starting LOGMARK'; mkdir -p /www; echo ok > /www/health; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"
    var text = """
          \(service):
            image: \(TestImages.busyboxTag)
            container_name: NAME-\(service)
            network_mode: none
            command: ["sh", "-c", "\(script.replacingOccurrences(of: "\"", with: "\\\""))"]

        """
    if let healthcheck { text += "    healthcheck:\n" + healthcheck.split(separator: "\n").map { "      " + $0 + "\n" }.joined() }
    return text + extra
}
