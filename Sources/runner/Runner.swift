import ArgumentParser
import Foundation
import RunnerCore

@main
struct Runner: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Run YAML automation pipelines: deploys, backups, rollbacks.",
        discussion: """
            Pipelines are YAML files (see docs/pipelines.md). A name such as `deploy` is looked up as \
            ./deploy.yml, then pipelines/deploy.yml.

            Exit codes: 0 success, 1 the pipeline ran and failed, 2 invalid input or a run that \
            cannot start (nothing ran), 75 the lock is held with --no-wait (nothing ran), 130 cancelled.

            Run history lives in $RUNNER_STATE_DIR (default ~/.local/state/runner).
            """,
        version: version,
        subcommands: [Run.self, Validate.self, Plan.self, List.self, Plugins.self, Runs.self, Show.self, Schema.self, Init.self]
    )

    /// `runner valdate`: a first word that is no subcommand, with the closest one. (The root
    /// command takes no arguments, so such a word can only be a misspelt subcommand.)
    static func unknownSubcommand(in arguments: [String]) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        guard !names.contains(word) else { return nil }
        return "unknown command '\(word)'\(Suggestion.hint(for: word, in: names)); the commands are \(names.dropLast().joined(separator: ", ")) (runner --help)"
    }

    /// ArgumentParser exits 64 on usage errors; runner's contract says 2 for any invalid input.
    static func main() async {
        // A closed output pipe (`runner … | head`) must not kill a run half-way: writes just fail.
        signal(SIGPIPE, SIG_IGN)
        if let unknown = unknownSubcommand(in: Array(CommandLine.arguments.dropFirst())) {
            FileOutput.stderr.write("error: \(TerminalText.visible(unknown))\n")
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let invalid as InvalidInput {
            FileOutput.stderr.write(invalid.description.split(separator: "\n").map { "error: \(TerminalText.visible(String($0)))\n" }.joined())
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileOutput.stderr.write(TerminalText.visibleLines(fullMessage(for: error)) + "\n")
                Foundation.exit(2)
            }
            guard code == .success || error is ExitCode else {
                // Usage errors echo what was typed: shown escaped, like everything else printed.
                FileOutput.stderr.write(TerminalText.visibleLines(fullMessage(for: error)) + "\n")
                Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
            }
            exit(withError: error)
        }
    }
}
