import ArgumentParser
import Foundation
import RunnerCore

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List past runs, newest first.",
        discussion: "Example: runner runs --pipeline deploy --limit 5"
    )

    @Option(help: "Only runs of this pipeline (its name).")
    var pipeline: String?

    @Option(help: "How many runs to show.")
    var limit: Int = 20

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let store = try Toolbox().openStore()
        let runs = try store.runs(pipeline: pipeline, limit: limit)
        guard !runs.isEmpty else {
            FileOutput.stdout.write(pipeline.map { "no runs of \($0) yet\n" } ?? "no runs yet\n")
            return
        }
        var rows = [["RUN", "PIPELINE", "STATUS", "STARTED", "DURATION", "TRIGGER"]]
        for run in runs {
            let duration = run.finishedAt.map { DurationParser.format(.milliseconds(Int64($0.timeIntervalSince(run.startedAt) * 1000))) } ?? "-"
            rows.append([run.id, run.pipeline, run.status, Timestamp.iso8601(run.startedAt), duration, run.trigger])
        }
        FileOutput.stdout.write(Table.render(rows))
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: params, steps, durations, outputs; --log for its full log.",
        discussion: """
            The run id may be shortened to any unique prefix, or be `last`.
            Examples:
              runner show last
              runner show 01JD3Z --log
            """
    )

    @Argument(help: "Run id, unique prefix, or `last`.")
    var id: String

    @Flag(help: "Print the run's log after the steps.")
    var log = false

    func run() async throws {
        let store = try Toolbox().openStore()
        let record: RunRecord?
        do { record = try store.run(matching: id) } catch { throw InvalidInput("\(error)") }
        guard let run = record else { throw InvalidInput("no run '\(id)' (see `runner runs`)") }
        var out = "run       \(run.id)\npipeline  \(run.pipeline) (\(run.file))\nstatus    \(run.status)\n"
        out += "trigger   \(run.trigger)\nstarted   \(Timestamp.iso8601(run.startedAt))\n"
        if let finished = run.finishedAt {
            out += "finished  \(Timestamp.iso8601(finished)) (\(DurationParser.format(.milliseconds(Int64(finished.timeIntervalSince(run.startedAt) * 1000)))))\n"
        }
        out += "params    \(run.params)\n"
        if let error = run.error { out += "error     \(error)\n" }
        let steps = try store.steps(runID: run.id)
        if !steps.isEmpty {
            var rows = [["#", "STEP", "HOST", "STATUS", "DURATION", "EXIT"]]
            for s in steps {
                rows.append([String(s.seq), s.name, s.host ?? "local", s.status,
                             DurationParser.format(.milliseconds(Int64(s.finishedAt.timeIntervalSince(s.startedAt) * 1000))),
                             s.exitCode.map(String.init) ?? ""])
            }
            out += "\n" + Table.render(rows)
            for s in steps where s.outputs != "{}" || s.error != nil {
                out += "\n\(s.seq). \(s.name)\n"
                if let error = s.error { out += "   error: \(error)\n" }
                if s.outputs != "{}" { out += "   outputs: \(s.outputs)\n" }
            }
        }
        if log {
            out += "\nlog:\n"
            for line in try store.logs(runID: run.id) {
                let who = [line.step, line.host].compactMap { $0 }.joined(separator: "@")
                out += "\(Timestamp.iso8601(line.ts)) \(line.level.uppercased().padding(5)) \(who.isEmpty ? "" : "[\(who)] ")\(line.message)\n"
            }
        }
        FileOutput.stdout.write(out)
    }
}

enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = (0..<first.count).map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(widths[i]) }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
