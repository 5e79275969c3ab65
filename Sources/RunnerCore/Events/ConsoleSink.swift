import Foundation
import Synchronization

/// Human output: each step's name, host, status and duration; output lines as they come;
/// a live elapsed time for long steps on a terminal; a summary table at the end.
///
/// What commands print and what params hold is shown through `TerminalText.visible` (no raw
/// escape sequences reach the terminal). A line that arrives in pieces is printed once whole,
/// or, past `Style.maxLineBytes`, shortened with a `… [N bytes cut]` marker.
public final class ConsoleSink: EventSink {
    public struct Style: Sendable {
        public var color: Bool
        /// Redraw a status line with the elapsed time of running steps (terminals only).
        public var live: Bool
        /// Show step output lines (not just status lines).
        public var showOutput: Bool
        /// Bytes of one output line shown; the rest is replaced by a marker (`--output json`
        /// and the run store keep whole lines).
        public var maxLineBytes: Int

        public init(color: Bool, live: Bool, showOutput: Bool = true, maxLineBytes: Int = 16 << 10) {
            self.color = color
            self.live = live
            self.showOutput = showOutput
            self.maxLineBytes = maxLineBytes
        }

        /// Colours and live status on a terminal, unless `NO_COLOR` is set.
        public static func detect(_ out: FileOutput, environment: [String: String]) -> Style {
            let tty = out.isTerminal && environment["TERM"] != "dumb"
            return Style(color: tty && environment["NO_COLOR"] == nil, live: tty)
        }
    }

    private struct Row {
        var ref: StepRef
        var status: StepStatus
        var duration: Duration
        /// A plugin's `summary` output (a backup's snapshot and sizes), shown beside the row.
        var note: String?
    }

    private struct State {
        /// Running steps, with the number of summary rows when each started.
        var running: [StepKey: (ref: StepRef, started: ContinuousClock.Instant, rows: Int)] = [:]
        var rows: [Row] = []
        var statusLineShown = false
        var ticker: Task<Void, Never>?
        var lines: LineJoiner<OutputKey>
    }

    private struct StepKey: Hashable {
        var name: String
        var host: String?
        var item: String?

        init(_ ref: StepRef?) {
            name = ref?.name ?? ""
            host = ref?.host
            item = ref?.item
        }
    }

    /// One stream of one step: where the pieces of a long line are joined.
    private struct OutputKey: Hashable {
        var step: StepKey
        var stream: OutputStream
    }

    private let out: FileOutput
    private let style: Style
    private let state: Mutex<State>

    public init(out: FileOutput = .stdout, style: Style) {
        self.out = out
        self.style = style
        state = Mutex(State(lines: LineJoiner(limit: style.maxLineBytes)))
    }

