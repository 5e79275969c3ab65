import Foundation
import GRDB

/// `RunHistory` on SQLite: runs are filtered by pipeline and status in SQL (the
/// `runs_on_pipeline_startedAt` index), newest first, and their params matched as they are read.
extension RunStore: RunHistory {
    public func lastRun(pipelines: [String], params: [String: String], status: RunStatus, offset: Int,
                        excluding runID: String?) throws -> HistoricRun? {
        try read("read the history of \(pipelines.joined(separator: ", "))") { db in
            var request = RunRecord
                .filter(pipelines.contains(Column("pipeline")) && Column("status") == status.rawValue)
                .order(Column("startedAt").desc, Column("id").desc)
            if let runID { request = request.filter(Column("id") != runID) }
            let runs = try request.fetchCursor(db)
            var skip = max(0, offset)
            while let record = try runs.next() {
                let run = Self.historic(record, outputs: [:])
                guard run.matches(params) else { continue }
                if skip > 0 {
                    skip -= 1
                    continue
                }
                return Self.historic(record, outputs: try Self.stepOutputs(runID: record.id, db))
            }
            return nil
        }
    }

    public func run(id: String) throws -> HistoricRun? {
        try read("read run \(id)") { db in
            guard let record = try RunRecord.fetchOne(db, key: id) else { return nil }
            return Self.historic(record, outputs: try Self.stepOutputs(runID: id, db))
        }
    }

    private static func historic(_ record: RunRecord, outputs: [String: [String: Value]]) -> HistoricRun {
        HistoricRun(id: record.id, pipeline: record.pipeline, file: record.file,
                    status: RunStatus(rawValue: record.status) ?? .failed, startedAt: record.startedAt,
                    finishedAt: record.finishedAt, params: (try? JSON.decode(record.params))?.mapValue ?? [:],
                    outputs: outputs)
    }

    /// Outputs of the steps that have an `id:`, by id; several records of one id (hosts,
    /// `for_each` items) become `results`, as in `steps.<id>.outputs`.
    private static func stepOutputs(runID: String, _ db: Database) throws -> [String: [String: Value]] {
        let steps = try StepRecord.filter(Column("runID") == runID && Column("stepID") != nil).order(Column("seq")).fetchAll(db)
        var byID: [String: [StepRecord]] = [:]
        for step in steps { byID[step.stepID!, default: []].append(step) }
        return byID.mapValues { records in
            func outputs(_ record: StepRecord) -> [String: Value] { (try? JSON.decode(record.outputs))?.mapValue ?? [:] }
            if records.count == 1 { return outputs(records[0]) }
            return ["results": .list(records.map { record in
                var entry: [String: Value] = ["status": .string(record.status), "outputs": .map(outputs(record))]
                if let host = record.host { entry["host"] = .string(host) }
                return .map(entry)
            })]
        }
    }
}
