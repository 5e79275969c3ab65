/// `uses: history` — a past run of a pipeline and its outputs, from the run store: "the last
/// successful deploy of app=phone" (`offset: 1`: the one before it). `pipeline: [deploy,
/// rollback]` searches both as one timeline: the release that runs now is the newest of either.
///
/// The current run is never returned. Values are as the store keeps them: secrets masked.
public struct HistoryPlugin: StepPlugin {
    public let name = "history"
    public let summary = "Find a past run of a pipeline (by name, params and status) and read its params and step outputs"
    public let parameters = [
        ParameterSpec("pipeline", .list, required: true,
                      doc: "The pipeline's `name:` (not its file name), or a list of names: the newest run of any of them, e.g. `[deploy, rollback]`"),
        ParameterSpec("params", .map, default: .map([:]),
                      doc: "Params the run must have had, e.g. `{ app: phone }` (compared as text; secret params are stored masked and never match)"),
        ParameterSpec("status", .oneOf(["succeeded", "failed", "cancelled"]), default: .string("succeeded"), doc: "The run's final status"),
        ParameterSpec("offset", .int, default: .int(0), doc: "How many newer matching runs to skip: 0 the last, 1 the one before"),
        ParameterSpec("run_id", .string, doc: "Exactly this run instead of a search (it must be of `pipeline`, or one of them; `params`, `status` and `offset` are not used)"),
        ParameterSpec("required", .bool, default: .bool(true), doc: "Fail the step when no run matches; false: succeed with `found: false`"),
    ]
    public let outputs = [
        OutputSpec("found", .bool, doc: "Whether a run matched (the other outputs are absent when not)"),
        OutputSpec("run_id", .string, doc: "The run's id"),
        OutputSpec("pipeline", .string, doc: "The pipeline's name"),
        OutputSpec("status", .string, doc: "The run's status"),
        OutputSpec("started_at", .string, doc: "When it started (ISO 8601, UTC)"),
        OutputSpec("finished_at", .string, doc: "When it ended (ISO 8601, UTC)"),
        OutputSpec("params", .map, doc: "Its params as stored (secret values `***`)"),
        OutputSpec("outputs", .map, doc: "Its steps' outputs by step id as stored (secret values `***`): `outputs.pull.stdout`"),
    ]

    public init() {}

    /// `history deploy`.
    public func label(_ with: StepLabel) -> String { with.words(name, with.text("pipeline")) }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let pipelines = (with["pipeline"]?.listValue ?? []).map(\.interpolated).filter { !$0.isEmpty }
        guard !pipelines.isEmpty else { throw StepFailure("history: pipeline names no pipeline") }
        let pipeline = pipelines.joined(separator: " or ")
        let status = RunStatus(rawValue: with["status"]?.stringValue ?? "") ?? .succeeded
        let offset = with["offset"]?.intValue ?? 0
        guard offset >= 0 else { throw StepFailure("history: offset must be 0 or more, not \(offset)") }
        let params = (with["params"]?.mapValue ?? [:]).mapValues(\.interpolated)
        let history = try context.history()
        let found: HistoricRun?
        let wanted: String
        if let id = with["run_id"]?.stringValue, !id.isEmpty {
            wanted = "run \(id) of pipeline \(pipeline)"
            if let run = try history.run(id: id) {
                guard pipelines.contains(run.pipeline) else {
                    throw StepFailure("history: run \(id) is a run of pipeline \(run.pipeline), not \(pipeline)")
                }
                found = run.id == context.runID ? nil : run
            } else {
                found = nil
            }
        } else {
            found = try history.lastRun(pipelines: pipelines, params: params, status: status, offset: offset, excluding: context.runID)
            wanted = Self.describe(pipeline: pipeline, params: params, status: status, offset: offset)
        }
        guard let found else {
            if with["required"]?.boolValue ?? true { throw StepFailure("history: no \(wanted) in the run store") }
            context.log("no \(wanted)")
            return StepResult(outputs: ["found": .bool(false)])
        }
        context.log("found run \(found.id) of \(found.pipeline) (\(found.status.rawValue), started \(Timestamp.iso8601(found.startedAt)))")
        return StepResult(outputs: found.value.merging(["found": .bool(true)]) { _, new in new })
    }

    /// `succeeded run of pipeline deploy or rollback with app=phone before the last one`.
    static func describe(pipeline: String, params: [String: String], status: RunStatus, offset: Int) -> String {
        var text = "\(status.rawValue) run of pipeline \(pipeline)"
        if !params.isEmpty { text += " with " + params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        switch offset {
        case 0: break
        case 1: text += " before the last one"
        default: text += " \(offset) before the last one"
        }
        return text
    }
}
