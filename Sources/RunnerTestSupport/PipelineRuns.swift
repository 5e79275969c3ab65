import Foundation
import RunnerCore
import RunnerLua
import RunnerPlugins
import RunnerSSH
import Synchronization

/// Collects the events of a run.
public final class EventLog: EventSink {
    public init() {}
    private let events = Mutex<[Event]>([])
    public func handle(_ event: Event) { events.withLock { $0.append(event) } }

    /// Finished steps: label (`name@host` on hosts), status and error.
    public var finished: [(label: String, status: StepStatus, error: String?)] {
        events.withLock { $0 }.compactMap { event in
            guard case .stepFinished(let status, _, _, _, _, let error) = event.kind, let step = event.step else { return nil }
            return (step.host.map { "\(step.label)@\($0)" } ?? step.label, status, error)
        }
    }

    public func status(_ label: String) -> StepStatus? { finished.last { $0.label == label }?.status }
    public func error(_ label: String) -> String? { finished.last { $0.label == label }?.error }

    /// Output lines by host.
    public func output(on host: String) -> [String] {
        events.withLock { $0 }.compactMap { event in
            guard case .output(let line) = event.kind, event.step?.host == host else { return nil }
            return line.text
        }
    }

    /// Everything a user could see.
    public var transcript: String { events.withLock { $0 }.map(\.message).joined(separator: "\n") }
}

/// Runs pipeline YAML (with an `inventory.yml` beside it) through the engine with SSH targets.
/// `extraParams` are YAML lines added under a `params:` key at the top.
public func runOverSSH(_ yaml: String, inventory: String, params: [String: Value] = [:], extraParams: String = "",
                       stepTimeout: Duration = .seconds(60)) async throws -> (Engine.Outcome, EventLog) {
    let directory = try makeTemporaryDirectory("runner-ssh-pipeline")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try inventory.write(toFile: "\(directory)/inventory.yml", atomically: true, encoding: .utf8)
    let yaml = extraParams.isEmpty ? yaml : "params:\n" + extraParams + yaml
    try yaml.write(toFile: "\(directory)/pipeline.yml", atomically: true, encoding: .utf8)
    let plugins = try PluginRegistry(RunnerPlugins.all)
    let pipeline = try PipelineLoader(plugins: plugins, checker: LuaScripting()).load(path: "\(directory)/pipeline.yml")
    let engine = Engine(plugins: plugins, scripting: LuaScripting(), targets: SSHTargets(),
                        lockDirectory: "\(directory)/locks", defaultStepTimeout: stepTimeout)
    let log = EventLog()
    let outcome = await engine.run(pipeline, params: try ParamResolver.resolve(params, for: pipeline),
                                   options: .init(runID: RunID.generate().description), sinks: [log])
    return (outcome, log)
}

/// Waits until `path` exists: a remote command left it to say it started.
public func waitForFile(_ path: String) async throws {
    while !FileManager.default.fileExists(atPath: path) { try await Task.sleep(for: .milliseconds(50)) }
}

/// A directory every test user can write, for barrier files.
public func sharedDirectory() throws -> String {
    let directory = try makeTemporaryDirectory("runner-ssh-barrier")
    chmod(directory, 0o1777)
    return directory
}

/// A shell snippet that succeeds only when `count` commands run it at the same time: each
/// leaves a file, then waits until all `count` files are there. The wait is a deadlock guard, not
/// a measure: 2 minutes, since eight SSH handshakes on a loaded 2-core machine took over 20 s
/// once (a CI flake); commands run one after another still fail it.
public func barrier(_ directory: String, count: Int, name: String) -> String {
    "touch \(directory)/\(name); i=0; while [ $(ls \(directory) | wc -l) -lt \(count) ]; do i=$((i+1)); [ $i -gt 1200 ] && { echo 'barrier timed out' >&2; exit 9; }; sleep 0.1; done"
}

