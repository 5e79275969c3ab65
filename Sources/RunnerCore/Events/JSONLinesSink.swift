import Foundation
import Synchronization

/// `--output json`: one JSON object per event and line, following the SGOS logging standard
/// (`ts` ISO-8601 UTC with Z, `level`, `msg`) plus `run_id`, `step`, `host` and event fields.
public final class JSONLinesSink: EventSink {
    private let write: @Sendable (String) -> Void
    private let lock = Mutex(())

    public init(write: @escaping @Sendable (String) -> Void = { FileOutput.stdout.write($0) }) {
        self.write = write
    }

    public func handle(_ event: Event) {
        var object: [String: Value] = [
            "ts": .string(Timestamp.iso8601(event.time)),
            "level": .string(event.level.rawValue),
            "msg": .string(event.message),
            "run_id": .string(event.runID),
        ]
        if let step = event.step {
            object["step"] = .string(step.label)
            if let id = step.id { object["step_id"] = .string(id) }
            if let host = step.host { object["host"] = .string(host) }
            if let phase = step.phase { object["phase"] = .string(phase) }
        }
        switch event.kind {
        case .runStarted(let pipeline, let file, let params, let trigger):
            object["event"] = "run_started"
            object["pipeline"] = .string(pipeline)
            object["file"] = .string(file)
            object["params"] = .map(params)
            object["trigger"] = .string(trigger)
        case .stepStarted: object["event"] = "step_started"
        case .output(let line):
            object["event"] = "output"
            object["stream"] = .string(line.stream.rawValue)
            // A piece of a long line: the next output event of this step and stream goes on with it.
            if line.continues { object["continues"] = .bool(true) }
        case .log: object["event"] = "log"
        case .stepFinished(let status, let duration, let attempts, let exitCode, let outputs, let error):
            object["event"] = "step_finished"
            object["status"] = .string(status.rawValue)
            object["duration_ms"] = .int(Int(duration.milliseconds))
            object["attempts"] = .int(attempts)
            if let exitCode { object["exit_code"] = .int(Int(exitCode)) }
            object["outputs"] = .map(outputs)
            if let error { object["error"] = .string(error) }
        case .runFinished(let status, let duration, let counts, let error):
            object["event"] = "run_finished"
            object["status"] = .string(status.rawValue)
            object["duration_ms"] = .int(Int(duration.milliseconds))
            object["counts"] = .map(["ok": .int(counts.ok), "changed": .int(counts.changed), "skipped": .int(counts.skipped),
                                     "failed": .int(counts.failed), "cancelled": .int(counts.cancelled)])
            if let error { object["error"] = .string(error) }
        case .lockWaiting(let key, let holder):
            object["event"] = "lock_waiting"
            object["lock"] = .string(key)
            object["holder"] = .string(holder)
        }
        let line = JSON.encode(.map(object)) + "\n"
        lock.withLock { _ in write(line) }
    }
}

/// ISO-8601 UTC timestamps with milliseconds and `Z`.
public enum Timestamp {
    public static func iso8601(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(ms % 1000), 3))Z"
    }
}

/// Unbuffered writes to a file descriptor (stdout/stderr), safe from any thread.
public struct FileOutput: Sendable {
    public let fd: Int32

    public static let stdout = FileOutput(fd: 1)
    public static let stderr = FileOutput(fd: 2)

    public func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            bytes = bytes.dropFirst(n)
        }
    }

    public var isTerminal: Bool { isatty(fd) != 0 }
}
