import Foundation
import GRDB

// Rows of the run history store. Column names are the property names. Dates are stored as
// GRDB stores them by default: UTC text, `yyyy-MM-dd HH:mm:ss.SSS`, so they keep milliseconds
// and sort as text. `params` and `outputs` are JSON text that the caller encodes.
// Statuses and levels are stored as text: the `rawValue`s of `RunStatus`, `StepStatus` and
// `LogLevel`, so that a history written by a newer runner still reads.

/// One run of a pipeline: a row of the `runs` table.
public struct RunRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"

    /// A `RunID` in text form (any text is accepted, but `runner show` prefixes assume ULIDs).
    public var id: String
    /// The pipeline's name.
    public var pipeline: String
    /// Path of the pipeline file, as given.
    public var file: String
    /// The run's parameters, as a JSON object.
    public var params: String
    /// What started the run: `cli`, `webhook`, `schedule`, …
    public var trigger: String
    /// `running`, `succeeded`, `failed`, `cancelled` or `interrupted` (`RunStatus.rawValue`).
    public var status: String
    public var startedAt: Date
    /// `nil` while the run is running.
    public var finishedAt: Date?
    /// Why the run failed or was cancelled.
    public var error: String?
    /// Who started the run, if known.
    public var user: String?
    /// The machine the run ran on, if known.
    public var hostname: String?
    /// The pid of the process running the run (`RunHolder`), so that a run whose process died
    /// can be told from one still running; `nil` for runs recorded before it was kept.
    public var holderPid: Int32?
    /// The machine's boot id when the run started (`RunHolder.bootID`).
    public var holderBootID: String?
    /// When the holder process started, in clock ticks since boot (`RunHolder.startTime`).
    public var holderStartTime: Int64?

    public init(
        id: String, pipeline: String, file: String, params: String = "{}", trigger: String = "cli",
        status: String = "running", startedAt: Date, finishedAt: Date? = nil, error: String? = nil,
        user: String? = nil, hostname: String? = nil, holder: RunHolder? = nil
    ) {
        self.holderPid = holder?.pid
        self.holderBootID = holder?.bootID
        self.holderStartTime = holder?.startTime
        self.id = id
        self.pipeline = pipeline
        self.file = file
        self.params = params
        self.trigger = trigger
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
        self.user = user
        self.hostname = hostname
    }

    /// The process recorded as running the run, if one is.
    public var holder: RunHolder? {
        holderPid.map { RunHolder(pid: $0, bootID: holderBootID, startTime: holderStartTime) }
    }
}

/// One finished step of a run (one host's execution of it): a row of the `steps` table.
public struct StepRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "steps"

    public var runID: String
    /// Order within the run, assigned by the caller; unique per run.
    public var seq: Int
    /// The step's `id:` in the pipeline, if it has one.
    public var stepID: String?
    public var name: String
    /// The target host, or `nil` for a local step.
    public var host: String?
    /// `ok`, `changed`, `skipped`, `failed`, `cancelled` or `timed_out` (`StepStatus.rawValue`).
    public var status: String
    public var startedAt: Date
    public var finishedAt: Date
    /// How many times the step was tried (1 without retries).
    public var attempts: Int
    public var exitCode: Int?
    /// The step's outputs, as a JSON object.
    public var outputs: String
    public var error: String?

    public init(
        runID: String, seq: Int, stepID: String? = nil, name: String, host: String? = nil,
        status: String, startedAt: Date, finishedAt: Date, attempts: Int = 1,
        exitCode: Int? = nil, outputs: String = "{}", error: String? = nil
    ) {
        self.runID = runID
        self.seq = seq
        self.stepID = stepID
        self.name = name
        self.host = host
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.attempts = attempts
        self.exitCode = exitCode
        self.outputs = outputs
        self.error = error
    }
}

/// One log line of a run: a row of the `logs` table.
public struct LogRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "logs"

    public var runID: String
    /// Order within the run, assigned by the caller; unique per run.
    public var seq: Int
    public var ts: Date
    /// `debug`, `info`, `warn` or `error` (`LogLevel.rawValue`).
    public var level: String
    /// Name or id of the step that logged the line, if any.
    public var step: String?
    public var host: String?
    /// `stdout` or `stderr` for command output; `nil` for the runner's own messages.
    public var stream: String?
    public var message: String
    /// A piece of a long output line that goes on in the next line of the same step, host and
    /// stream (see `OutputLine.continues`).
    public var continues: Bool

    public init(
        runID: String, seq: Int, ts: Date, level: String = "info", step: String? = nil,
        host: String? = nil, stream: String? = nil, message: String, continues: Bool = false
    ) {
        self.runID = runID
        self.seq = seq
        self.ts = ts
        self.level = level
        self.step = step
        self.host = host
        self.stream = stream
        self.message = message
        self.continues = continues
    }
}

// Explicit column encoding: GRDB's Codable path goes through dynamic casts that cost
// milliseconds on the first insert of a process, and every `runner run` is a first insert.
extension RunRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["pipeline"] = pipeline
        container["file"] = file
        container["params"] = params
        container["trigger"] = trigger
        container["status"] = status
        container["startedAt"] = startedAt
        container["finishedAt"] = finishedAt
        container["error"] = error
        container["user"] = user
        container["hostname"] = hostname
        container["holderPid"] = holderPid
        container["holderBootID"] = holderBootID
        container["holderStartTime"] = holderStartTime
    }
}

extension StepRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["runID"] = runID
        container["seq"] = seq
        container["stepID"] = stepID
        container["name"] = name
        container["host"] = host
        container["status"] = status
        container["startedAt"] = startedAt
        container["finishedAt"] = finishedAt
        container["attempts"] = attempts
        container["exitCode"] = exitCode
        container["outputs"] = outputs
        container["error"] = error
    }
}

extension LogRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["runID"] = runID
        container["seq"] = seq
        container["ts"] = ts
        container["level"] = level
        container["step"] = step
        container["host"] = host
        container["stream"] = stream
        container["message"] = message
        container["continues"] = continues
    }

    /// Explicit decoding: a store written before `continues` existed (schema v1), read by a
    /// read-only command that cannot migrate it, has no such column.
    public init(row: Row) throws {
        runID = row["runID"]
        seq = row["seq"]
        ts = row["ts"]
        level = row["level"]
        step = row["step"]
        host = row["host"]
        stream = row["stream"]
        message = row["message"]
        continues = row["continues"] ?? false
    }
}
