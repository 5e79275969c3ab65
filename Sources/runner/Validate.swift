import ArgumentParser
import Foundation
import RunnerCore

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pipelines without running anything.",
        discussion: """
            Parses each file, checks it against the pipeline schema and every plugin's parameters, compiles
            every Lua expression and checks that hosts in `on:` exist. Names are checked too, with a
            suggestion: unknown globals (${{ parms.app }}), undeclared params, steps.<id> that no step
            has or that has not run yet where it is read, one host's outputs of a step on a group,
            and `uses: pipeline` naming no file. Each ${{ }} in `run:` is checked
            against the shell grammar: where the shell would read the value as code (arithmetic, [[ ]],
            single quotes, sh -c, eval, ssh, quoted heredocs...) it is refused with the safe form
            (the step's env: and "$NAME" in the script). A directory checks every .yml/.yaml
            file in it (inventory.yml excepted). Problems are printed as file:line:column: message; exit 2 if any.

            Examples:
              runner validate pipelines/
              runner validate deploy.yml backup.yml
            """
    )

    @Argument(help: "Pipeline files, names or directories.")
    var paths: [String] = ["pipelines"]

    @Option(help: "Inventory file to check host names against.")
    var inventory: String?

    func run() async throws {
        if paths == ["pipelines"], !FileManager.default.fileExists(atPath: "pipelines") {
            throw InvalidInput("""
                no pipelines/ directory in \(FileManager.default.currentDirectoryPath) (where `runner validate` \
                looks without arguments): pass the pipeline files or their directory, e.g. \
                `runner validate deploy.yml` or `runner validate path/to/pipelines`
                """)
        }
        var files: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.filter { ($0.hasSuffix(".yml") || $0.hasSuffix(".yaml")) && !$0.hasPrefix("inventory.") }
                    .sorted().map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
            } else {
                files.append(try Toolbox.locate(path))
            }
        }
        var problems: [Diagnostic] = []
        for file in files {
            do {
                let toolbox = try Toolbox(pipelineDirectory: Paths.directory(of: file))
                _ = try toolbox.loader(inventory: inventory).load(path: file)
                FileOutput.stdout.write("ok  \(file)\n")
            } catch let invalid as InvalidInput {
                problems += invalid.diagnostics
            }
        }
        if !problems.isEmpty {
            let s = problems.count == 1 ? "" : "s"
            FileOutput.stderr.write(TerminalText.visibleLines(problems.map { "\($0)\n" }.joined()) + "\(problems.count) problem\(s) found\n")
            throw ExitCode(2)
        }
    }
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a run would do: params, vars, steps and the hosts each touches. Runs nothing.",
        discussion: """
            Example:
              runner plan deploy app=phone
            Commands and plugin `with:` values are shown with params, vars and host labels
            substituted, commands written for where they stand; values that depend on earlier
            steps' outputs, on secrets or on `item` are shown as written. Secrets are masked:
            secret params, plugin parameters marked secret (shown as ***), and the values given to
            them wherever else they appear.
            """
    )

    @Argument(help: "Pipeline file, or a name looked up in ./pipelines/.")
    var pipeline: String

    @Argument(help: "Params as key=value.")
    var params: [String] = []

    @Option(help: "Inventory file (replaces the pipeline's own).")
    var inventory: String?

    func run() async throws {
        let (toolbox, path) = try Toolbox.locating(self.pipeline)
        let (pipeline, resolved) = try toolbox.load(path: path, params: params, inventory: inventory)
        FileOutput.stdout.write(TerminalText.visibleLines(await toolbox.plan(pipeline, params: resolved)))
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the pipelines in a directory (default ./pipelines) with their params.",
        discussion: """
            Each pipeline is listed by the name `runner run`, `plan`, `validate` and `uses: pipeline` take: \
            its file name without .yml. When its `name:` (what `runner runs` and history show) differs, \
            the line says so.
            """
    )

    @Argument(help: "Directory to look in.")
    var directory: String = "pipelines"

    func run() async throws {
        let toolbox = try Toolbox(pipelineDirectory: directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw InvalidInput("no directory \(directory) in \(FileManager.default.currentDirectoryPath): "
                + "pass the directory holding the pipelines, e.g. `runner list path/to/pipelines`")
        }
        var out = ""
        for name in names.sorted() where (name.hasSuffix(".yml") || name.hasSuffix(".yaml")) && !name.hasPrefix("inventory.") {
            let path = directory + "/" + name
            do {
                let p = try toolbox.loader().load(path: path)
                // The name to type (`runner run deploy`); `name:` (what run history shows) when it differs.
                let reference = String(name[..<name.lastIndex(of: ".")!])
                out += "\(reference)  (\(path)\(p.name == reference ? "" : ", name: \(p.name)"))\n"
                if let d = p.description { out += "  \(d)\n" }
                for param in p.params {
                    var facts = [param.type.description]
                    if param.required { facts.append("required") }
                    if let d = param.defaultValue { facts.append("default \(d.interpolated)") }
                    out += "  \(param.name) (\(facts.joined(separator: ", ")))" + (param.description.map { ": \($0)" } ?? "") + "\n"
                }
            } catch {
                out += "\(name)  (\(path)): invalid, see `runner validate \(path)`\n"
            }
        }
        FileOutput.stdout.write(out.isEmpty ? "no pipelines in \(directory)\n" : out)
    }
}

struct Schema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of the pipeline format (for editors: yaml-language-server).",
        discussion: "Example: runner schema > .vscode/runner.schema.json"
    )

    func run() async throws {
        let toolbox = try Toolbox(pipelineDirectory: "pipelines")
        FileOutput.stdout.write(PipelineSchema.jsonSchema(plugins: toolbox.plugins) + "\n")
    }
}
