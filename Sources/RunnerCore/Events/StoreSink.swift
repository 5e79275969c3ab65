import Foundation
import Synchronization

/// Records a run in the run store: the run, each finished step, and the log (batched per step).
/// A store that fails (disk full, locked too long) never stops the run: it warns once on stderr.
public final class StoreSink: EventSink {
    private let store: RunStore
    private struct State {
        var logSeq = 0
        var stepSeq = 0
        var pending: [LogRecord] = []
        var warned = false
    }
    private let state = Mutex(State())

    public init(store: RunStore) {
        self.store = store
    }

    public func handle(_ event: Event) {
        state.withLock { s in
            switch event.kind {
            case .runStarted(let pipeline, let file, let params, let trigger):
                attempt(&s) {
                    try store.insertRun(RunRecord(id: event.runID, pipeline: pipeline, file: file, params: JSON.encode(.map(params)),
                                                  trigger: trigger, startedAt: event.time,
                                                  user: ProcessInfo.processInfo.environment["USER"],
                                                  hostname: Self.hostname))
                }
            case .stepStarted:
                break
            case .stepFinished(let status, let duration, let attempts, let exitCode, let outputs, let error):
                s.pending.append(log(event, &s))
                s.stepSeq += 1
                let step = StepRecord(runID: event.runID, seq: s.stepSeq, stepID: event.step?.id,
                                      name: (event.step?.phase.map { "[\($0)] " } ?? "") + (event.step?.label ?? ""),
                                      host: event.step?.host, status: status.rawValue,
                                      startedAt: event.time.addingTimeInterval(-duration.seconds), finishedAt: event.time,
                                      attempts: attempts, exitCode: exitCode.map(Int.init), outputs: JSON.encode(.map(outputs)), error: error)
                let logs = s.pending
                s.pending = []
                attempt(&s) {
                    try store.appendLogs(logs)
                    try store.insertStep(step)
                }
            case .runFinished(let status, _, _, let error):
                s.pending.append(log(event, &s))
                let logs = s.pending
                s.pending = []
                attempt(&s) {
                    try store.appendLogs(logs)
                    try store.finishRun(id: event.runID, status: status.rawValue, finishedAt: event.time, error: error)
                }
            default:
                s.pending.append(log(event, &s))
                if s.pending.count >= 500 {
                    let logs = s.pending
                    s.pending = []
                    attempt(&s) { try store.appendLogs(logs) }
                }
            }
        }
    }

    /// gethostname(2): Foundation's `hostName` resolves names through the network stack.
    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    private func log(_ event: Event, _ s: inout State) -> LogRecord {
        s.logSeq += 1
        var stream: String?
        if case .output(let line) = event.kind { stream = line.stream.rawValue }
        return LogRecord(runID: event.runID, seq: s.logSeq, ts: event.time, level: event.level.rawValue,
                         step: event.step?.label, host: event.step?.host, stream: stream, message: event.message)
    }

    private func attempt(_ s: inout State, _ body: () throws -> Void) {
        do { try body() } catch {
            if !s.warned {
                s.warned = true
                FileOutput.stderr.write("warning: cannot record the run in \(store.path): \(error)\n")
            }
        }
    }
}
