import ArgumentParser
import RunnerCore

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List plugins and their parameters.",
        discussion: """
            Lua plugins are found in plugins/ beside the pipeline directory (./pipelines/../plugins),
            in ./pipelines/plugins, and in each directory of RUNNER_PLUGIN_PATH (colon-separated).

            Examples:
              runner plugins              every plugin, one line each
              runner plugins pipeline     one plugin's parameters and outputs
              runner plugins --markdown   a reference page (docs/plugins.md is generated this way)
            """
    )

    @Argument(help: "A plugin name.")
    var name: String?

    @Flag(help: "Render Markdown reference documentation.")
    var markdown = false

    func run() async throws {
        let toolbox = try Toolbox(pipelineDirectory: "pipelines")
        var plugins = toolbox.plugins.names.compactMap { toolbox.plugins[$0] }
        if let name {
            guard let plugin = toolbox.plugins[name] else {
                throw InvalidInput(toolbox.plugins.unknown(name))
            }
            plugins = [plugin]
        }
        if markdown {
            FileOutput.stdout.write(PluginDocs.markdown(plugins))
        } else if name != nil {
            FileOutput.stdout.write(PluginDocs.text(plugins[0]))
        } else {
            let width = plugins.map(\.name.count).max() ?? 0
            for p in plugins {
                FileOutput.stdout.write(p.name + String(repeating: " ", count: width - p.name.count + 2) + p.summary + "\n")
            }
        }
    }
}
