import Foundation
import RunnerCore
import RunnerLua
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
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        var out: [(String, String, Int)] = []
        var current: (String, [String], Int)?
        for (i, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if let c = current {
                    out.append((c.0, c.1.joined(separator: "\n") + "\n", c.2))
                    current = nil
                } else {
                    current = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), [], i + 1)
                }
            } else if current != nil {
                current!.1.append(line)
            }
        }
        return out
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
            switch block.info {
            case "yaml", "yaml run":
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
