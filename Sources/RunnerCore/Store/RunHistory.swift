import Foundation

/// Read access to past runs for pipelines (`uses: history`, `runner.history.last` in Lua):
/// "the last successful run of deploy with app=phone, and its outputs".
///
/// Kept apart from the store's own API so that another store (or an async one) only has to
/// answer these two questions. `RunStore` implements it on SQLite.
public protocol RunHistory: Sendable {
    /// The newest run of any of `pipelines` (their `name:`) with `status` whose params hold every
    /// pair of `params` (compared as text), skipping the `offset` newest matches and the run
    /// `excluding`. Several pipelines make one timeline: a rollback's release is as much "what runs
    /// now" as a deploy's.
    ///
    /// - Returns: `nil` when fewer than `offset + 1` runs match.
    func lastRun(pipelines: [String], params: [String: String], status: RunStatus, offset: Int,
                 excluding runID: String?) throws -> HistoricRun?

    /// The run with exactly this id, or `nil`.
    func run(id: String) throws -> HistoricRun?
}

extension RunHistory {
    /// The newest matching run of one pipeline (see `lastRun(pipelines:…)`).
    public func lastRun(pipeline: String, params: [String: String], status: RunStatus, offset: Int,
                        excluding runID: String?) throws -> HistoricRun? {
        try lastRun(pipelines: [pipeline], params: params, status: status, offset: offset, excluding: runID)
    }
}

/// A past run as pipelines see it: plain values, as the store keeps them (secret values masked).
public struct HistoricRun: Sendable, Hashable {
    public var id: String
    /// The pipeline's `name:`.
    public var pipeline: String
    /// The pipeline file the run was started with, as given.
    public var file: String
    /// A status this runner does not know (written by a newer one) reads as `failed`.
    public var status: RunStatus
    public var startedAt: Date
    public var finishedAt: Date?
    /// The run's params as stored: values of secret params are `***`.
    public var params: [String: Value]
    /// Outputs by step `id:` as stored (secret values `***`, long strings shortened). A step that
    /// ran on several hosts or items has `{ results: [{ host, status, outputs }, ...] }`, as
    /// `steps.<id>.outputs` has during the run.
    public var outputs: [String: [String: Value]]

    public init(id: String, pipeline: String, file: String, status: RunStatus, startedAt: Date, finishedAt: Date?,
                params: [String: Value], outputs: [String: [String: Value]]) {
        self.id = id
        self.pipeline = pipeline
        self.file = file
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.params = params
        self.outputs = outputs
    }

    /// Whether every pair of `wanted` equals the run's param of that name, compared as text.
    public func matches(_ wanted: [String: String]) -> Bool {
        wanted.allSatisfy { key, value in params[key].map { $0.interpolated == value } ?? false }
    }

    /// The run as the `history` plugin's outputs and the Lua table (without `found`).
    public var value: [String: Value] {
        [
            "run_id": .string(id),
            "pipeline": .string(pipeline),
            "status": .string(status.rawValue),
            "started_at": .string(Timestamp.iso8601(startedAt)),
            "finished_at": finishedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "params": .map(params),
            "outputs": .map(outputs.mapValues { .map($0) }),
        ]
    }
}

/// Asked for history where there is none (a plan, `--dry-run`, an engine without a store).
public struct NoRunHistory: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "no run history available (plans and dry runs do not read the run store)" }
}
