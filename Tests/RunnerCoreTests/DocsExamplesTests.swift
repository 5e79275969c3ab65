import Foundation
import RunnerCore
import RunnerLua
import RunnerTestSupport
import Testing

/// Every file in pipelines/ and every example in docs/ is loaded and validated.
@Suite struct DocsExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var pipelineFiles: [String] {
        let dir = root + "/pipelines"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".yml") && $0 != "inventory.yml" }.sorted().map { dir + "/" + $0 }
    }

    /// Fenced blocks of a Markdown file: (info string, text, line of the fence).
    static func blocks(in file: String) -> [(info: String, text: String, line: Int)] {
        MarkdownBlock.all(in: file).map { ($0.info, $0.text, $0.line) }
    }

    /// What a YAML block's info string says it is. Every ```yaml block is one of these: an
    /// unknown kind is an error, so no example is skipped by accident.
    /// - `yaml`: a pipeline, validated; `yaml run`: validated and run (it must succeed);
    /// - `yaml recipe`: validated here and run against real containers by `DocsRecipeTests`;
    /// - `yaml inventory`: an inventory, loaded;
    /// - `yaml fragment`: part of a file, shown for one key; `yaml hook`: a `runner serve` hook
    ///   (not loadable until the server exists); `yaml file=<name>`: a file of a tutorial
    ///   (docs/first-deploy.md), written and run by the tutorial's own end-to-end script
    ///   (scripts/sandbox/first-deploy-test.sh). These must at least be well-formed YAML.
    static let yamlKinds = ["yaml", "yaml run", "yaml recipe", "yaml inventory", "yaml fragment", "yaml hook"]

    /// A block's kind: its info string, with a `file=` attribute standing for any file name.
    static func kind(_ info: String) -> String {
        info.hasPrefix("yaml file=") ? "yaml file=" : info
    }

    static var docFiles: [String] {
        let dir = root + "/docs"
        let names = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? []
        return names.filter { $0.hasSuffix(".md") }.sorted().map { dir + "/" + $0 } + [root + "/README.md"]
    }

    @Test func thereAreExamples() {
        #expect(!Self.pipelineFiles.isEmpty)
        #expect(Self.docFiles.flatMap { Self.blocks(in: $0) }.filter { $0.info == "yaml" }.count >= 8)
    }

    /// With the repository's Lua plugins (plugins/), which the pipelines use (deploy: app_json, gchat).
    @Test(arguments: pipelineFiles)
    func pipelineValidates(_ path: String) throws {
        let luaPlugins = try LuaPluginLoader.discover(in: [Self.root + "/plugins"])
        _ = try Harness.loader(luaPlugins).load(path: path)
    }

    /// Lua plugins written in the docs (```lua plugin blocks), as files in `dir`/plugins.
    static func docPlugins(in file: String, dir: TempDir) -> [String] {
        blocks(in: file).filter { $0.info == "lua plugin" }.map { block in
            let name = block.text.firstMatch(of: /name = "([a-z_]+)"/)?.1 ?? "unnamed"
            return dir.write("plugins/\(name).lua", block.text)
        }
    }

    @Test(arguments: docFiles)
    func docExamplesValidate(_ file: String) async throws {
        let pluginsDir = TempDir()
        _ = Self.docPlugins(in: file, dir: pluginsDir)
        let luaPlugins = try LuaPluginLoader.discover(in: [Self.root + "/plugins", pluginsDir.path + "/plugins"])
        for block in Self.blocks(in: file) {
            let dir = TempDir()
            let where_ = "\(file):\(block.line)"
            if block.info.hasPrefix("yaml"), !(Self.yamlKinds + ["yaml file="]).contains(Self.kind(block.info)) {
                Issue.record("\(where_): unknown kind of YAML block '\(block.info)' (one of: \(Self.yamlKinds.joined(separator: ", ")))")
            }
            switch Self.kind(block.info) {
            case "yaml fragment", "yaml hook", "yaml file=":
                do { _ = try YAMLParser.parse(Array(block.text.utf8), file: where_) } catch {
                    Issue.record("\(where_): \(error.description)")
                }
            case "yaml", "yaml run", "yaml recipe":
                let path = dir.write("example.yml", block.text)
                do { _ = try Harness.loader(luaPlugins).load(path: path) } catch {
                    Issue.record("\(where_): \(error.description)")
                    continue
                }
                if block.info == "yaml run" {
                    let result = try await Harness.run(block.text, dir: dir, luaPluginDirectories: [Self.root + "/plugins", pluginsDir.path + "/plugins"])
                    #expect(result.outcome.status == .succeeded, "\(where_): \(result.sink.transcript)")
                }
            case "yaml inventory":
                let path = dir.write("inventory.yml", block.text)
                do { _ = try InventoryLoader.load(path: path) } catch {
                    Issue.record("\(where_): \(error.description)")
                }
            default:
                continue
            }
        }
    }
}