    private func paint(_ text: String, _ code: String) -> String {
        style.color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func symbol(_ status: StepStatus) -> String {
        switch status {
        case .ok: paint("✓", "32")
        case .changed: paint("●", "33")
        case .skipped: paint("-", "90")
        case .failed, .timedOut: paint("✗", "31")
        case .cancelled: paint("⊘", "35")
        }
    }

    private func where_(_ ref: StepRef) -> String {
        ref.host.map { paint(" @\(visible($0))", "36") } ?? ""
    }

    private func visible(_ text: String) -> String { TerminalText.visible(text) }

    private func label(_ ref: StepRef) -> String { visible(ref.label) }

    /// Steps of a called pipeline are indented under the step that calls it.
    private func indent(_ ref: StepRef) -> String { String(repeating: "  ", count: ref.depth) }

    public func handle(_ event: Event) {
        state.withLock { s in
            var lines: [String] = []
            switch event.kind {
            case .runStarted(let pipeline, _, let params, _):
                let shown = params.keys.sorted().map { "\($0)=\(params[$0]!.interpolated)" }.joined(separator: " ")
                lines.append(paint("▶ \(visible(pipeline))", "1") + paint("  run \(event.runID)", "90") + (shown.isEmpty ? "" : "  \(visible(shown))"))
            case .stepStarted:
                guard let ref = event.step else { break }
                s.running[StepKey(ref)] = (ref, ContinuousClock.now, s.rows.count)
                let phase = ref.phase.map { paint("[\($0)] ", "90") } ?? ""
                lines.append("  \(indent(ref))\(paint("▸", "34")) \(phase)\(label(ref))\(where_(ref))")
                startTicker(&s)
            case .output(let line):
                guard style.showOutput else { break }
                let key = OutputKey(step: StepKey(event.step), stream: line.stream)
                guard let whole = s.lines.add(line.text, continues: line.continues, for: key) else { break }
                lines.append(outputLine(whole, stream: line.stream, step: event.step, parallel: Self.concurrent(s, with: event.step) > 1))
            case .log(let level, let text):
                let tag = switch level {
                case .debug: paint("debug", "90")
                case .info: paint("info", "34")
                case .warn: paint("warn", "33")
                case .error: paint("error", "31")
                }
                lines.append("    \(tag) \(visible(text))")
            case .stepFinished(let status, let duration, let attempts, _, let outputs, let error):
                guard let ref = event.step else { break }
                let rowsAtStart = s.running.removeValue(forKey: StepKey(ref))?.rows ?? s.rows.count
                for stream in [OutputStream.stdout, .stderr] {
                    // A line whose last piece never came (the command was killed in mid-line).
                    if let open = s.lines.close(OutputKey(step: StepKey(ref), stream: stream)), style.showOutput {
                        lines.append(outputLine(open, stream: stream, step: ref, parallel: Self.concurrent(s, with: ref) > 0))
                    }
                }
                // Above the rows of the pipeline it called, which finished before it (only those
                // that came after it started: not an earlier step's).
                var index = s.rows.endIndex
                while index > min(rowsAtStart, s.rows.endIndex), s.rows[index - 1].ref.depth > ref.depth { index -= 1 }
                s.rows.insert(Row(ref: ref, status: status, duration: duration, note: outputs["summary"]?.stringValue), at: index)
                let tries = attempts > 1 ? paint(" (\(attempts) attempts)", "90") : ""
                let phase = ref.phase.map { paint("[\($0)] ", "90") } ?? ""
                lines.append("  \(indent(ref))\(symbol(status)) \(phase)\(label(ref))\(where_(ref))  \(paint(status == .skipped ? "skipped" : DurationParser.format(duration), "90"))\(tries)")
                if let error {
                    for line in error.split(separator: "\n", omittingEmptySubsequences: false) {
                        lines.append("      \(indent(ref))\(paint(visible(String(line)), "31"))")
                    }
                }
            case .runFinished(let status, let duration, let counts, let error):
                s.ticker?.cancel()
                s.ticker = nil
                for (key, open) in s.lines.closeAll() where style.showOutput {
                    lines.append(outputLine(open, stream: key.stream, step: nil, parallel: false))
                }
                lines += summary(s.rows, status: status, duration: duration, counts: counts, error: error)
            case .lockWaiting(let key, let holder):
                lines.append("  \(paint("…", "33")) waiting for lock '\(visible(key))' held by \(visible(holder))")
            }
            guard !lines.isEmpty else { return }
            var text = clearStatus(&s)
            text += lines.joined(separator: "\n") + "\n"
            text += drawStatus(&s)
            out.write(text)
        }
    }

    /// Running steps that could be printing beside `step`: a step calling a pipeline does not
    /// speak while the called pipeline's steps run.
    private static func concurrent(_ s: State, with step: StepRef?) -> Int {
        let depth = step?.depth ?? 0
        return s.running.values.filter { $0.ref.depth >= depth }.count
    }

    /// One output line as printed: `│`, the host or step when several could be speaking, the text.
    private func outputLine(_ line: LineJoiner<OutputKey>.Line, stream: OutputStream, step: StepRef?, parallel: Bool) -> String {
        let prefix = parallel || step?.host != nil ? paint("\(visible(step?.host ?? step?.label ?? "")): ", "90") : ""
        var text = visible(line.text)
        if line.cutBytes > 0 { text += paint("… [\(line.cutBytes) bytes cut]", "90") }
        return "    \(paint("│", "90")) \(prefix)\(stream == .stderr ? paint(text, "33") : text)"
    }

    private func summary(_ rows: [Row], status: RunStatus, duration: Duration, counts: StepCounts, error: String?) -> [String] {
        var lines = [""]
        if !rows.isEmpty {
            let nameWidth = min(48, max(4, rows.map { $0.ref.label.count + 2 * $0.ref.depth + ($0.ref.phase.map { $0.count + 3 } ?? 0) }.max() ?? 4))
            let hostWidth = max(4, rows.map { $0.ref.host?.count ?? 5 }.max() ?? 4)
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count) }
            lines.append(paint("  " + pad("STEP", nameWidth) + "  " + pad("HOST", hostWidth) + "  " + pad("STATUS", 9) + "  DURATION", "1"))
            for row in rows {
                let name = indent(row.ref) + visible((row.ref.phase.map { "[\($0)] " } ?? "") + row.ref.label)
                let st = pad(row.status.rawValue, 9)
                let colored = switch row.status {
                case .ok: paint(st, "32")
                case .changed: paint(st, "33")
                case .skipped: paint(st, "90")
                case .failed, .timedOut: paint(st, "31")
                case .cancelled: paint(st, "35")
                }
                let time = row.status == .skipped ? "-" : DurationParser.format(row.duration)
                lines.append("  " + pad(name, nameWidth) + "  " + pad(visible(row.ref.host ?? "local"), hostWidth) + "  " + colored + "  "
                             + (row.note.map { pad(time, 8) + "  " + paint(visible($0), "90") } ?? time))
            }
        }
        let verdict = switch status {
        case .succeeded: paint("succeeded", "32;1")
        case .failed: paint("failed", "31;1")
        case .cancelled: paint("cancelled", "35;1")
        case .interrupted: paint("interrupted", "35;1")
        case .running: "running"
        }
        var countsLine = "\(counts.ok) ok, \(counts.changed) changed, \(counts.skipped) skipped, \(counts.failed) failed"
        if counts.cancelled > 0 { countsLine += ", \(counts.cancelled) cancelled" }
        lines.append("")
        lines.append("\(verdict) in \(DurationParser.format(duration)): \(countsLine)")
        if let error, status != .succeeded { lines.append(paint(visible(error), "31")) }
        return lines
    }

    // MARK: - Live status line

    private func startTicker(_ s: inout State) {
        guard style.live, s.ticker == nil else { return }
        s.ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                self?.tick()
            }
        }
    }

    private func tick() {
        state.withLock { s in
            let text = clearStatus(&s) + drawStatus(&s)
            if !text.isEmpty { out.write(text) }
        }
    }

    private func clearStatus(_ s: inout State) -> String {
        guard s.statusLineShown else { return "" }
        s.statusLineShown = false
        return "\r\u{1B}[2K"
    }

    /// Shows the running steps with their elapsed time once one has run for 2 seconds.
    private func drawStatus(_ s: inout State) -> String {
        guard style.live, !s.running.isEmpty else { return "" }
        let now = ContinuousClock.now
        let long = s.running.values.filter { now - $0.started >= .seconds(2) }.sorted { $0.started < $1.started }
        guard !long.isEmpty else { return "" }
        let parts = long.prefix(3).map { "\(label($0.ref))\($0.ref.host.map { "@\(visible($0))" } ?? "") \(DurationParser.format(now - $0.started))" }
        s.statusLineShown = true
        let more = long.count > 3 ? " +\(long.count - 3)" : ""
        return paint("  ⏱ " + parts.joined(separator: " · ") + more, "90")
    }

    public func finish() {
        state.withLock { s in
            s.ticker?.cancel()
            s.ticker = nil
            let text = clearStatus(&s)
            if !text.isEmpty { out.write(text) }
        }
    }
}
