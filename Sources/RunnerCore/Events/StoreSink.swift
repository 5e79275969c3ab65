import Foundation
import Synchronization

/// Records a run in the run store: the run, each finished step, and the log (batched).
/// A store that fails (disk full, locked too long) never stops the run: it warns once on stderr.
///
/// What one run keeps is bounded by `Limits`: past the log budget, output lines and log messages
/// are no longer stored (the console and `--output json` still show them) and a marker line
/// says so; at the end of the run a second marker says how much was not kept. Step and run
/// events are always stored.
public final class StoreSink: EventSink {
    /// What one run may keep in the store.
    public struct Limits: Sendable, Hashable {
        /// The default log budget: 16 MiB of output lines and log messages per run.
        public static let defaultLogBytes = 16 << 20

        /// Bytes of output lines and log messages a run keeps. Each line counts its text, its
        /// step and host names, and `rowOverhead` for what the database stores with it, so
        /// the budget bounds the file, whether lines are long or short.
        public var logBytes: Int
        /// Bytes kept of each string in a step's stored outputs and of its error (the end of it;
        /// later steps and expressions see the whole value).
        public var valueBytes: Int

        /// What a stored log line costs besides its text (run id, time, level, index entry), as
        /// measured on SQLite: about 120 bytes.
        public static let rowOverhead = 120

        public init(logBytes: Int = Limits.defaultLogBytes, valueBytes: Int = 64 << 10) {
            self.logBytes = max(0, logBytes)
            self.valueBytes = max(0, valueBytes)
        }
    }

    private let store: RunStore
    public let limits: Limits
    private struct State {
        var logSeq = 0
        var stepSeq = 0
        var pending: [LogRecord] = []
        var pendingBytes = 0
        var warned = false
        /// Bytes of log text kept so far.
        var kept = 0
        /// Past the budget: lines (and pieces) and bytes not kept.
        var over = false
        var droppedLines = 0
        var droppedBytes = 0
    }
    private let state = Mutex(State())

    public init(store: RunStore, limits: Limits = Limits()) {
        self.store = store
        self.limits = limits
    }

    public func handle(_ event: Event) {
        state.withLock { s in
            switch event.kind {
            case .runStarted(let pipeline, let file, let params, let trigger):
                attempt(&s) {
                    try store.insertRun(RunRecord(id: event.runID, pipeline: pipeline, file: file, params: JSON.encode(.map(params)),
                                                  trigger: trigger, startedAt: event.time,
                                                  user: ProcessInfo.processInfo.environment["USER"],
                                                  hostname: Self.hostname, holder: RunHolder.current))
                }
            case .stepStarted:
                break
            case .stepFinished(let status, let duration, let attempts, let exitCode, let outputs, let error):
                add(log(event, &s), &s)
                s.stepSeq += 1
                let step = StepRecord(runID: event.runID, seq: s.stepSeq, stepID: event.step?.id,
                                      name: (event.step?.phase.map { "[\($0)] " } ?? "") + (event.step?.label ?? ""),
                                      host: event.step?.host, status: status.rawValue,
                                      startedAt: event.time.addingTimeInterval(-duration.seconds), finishedAt: event.time,
                                      attempts: attempts, exitCode: exitCode.map(Int.init),
                                      outputs: JSON.encode(.map(outputs.mapValues(shorten))), error: error.map(shorten))
                let logs = take(&s)
                attempt(&s) {
                    try store.appendLogs(logs)
                    try store.insertStep(step)
                }
            case .runFinished(let status, _, _, let error):
                if s.over {
                    let lines = s.droppedLines == 1 ? "1 line" : "\(s.droppedLines) lines"
                    add(marker(event, "\(lines) (\(ByteCount.format(s.droppedBytes))) of output and log messages not kept: "
                                      + "over the run's log budget of \(ByteCount.format(limits.logBytes))", &s), &s)
                }
                add(log(event, &s), &s)
                let logs = take(&s)
                attempt(&s) {
                    try store.appendLogs(logs)
                    try store.finishRun(id: event.runID, status: status.rawValue, finishedAt: event.time, error: error.map(shorten))
                }
            case .output, .log:
                let text = event.message.utf8.count
                let size = text + (event.step?.label.utf8.count ?? 0) + (event.step?.host?.utf8.count ?? 0) + Limits.rowOverhead
                if !s.over, s.kept + size > limits.logBytes {
                    s.over = true
                    add(marker(event, "log budget of \(ByteCount.format(limits.logBytes)) used up: output and log messages "
                                      + "from here on are not kept in the run store (set RUNNER_LOG_BUDGET to keep more)", &s), &s)
                }
                guard !s.over else {
                    if case .output(let line) = event.kind, line.continues {} else { s.droppedLines += 1 }
                    s.droppedBytes += text
                    return
                }
                s.kept += size
                add(log(event, &s), &s)
                flushIfLarge(&s)
            case .lockWaiting:
                add(log(event, &s), &s)
                flushIfLarge(&s)
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
        var continues = false
        if case .output(let line) = event.kind {
            stream = line.stream.rawValue
            continues = line.continues
        }
        return LogRecord(runID: event.runID, seq: s.logSeq, ts: event.time, level: event.level.rawValue,
                         step: event.step?.label, host: event.step?.host, stream: stream, message: event.message,
                         continues: continues)
    }

    /// The runner's own line about what the store did not keep.
    private func marker(_ event: Event, _ message: String, _ s: inout State) -> LogRecord {
        s.logSeq += 1
        return LogRecord(runID: event.runID, seq: s.logSeq, ts: event.time, level: LogLevel.warn.rawValue, message: "[runner] " + message)
    }

    private func add(_ record: LogRecord, _ s: inout State) {
        s.pending.append(record)
        s.pendingBytes += record.message.utf8.count
    }

    private func take(_ s: inout State) -> [LogRecord] {
        defer {
            s.pending = []
            s.pendingBytes = 0
        }
        return s.pending
    }

    /// Writes the batch once it holds 500 lines or 1 MiB, so memory stays bounded.
    private func flushIfLarge(_ s: inout State) {
        guard s.pending.count >= 500 || s.pendingBytes >= 1 << 20 else { return }
        let logs = take(&s)
        attempt(&s) { try store.appendLogs(logs) }
    }

    /// A value as stored: strings longer than `valueBytes` keep their end, after a marker.
    private func shorten(_ value: Value) -> Value {
        switch value {
        case .string(let text): .string(shorten(text))
        case .list(let items): .list(items.map(shorten))
        case .map(let map): .map(map.mapValues(shorten))
        default: value
        }
    }

    private func shorten(_ text: String) -> String {
        let size = text.utf8.count
        guard size > limits.valueBytes else { return text }
        var start = text.utf8.index(text.utf8.endIndex, offsetBy: -limits.valueBytes)
        while start.samePosition(in: text.unicodeScalars) == nil { start = text.utf8.index(after: start) }
        let kept = text[start...]
        return "[… \(ByteCount.format(size - kept.utf8.count)) not kept] " + kept
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
