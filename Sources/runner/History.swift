import ArgumentParser
import Foundation
import RunnerCore

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List past runs, newest first.",
        discussion: """
            Example: runner runs --pipeline deploy --limit 5

            Reading history needs no write access to the state directory.
            """,
        subcommands: [Prune.self]
    )

    @Option(help: "Only runs of this pipeline (its name).")
    var pipeline: String?

    @Option(help: "How many runs to show.")
    var limit: Int = 20

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let none = pipeline.map { "no runs of \($0) yet\n" } ?? "no runs yet\n"
        guard let store = try StoreSettings().openForReading() else { return FileOutput.stdout.write(none) }
        let runs = try store.runs(pipeline: pipeline, limit: limit)
        guard !runs.isEmpty else { return FileOutput.stdout.write(none) }
        var rows = [["RUN", "PIPELINE", "STATUS", "STARTED", "DURATION", "TRIGGER"]]
        for run in runs {
            let duration = run.finishedAt.map { DurationParser.format(.milliseconds(Int64($0.timeIntervalSince(run.startedAt) * 1000))) } ?? "-"
            rows.append([run.id, run.pipeline, run.status, Timestamp.iso8601(run.startedAt), duration, run.trigger].map(TerminalText.visible))
        }
        FileOutput.stdout.write(Table.render(rows))
    }
}

extension Runs {
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete old runs (their steps and logs too) from the run store.",
            discussion: """
                Deletes every run that started more than --older-than ago; a run still marked \
                running is kept for a day. Then compacts the database file, so the space returns \
                to the file system.

                `runner run` also deletes runs older than $RUNNER_RETENTION (default 90d; `off` keeps \
                everything) after each run, without compacting.

                Examples:
                  runner runs prune --older-than 30d
                  runner runs prune --older-than 12h
                """
        )

        @Option(help: ArgumentHelp("Age of the runs to delete: 30d, 12h, 90m.", valueName: "duration"))
        var olderThan: String

        func validate() throws {
            guard let age = DurationParser.parse(olderThan), age > .zero else {
                throw ValidationError("--older-than: '\(olderThan)' is not a duration (write 30d, 12h or 90m)")
            }
        }

        func run() async throws {
            let age = DurationParser.parse(olderThan)!
            let settings = try StoreSettings()
            guard RunStore.exists(in: settings.directory) else { return FileOutput.stdout.write("no runs yet\n") }
            let store = try settings.openForWriting()
            let before = store.fileSize
            let deleted = try store.prune(startedBefore: Date().addingTimeInterval(-age.seconds))
            if deleted > 0 { try store.vacuum() }
            let freed = max(0, before - store.fileSize)
            FileOutput.stdout.write("deleted \(deleted) run\(deleted == 1 ? "" : "s") older than \(olderThan)"
                                    + (deleted > 0 ? " (\(ByteCount.format(freed)) freed)" : "") + "\n")
        }
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
        let store = try StoreSettings().openForReading()
        let record: RunRecord?
        do { record = try store?.run(matching: id) } catch { throw InvalidInput("\(error)") }
        guard let store, let run = record else { throw InvalidInput("no run '\(id)' (see `runner runs`)") }
        func visible(_ text: String) -> String { TerminalText.visible(text) }
        var out = "run       \(run.id)\npipeline  \(visible(run.pipeline)) (\(visible(run.file)))\nstatus    \(run.status)\n"
        out += "trigger   \(visible(run.trigger))\nstarted   \(Timestamp.iso8601(run.startedAt))\n"
        if let finished = run.finishedAt {
            out += "finished  \(Timestamp.iso8601(finished)) (\(DurationParser.format(.milliseconds(Int64(finished.timeIntervalSince(run.startedAt) * 1000)))))\n"
        }
        out += "params    \(visible(run.params))\n"
        if let error = run.error { out += "error     \(visible(error))\n" }
        let steps = try store.steps(runID: run.id)
        if !steps.isEmpty {
            var rows = [["#", "STEP", "HOST", "STATUS", "DURATION", "EXIT"]]
            for s in steps {
                rows.append([String(s.seq), visible(s.name), visible(s.host ?? "local"), s.status,
                             DurationParser.format(.milliseconds(Int64(s.finishedAt.timeIntervalSince(s.startedAt) * 1000))),
                             s.exitCode.map(String.init) ?? ""])
            }
            out += "\n" + Table.render(rows)
            for s in steps where s.outputs != "{}" || s.error != nil {
                out += "\n\(s.seq). \(visible(s.name))\n"
                if let error = s.error { out += "   error: \(visible(error))\n" }
                if s.outputs != "{}" { out += "   outputs: \(visible(s.outputs))\n" }
            }
        }
        FileOutput.stdout.write(out)
        if log { try printLog(store, runID: run.id) }
    }

    /// The log, read and written a line at a time; the pieces of a long line are joined.
    private func printLog(_ store: RunStore, runID: String) throws {
        struct Key: Hashable { var step: String?, host: String?, stream: String? }
        var joiner = LineJoiner<Key>()
        var buffer = "\nlog:\n"
        func emit(_ line: LogRecord, _ text: String) {
            let who = [line.step, line.host].compactMap { $0 }.joined(separator: "@")
            buffer += "\(Timestamp.iso8601(line.ts)) \(line.level.uppercased().padding(5)) "
                + "\(who.isEmpty ? "" : "[\(TerminalText.visible(who))] ")\(TerminalText.visible(text))\n"
            if buffer.utf8.count >= 1 << 16 {
                FileOutput.stdout.write(buffer)
                buffer = ""
            }
        }
        var last: [Key: LogRecord] = [:]
        try store.forEachLog(runID: runID) { line in
            let key = Key(step: line.step, host: line.host, stream: line.stream)
            guard let whole = joiner.add(line.message, continues: line.continues, for: key) else {
                last[key] = line
                return
            }
            emit(line, whole.text)
        }
        // Lines whose last piece was not stored (the log budget ran out in mid-line).
        for (key, open) in joiner.closeAll() { if let line = last[key] { emit(line, open.text) } }
        FileOutput.stdout.write(buffer)
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
