import Foundation

extension Engine {
    /// How many pipelines deep `uses: pipeline` may go (the top-level one is level 1).
    static let maxNesting = 8

    /// `uses: pipeline`: loads and runs another pipeline inside this run (same run id, same secrets
    /// masker, locks held by this run re-entered), returning its step outputs.
    ///
    /// A pipeline that is already running in the chain of calls cannot be called again: recursion,
    /// direct or through other pipelines, would fan out without bound under `for_each`. The
    /// chain is also at most `maxNesting` pipelines deep.
    func runNested(_ reference: String, params: [String: Value], parent: RunState, step: StepRef) async throws -> StepResult {
        guard let path = PipelineLocator.locate(reference, relativeTo: parent.pipeline.directory) else {
            throw StepFailure("no pipeline '\(reference)' (looked for \(PipelineLocator.candidates(reference, relativeTo: parent.pipeline.directory).joined(separator: ", ")))")
        }
        let identity = PipelineLocator.identity(of: path)
        let chain = parent.chain + [identity]
        if parent.chain.contains(identity) {
            throw StepFailure("pipeline '\(reference)' is already running in this chain of calls, and a pipeline cannot call itself: \(PipelineLocator.describe(chain))")
        }
        guard chain.count <= Self.maxNesting else {
            throw StepFailure("pipelines nest deeper than \(Self.maxNesting) levels: \(PipelineLocator.describe(chain))")
        }
        let loader = PipelineLoader(plugins: plugins, checker: scripting, inventoryOverride: parent.pipeline.inventoryOverride)
        let pipeline: Pipeline
        let resolved: [String: Value]
        do {
            pipeline = try loader.load(path: path)
            resolved = try ParamResolver.resolve(params.mapValues { $0 }, for: pipeline)
        } catch {
            throw StepFailure("pipeline '\(reference)': \(error.description)")
        }
        for spec in pipeline.params where spec.secret {
            if let v = resolved[spec.name] { parent.emitter.masker.add(v) }
        }
        SecretParameterValues.register(pipeline, params: resolved, plugins: plugins, in: parent.emitter.masker)
        parent.emitter.emit(step: step, .log(.info, "running pipeline \(pipeline.name) (\(path))"))
        let options = Options(runID: parent.runID, trigger: "pipeline", limit: parent.limit.map(Array.init), history: parent.history)
        guard let processes = parent.processes else { throw StepFailure("pipeline '\(reference)': not inside a run") }
        let outcome = await execute(pipeline, params: resolved, options: options, emitter: parent.emitter,
                                    depth: parent.depth + 1, heldLocks: parent.heldLocks, processes: processes, chain: chain)
        parent.count(outcome.counts)
        let outputs: [String: Value] = [
            "status": .string(outcome.status.rawValue),
            "pipeline": .string(pipeline.name),
        ]
        switch outcome.status {
        case .succeeded: return StepResult(outputs: outputs, changed: outcome.counts.changed > 0)
        case .cancelled: throw CancellationError()
        default: throw StepFailure("pipeline \(pipeline.name) \(outcome.status.rawValue): \(outcome.error ?? "a step failed")", outputs: outputs)
        }
    }
}

