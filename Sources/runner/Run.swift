import ArgumentParser
import Foundation
import Synchronization
import RunnerCore

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline.",
        discussion: """
            Examples:
              runner run deploy app=phone
              runner run pipelines/backup.yml --output json
              runner run deploy app=phone ref=v1.2.0 --dry-run

            The file is validated first; any problem is reported with file:line:column and nothing \
            runs (exit 2).

            A run that cannot start (a secret that cannot be had, a var that fails, a missing \
            sudo_password or identity_passphrase secret of a host a step uses) prints one error \
            line and exits 2: nothing ran. With --no-wait, a held lock exits 75 (EX_TEMPFAIL: \
            busy, try again later).

            Ctrl-C (or SIGTERM) cancels running steps, runs `finally`, and exits 130; a second \
            Ctrl-C exits at once.

            Nothing a run starts locally outlives it: processes its steps left in the background \
            are stopped when it ends. A `concurrency:` lock stays held while any process of its \
            run still runs, even after `kill -9` of runner; --no-wait then names those processes.

            Steps with `on:` run on inventory hosts over SSH: one connection per host for the \
            whole run, host keys checked against known_hosts, ~/.ssh/config honoured \
            (docs/ssh.md).
            """
    )

    @Argument(help: "Pipeline file, or a name looked up in ./pipelines/.")
    var pipeline: String

    @Argument(help: "Params as key=value (repeatable).")
    var params: [String] = []

    @Option(help: "Inventory file of SSH hosts and groups (replaces the pipeline's own).")
    var inventory: String?

    @Option(help: "text (default) or json (one JSON object per event and line).")
    var output: OutputFormat = .text

    @Flag(help: "Validate and show the plan; run nothing.")
    var dryRun = false

    @Flag(help: "Exit at once (75, nothing ran) when the pipeline's concurrency lock is held, instead of waiting.")
    var noWait = false

    @Option(help: "Run steps with `on:` only on these hosts or groups (comma-separated); local steps still run.")
    var limit: String?

    func run() async throws {
        let (toolbox, path) = try Toolbox.locating(self.pipeline)
        let (pipeline, resolved) = try toolbox.load(path: path, params: params, inventory: inventory)
        let limitNames = limit.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        for name in limitNames ?? [] where pipeline.inventory.resolve(name) == nil {
            throw InvalidInput("--limit: no host or group '\(name)'\(Suggestion.hint(for: name, in: pipeline.inventory.names))")
        }
        if dryRun {
            FileOutput.stdout.write(TerminalText.visibleLines(await toolbox.plan(pipeline, params: resolved, limit: limitNames)))
            return
        }
        let settings = try StoreSettings(environment: toolbox.environment)
        let store = try settings.openForWriting()
        let runID = RunID.generate().description
        let sink: any EventSink = switch output {
        case .text: ConsoleSink(style: .detect(.stdout, environment: toolbox.environment))
        case .json: JSONLinesSink()
        }
        let engine = toolbox.engine()
        let options = Engine.Options(runID: runID, trigger: "cli", noWait: noWait, limit: limitNames, history: store)
        // Signals are caught before the run starts: under load the first step can be running
        // before a handler installed afterwards exists, and Ctrl-C would kill runner outright.
        // (task, cancel requested): a signal before the task exists cancels it when it does.
        let running = Mutex<(Task<Engine.Outcome, Never>?, Bool)>((nil, false))
        let signals = SignalHandler { count in
            if count == 1 {
                FileOutput.stderr.write("\ncancelling: stopping running steps, then running 'finally' (Ctrl-C again to exit at once)\n")
                running.withLock { state in state.1 = true; return state.0 }?.cancel()
            } else {
                let killed = LocalTarget.killAllProcessGroups()
                try? store.finishRun(id: runID, status: RunStatus.cancelled.rawValue, error: "interrupted twice: exited at once, 'finally' did not complete")
                FileOutput.stderr.write("exiting at once (killed \(killed) running command\(killed == 1 ? "" : "s"))\n")
                Foundation.exit(130)
            }
        }
        let task = Task {
            await engine.run(pipeline, params: resolved, options: options, sinks: [sink, StoreSink(store: store, limits: settings.limits)])
        }
        if running.withLock({ state in state.0 = task; return state.1 }) { task.cancel() }
        let outcome = await task.value
        signals.stop()
        settings.applyRetention(store)
        // The store stays open until the process exits: closing the last connection checkpoints
        // the WAL (two fsyncs) on the way out; the next open does that work instead, safely.
        _ = Unmanaged.passRetained(store)
        if let notStarted = outcome.notStarted {
            // Nothing ran and nothing was recorded: one line saying why, not an empty summary.
            let why = TerminalText.visible(outcome.error ?? "the run could not start")
            let busy = notStarted == .lockHeld ? "; try again once it is released (exit 75)" : ""
            FileOutput.stderr.write("error: \(why); nothing ran\(busy)\n")
        }
        throw ExitCode(outcome.exitCode)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
