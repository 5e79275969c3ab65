import Foundation
import Testing

/// `runner run deploy.yml app=phone` as users type it: a pipeline named by a path relative to the
/// working directory, or by a bare name (with or without `.yml`) resolved in `pipelines/`, is the
/// same pipeline in `run`, `plan` and `validate`, with the Lua plugins of the repository layout
/// (`plugins/` beside `pipelines/`) however it was named.
@Suite(.serialized) struct PipelineReferenceCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The repository's pipelines (inventory.yml is not one).
    static var repositoryPipelines: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/pipelines")) ?? [])
            .filter { $0.hasSuffix(".yml") && $0 != "inventory.yml" }.sorted()
    }

    /// The runner started in `cwd` (relative to the CLI's directory).
    static func run(_ cli: CLI, in cwd: String, _ args: [String]) throws -> CLI.Result {
        try cli.run(["-c", "cd \"$1\" && shift && exec \"$0\" \"$@\"", CLI.binary, cwd] + args, executable: "/bin/sh")
    }

    /// A project laid out as the repository is: a pipeline in pipelines/ that uses a Lua plugin
    /// from plugins/ and appends a line to the file `ran` in every run.
    static func project() -> CLI {
        let cli = CLI()
        cli.write("plugins/stamp.lua", """
            return {
              name = "stamp",
              description = "Returns the line to record",
              params = { line = { type = "string", required = true } },
              run = function(with, ctx) return { line = "stamped " .. with.line } end,
            }
            """)
        cli.write("pipelines/release.yml", """
            name: release
            params:
              app: { required: true, pattern: '^[a-z]+$' }
            steps:
              - id: stamp
                uses: stamp
                with: { line: "${{ params.app }}" }
              - env: { LINE: "${{ steps.stamp.outputs.line }}", FILE: "\(cli.dir)/ran" }
                run: printf '%s\\n' "$LINE" >> "$FILE"
            """)
        return cli
    }

    @Test func pathAndBareNameAreTheSamePipelineInRunPlanAndValidate() throws {
        let cli = Self.project()
        let absolute = cli.dir + "/pipelines/release.yml"
        // (working directory, reference, the path runner reports)
        let forms = [(".", "release", "pipelines/release.yml"), (".", "release.yml", "pipelines/release.yml"),
                     (".", "pipelines/release.yml", "pipelines/release.yml"), (".", "./pipelines/release.yml", "./pipelines/release.yml"),
                     (".", absolute, absolute), ("pipelines", "release.yml", "release.yml"), ("pipelines", "release", "release.yml")]
        for (n, (cwd, reference, reported)) in forms.enumerated() {
            let what = "\(reference) in \(cwd)"
            let validate = try Self.run(cli, in: cwd, ["validate", reference])
            #expect(validate.status == 0, "\(what): \(validate.stderr)")
            #expect(validate.stdout.contains("ok  \(reported)"), "\(what): \(validate.stdout)")

            let plan = try Self.run(cli, in: cwd, ["plan", reference, "app=phone"])
            #expect(plan.status == 0, "\(what): \(plan.stderr)")
            #expect(plan.stdout.contains("pipeline release (\(reported))"), "\(what): \(plan.stdout)")

            let app = String(repeating: "x", count: n + 1)
            let run = try Self.run(cli, in: cwd, ["run", reference, "app=\(app)"])
            #expect(run.status == 0, "\(what): \(run.stdout)\(run.stderr)")
            #expect(cli.read("ran")?.split(separator: "\n").last.map(String.init) == "stamped " + app, "\(what): \(cli.read("ran") ?? "nothing ran")")
        }
        #expect(cli.read("ran")?.split(separator: "\n").count == forms.count)
    }

    @Test func aNameThatIsNoPipelineExits2AndSaysWhereItLooked() throws {
        let cli = Self.project()
        for command in [["validate", "relase.yml"], ["plan", "relase", "app=phone"], ["run", "relase", "app=phone"]] {
            let r = try cli.run(command)
            #expect(r.status == 2, "\(command): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("no pipeline '\(command[1])'"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("(did you mean 'release'?)"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("(looked for"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("pipelines/relase.yml"), "\(command): \(r.stderr)")
        }
        #expect(cli.read("ran") == nil)
    }

    /// Every file in the repository's pipelines/, copied with plugins/ into a project: its bare
    /// name, its name with `.yml` and its path give the same answer from `validate`, `plan` and
    /// `run --dry-run` (missing required params are the same error in all three forms; a pipeline
    /// not found would say `no pipeline`), and it validates from inside pipelines/ too.
    @Test(arguments: repositoryPipelines)
    func repositoryPipelineByPathOrName(_ file: String) throws {
        let cli = CLI()
        for dir in ["pipelines", "plugins"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: Self.root + "/" + dir)) ?? [] {
                let text = try String(contentsOfFile: Self.root + "/\(dir)/\(name)", encoding: .utf8)
                cli.write("\(dir)/\(name)", text)
            }
        }
        let name = String(file.dropLast(4))
        let references = [name, file, "pipelines/\(file)"]
        for command in [["validate"], ["plan"], ["run", "--dry-run"]] {
            let results = try references.map { reference in
                try cli.run([command[0], reference] + command.dropFirst())
            }
            for (reference, r) in zip(references, results) {
                #expect(!r.stderr.contains("no pipeline"), "\(command) \(reference): \(r.stderr)")
                #expect(r.status == results[0].status && r.stdout == results[0].stdout && r.stderr == results[0].stderr,
                        "\(command) \(reference) differs from \(references[0]): \(r.stdout)\(r.stderr)")
            }
            if command == ["validate"] {
                #expect(results[0].status == 0, "\(results[0].stderr)")
                #expect(results[0].stdout.contains("ok  pipelines/\(file)"), "\(results[0].stdout)")
            }
        }
        let inside = try Self.run(cli, in: "pipelines", ["validate", file])
        #expect(inside.status == 0, "validate \(file) in pipelines/: \(inside.stderr)")
    }
}
