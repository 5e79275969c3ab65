import Foundation
import RunnerCore
import RunnerLua
import RunnerPlugins
import Synchronization

/// Collects events for assertions.
final class CollectingSink: EventSink {
    private let events = Mutex<[Event]>([])

    func handle(_ event: Event) { events.withLock { $0.append(event) } }

    var all: [Event] { events.withLock { $0 } }

    /// Finished steps by label (host-qualified when on a host).
    var finished: [(label: String, status: StepStatus, error: String?, outputs: [String: Value])] {
        all.compactMap { event in
            guard case .stepFinished(let status, _, _, _, let outputs, let error) = event.kind, let step = event.step else { return nil }
            let label = step.host.map { "\(step.label)@\($0)" } ?? step.label
            return (label, status, error, outputs)
        }
    }

    func status(of label: String) -> StepStatus? { finished.last { $0.label == label }?.status }

    var output: [String] {
        all.compactMap { if case .output(let line) = $0.kind { line.text } else { nil } }
    }

    /// Everything a user could see, as one text.
    var transcript: String { all.map(\.message).joined(separator: "\n") }
}

/// A temporary directory removed when the value goes away.
final class TempDir: Sendable {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/runner-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }

    func read(_ name: String) -> String? { try? String(contentsOfFile: path + "/" + name, encoding: .utf8) }
}

enum Harness {
    static let plugins = try! PluginRegistry(RunnerPlugins.all)

    static func loader(_ extra: [any StepPlugin] = []) -> PipelineLoader {
        var registry = plugins
        for p in extra { try! registry.register(p) }
        return PipelineLoader(plugins: registry, checker: LuaScripting())
    }

    /// Loads YAML from a temp file and returns the diagnostics (empty when valid).
    static func diagnostics(_ yaml: String, file: String = "p.yml", in dir: TempDir = TempDir()) -> [Diagnostic] {
        let path = dir.write(file, yaml)
        do {
            _ = try loader().load(path: path)
            return []
        } catch {
            return error.diagnostics
        }
    }

    struct Result {
        let outcome: Engine.Outcome
        let sink: CollectingSink
        let dir: TempDir
    }

    static func run(_ yaml: String, params: [String: Value] = [:], plugins extra: [any StepPlugin] = [],
                    dir: TempDir = TempDir(), noWait: Bool = false, stepTimeout: Duration = .seconds(60),
                    luaPluginDirectories: [String] = [], limit: [String]? = nil,
                    environment: [String: String]? = nil, store: RunStore? = nil,
                    runID: String = RunID.generate().description) async throws -> Result {
        let path = dir.write("pipeline.yml", yaml)
        let loader = loader(extra + (try LuaPluginLoader.discover(in: luaPluginDirectories)))
        let pipeline = try loader.load(path: path)
        let resolved = try ParamResolver.resolve(params, for: pipeline)
        let engine = Engine(plugins: loader.plugins, scripting: LuaScripting(), lockDirectory: dir.path + "/locks",
                            defaultStepTimeout: stepTimeout)
        let sink = CollectingSink()
        // With a store, the run is recorded in it and `uses: history` reads it, as `runner run` does.
        let sinks: [any EventSink] = store.map { [sink, StoreSink(store: $0)] } ?? [sink]
        let options = Engine.Options(runID: runID, noWait: noWait, limit: limit, environment: environment, history: store)
        let outcome = await engine.run(pipeline, params: resolved, options: options, sinks: sinks)
        return Result(outcome: outcome, sink: sink, dir: dir)
    }
}

/// True when `pid` runs (a zombie, killed but not yet reaped, counts as dead).
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}
