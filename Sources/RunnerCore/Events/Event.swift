import Foundation

public enum LogLevel: String, Sendable, Comparable {
    case debug, info, warn, error

    public static func < (a: LogLevel, b: LogLevel) -> Bool {
        let order: [LogLevel] = [.debug, .info, .warn, .error]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// How a step ended.
public enum StepStatus: String, Sendable, Hashable, CaseIterable {
    case ok, changed, skipped, failed, cancelled
    case timedOut = "timed_out"

    public var isFailure: Bool { self == .failed || self == .timedOut }
}

/// How a run ended.
public enum RunStatus: String, Sendable, Hashable {
    case running, succeeded, failed, cancelled
    /// The runner process died (SIGKILL, power loss) while the run was running: set by the
    /// run store when it is next opened (`RunStore.reconcileInterruptedRuns`), never by the engine.
    case interrupted
}

/// Which step (and host) an event is about.
public struct StepRef: Sendable, Hashable {
    public var name: String
    public var id: String?
    public var host: String?
    /// The `for_each` item, shown in names.
    public var item: String?
    /// Source location of the step.
    public var location: SourceLocation?
    /// `on_failure` or `finally`, for the summary.
    public var phase: String?
    /// 0 for the run's own pipeline's steps, 1 for those of a pipeline it calls (`uses: pipeline`), …
    public var depth: Int

    public init(name: String, id: String? = nil, host: String? = nil, item: String? = nil, location: SourceLocation? = nil,
                phase: String? = nil, depth: Int = 0) {
        self.name = name
        self.id = id
        self.host = host
        self.item = item
        self.location = location
        self.phase = phase
        self.depth = depth
    }

    public var label: String { item.map { "\(name) [\($0)]" } ?? name }
}

/// Counts per status for the summary line.
public struct StepCounts: Sendable, Hashable {
    public var ok = 0, changed = 0, skipped = 0, failed = 0, cancelled = 0

    public init() {}

    /// Adds another run's counts (a called pipeline's steps, which the console shows as rows too).
    public mutating func add(_ other: StepCounts) {
        ok += other.ok
        changed += other.changed
        skipped += other.skipped
        failed += other.failed
        cancelled += other.cancelled
    }

    public mutating func add(_ status: StepStatus) {
        switch status {
        case .ok: ok += 1
        case .changed: changed += 1
        case .skipped: skipped += 1
        case .failed, .timedOut: failed += 1
        case .cancelled: cancelled += 1
        }
    }
}

/// Something that happened in a run. Every string in an event has been through the secret masker.
public struct Event: Sendable {
    public enum Kind: Sendable {
        case runStarted(pipeline: String, file: String, params: [String: Value], trigger: String)
        case stepStarted
        case output(OutputLine)
        case log(LogLevel, String)
        case stepFinished(status: StepStatus, duration: Duration, attempts: Int, exitCode: Int32?, outputs: [String: Value], error: String?)
        case runFinished(status: RunStatus, duration: Duration, counts: StepCounts, error: String?)
        case lockWaiting(key: String, holder: String)
    }

    public var time: Date
    public var runID: String
    public var step: StepRef?
    public var kind: Kind

    public init(time: Date = Date(), runID: String, step: StepRef? = nil, kind: Kind) {
        self.time = time
        self.runID = runID
        self.step = step
        self.kind = kind
    }

    public var level: LogLevel {
        switch kind {
        case .log(let level, _): level
        case .output(let line): line.stream == .stderr ? .warn : .info
        case .stepFinished(let status, _, _, _, _, _): status.isFailure ? .error : .info
        case .runFinished(let status, _, _, _): status == .succeeded ? .info : .error
        case .lockWaiting: .warn
        default: .info
        }
    }

    /// A one-line human message, used by JSON lines and the run log.
    public var message: String {
        switch kind {
        case .runStarted(let pipeline, _, _, _): "run of \(pipeline) started"
        case .stepStarted: "step \(step?.label ?? "") started"
        case .output(let line): line.text
        case .log(_, let text): text
        case .stepFinished(let status, let duration, _, _, _, let error):
            "step \(step?.label ?? "") \(status.rawValue) in \(DurationParser.format(duration))" + (error.map { ": \($0)" } ?? "")
        case .runFinished(let status, let duration, _, let error):
            "run \(status.rawValue) in \(DurationParser.format(duration))" + (error.map { ": \($0)" } ?? "")
        case .lockWaiting(let key, let holder): "waiting for lock '\(key)' held by \(holder)"
        }
    }
}

/// Receives events: the console, JSON lines, the run store.
public protocol EventSink: Sendable {
    func handle(_ event: Event)
    /// Called once after the last event of a run.
    func finish()
}

extension EventSink {
    public func finish() {}
}