/// `runner run deploy` finds `pipelines/deploy.yml`; `uses: pipeline` finds siblings.
public enum PipelineLocator {
    public static func candidates(_ reference: String, relativeTo directory: String) -> [String] {
        let base = reference.hasPrefix("/") || directory == "." ? [reference] : [directory + "/" + reference, reference]
        var out: [String] = []
        for b in base {
            out.append(b)
            if !hasExtension(b) { out += [b + ".yml", b + ".yaml"] }
        }
        if !reference.contains("/") {
            out += hasExtension(reference) ? ["pipelines/\(reference)"]
                : ["pipelines/\(reference).yml", "pipelines/\(reference).yaml", "pipelines/\(reference)"]
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    static func hasExtension(_ reference: String) -> Bool { reference.hasSuffix(".yml") || reference.hasSuffix(".yaml") }

    /// The reference as a pipeline's file name without `.yml`/`.yaml`, which "did you mean"
    /// compares with the pipelines' names: `relase.yml` is close to `release`.
    public static func stem(of reference: String) -> String {
        guard hasExtension(reference), let dot = reference.lastIndex(of: ".") else { return reference }
        return String(reference[..<dot])
    }

    public static func locate(_ reference: String, relativeTo directory: String = ".") -> String? {
        candidates(reference, relativeTo: directory).first { path in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    /// The file's absolute path with symlinks resolved, so two ways of naming one file compare
    /// equal (the path as given when it cannot be resolved).
    public static func identity(of path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A chain of pipeline files for messages: `deploy.yml → rollback.yml → deploy.yml`.
    static func describe(_ chain: [String]) -> String {
        chain.map(Paths.fileName(of:)).joined(separator: " → ")
    }

    /// `uses: pipeline` steps whose literal `run:` names no file, looked up as the step will
    /// look it up: an error each, at the `run:` value, with the pipelines nearby to choose from.
    static func missingCalls(in pipeline: Pipeline) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for step in pipeline.allSteps {
            guard case .uses("pipeline", let with, _) = step.body,
                  case .literal(.string(let reference), let at)? = with["run"],
                  locate(reference, relativeTo: pipeline.directory) == nil else { continue }
            let looked = candidates(reference, relativeTo: pipeline.directory).joined(separator: ", ")
            let hint = Suggestion.hint(for: stem(of: reference), in: names(in: [pipeline.directory, "pipelines"]))
            out.append(Diagnostic("no pipeline '\(reference)'\(hint) (looked for \(looked))", at: at))
        }
        return out
    }

    /// The names pipelines in `directories` are called by: their file names without `.yml`.
    public static func names(in directories: [String]) -> [String] {
        var out: [String] = []
        for directory in directories {
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            where (file.hasSuffix(".yml") || file.hasSuffix(".yaml")) && !file.hasPrefix("inventory.") {
                let name = String(file[..<file.lastIndex(of: ".")!])
                if !out.contains(name) { out.append(name) }
            }
        }
        return out
    }

    /// `uses: pipeline` steps whose literal `run:` names the pipeline itself: an error each,
    /// at the `run:` value. (Recursion through other pipelines, or through a computed name, is
    /// caught when the call is made.)
    static func selfCalls(in pipeline: Pipeline) -> [Diagnostic] {
        let me = identity(of: pipeline.file)
        var out: [Diagnostic] = []
        for step in pipeline.allSteps {
            guard case .uses("pipeline", let with, _) = step.body,
                  case .literal(.string(let reference), let at)? = with["run"],
                  let path = locate(reference, relativeTo: pipeline.directory), identity(of: path) == me else { continue }
            let name = Paths.fileName(of: pipeline.file)
            out.append(Diagnostic("a pipeline cannot call itself (\(name) → \(name)): with for_each or on_failure it would run without end",
                                  at: at))
        }
        return out
    }
}

/// `uses: pipeline`: runs another pipeline; its result becomes this step's result.
public struct PipelinePlugin: StepPlugin {
    public let name = "pipeline"
    public let summary = "Run another pipeline (by name or path) with params; its result is this step's result"
    public let parameters = [
        ParameterSpec("run", .string, required: true, doc: "Pipeline name (resolved beside this pipeline, then in pipelines/) or path"),
        ParameterSpec("params", .map, default: .map([:]), doc: "Params for the called pipeline"),
    ]
    public let outputs = [
        OutputSpec("status", .string, doc: "The called pipeline's status: succeeded, failed or cancelled"),
        OutputSpec("pipeline", .string, doc: "The called pipeline's name"),
    ]

    public init() {}

    /// `pipeline rollback`.
    public func label(_ with: StepLabel) -> String { with.words(name, with.file("run")) }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        try await context.runPipeline(with["run"]?.stringValue ?? "", params: with["params"]?.mapValue ?? [:])
    }
}
