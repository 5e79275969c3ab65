import Foundation
import RunnerCore

/// One step's nginx: on the host, or inside a container through `docker exec`.
struct NginxCLI {
    let context: StepContext
    /// The program (`nginx`, or a path when the host's PATH lacks /usr/sbin).
    let binary: String
    /// The main configuration file (`-c`); nil for nginx's compiled-in default.
    let config: String?
    /// Run nginx as `docker exec <container> nginx …` (the proxy-in-a-container setup).
    let container: String?

    static let timeout: Duration = .seconds(60)

    func argv(_ arguments: [String]) -> [String] {
        Self.argv(arguments, binary: binary, config: config, container: container)
    }

    /// The full argv for nginx with `arguments`. Pure: runs nothing.
    static func argv(_ arguments: [String], binary: String, config: String?, container: String?) -> [String] {
        let nginx = [binary] + (config.map { ["-c", $0] } ?? []) + arguments
        return container.map { ["docker", "exec", "--", $0] + nginx } ?? nginx
    }

    /// Runs nginx; throws a `StepFailure` saying so when nginx could not run at all (not
    /// installed or not in PATH, sudo refused), so that is never reported as a configuration problem.
    func run(_ arguments: [String]) async throws -> CommandResult {
        let command = Command(.argv(argv(arguments)), environment: context.environment,
                              workingDirectory: context.workingDirectory, timeout: Self.timeout)
        let shown = (["nginx"] + arguments).joined(separator: " ")
        let result: CommandResult
        do {
            result = try await context.target.run(command) { _ in }
        } catch let error as TargetError where error.message.hasPrefix("cannot run '\(binary)'")
                    && (error.message.contains("not found in PATH") || error.message.contains("No such file")) {
            throw StepFailure(notInstalled(shown, detail: error.message))
        }
        guard !result.succeeded else { return result }
        let detail = DockerCLI.lastWords(result)
        if Self.programMissing(result, binary: binary) { throw StepFailure(notInstalled(shown, detail: detail)) }
        if result.hint != nil { throw StepFailure("\(shown) could not run on \(where_): sudo refused: \(detail)") }
        return result
    }

    private func notInstalled(_ shown: String, detail: String) -> String {
        "\(shown) could not run on \(where_): no program '\(binary)' there (\(detail)). Is nginx installed? "
            + "When it is installed outside the PATH, give its path in the plugin's `binary:` parameter (e.g. binary: /usr/sbin/nginx)"
    }

    /// The shell, sudo or docker exec reporting that the program does not exist.
    static func programMissing(_ result: CommandResult, binary: String) -> Bool {
        let text = result.stderr
        return result.exitCode == 127
            || ["\(binary): command not found", "\(binary): not found", "\(binary): No such file or directory",
                "executable file not found", "no such file or directory: unknown"].contains { text.contains($0) }
    }

    /// `nginx -t`: the configuration's problems, translated (nil when it is valid). Warnings are logged.
    func test() async throws -> NginxProblem? {
        let result = try await run(["-t"])
        let messages = NginxMessage.parse(result.stderr + "\n" + result.stdout)
        for warning in messages where warning.level == "warn" { context.log("nginx: \(try await hostView(warning).text)", level: .warn) }
        if result.succeeded { return nil }
        if result.timedOut { return NginxProblem(message: nil, text: "nginx -t timed out after \(DurationParser.format(Self.timeout))") }
        guard let first = messages.first(where: { $0.level != "warn" }) else {
            let detail = DockerCLI.lastWords(result)
            return NginxProblem(message: nil, text: "nginx -t \(result.failureReason)\(detail.isEmpty ? "" : ": " + detail)")
        }
        let shown = try await hostView(first)
        // Not the configuration's fault: nginx -t opens the logs and pid file of the running nginx.
        let rights = first.message.contains("Permission denied") && container == nil
            ? " (nginx -t needs the rights of the nginx that runs, usually root's: give the step `sudo: true`)" : ""
        return NginxProblem(message: shown, text: shown.text + rights)
    }

    /// `nginx -s reload`, after which the master re-reads the configuration.
    func reload() async throws {
        let result = try await run(["-s", "reload"])
        guard result.succeeded else {
            let detail = DockerCLI.lastWords(result)
            let hint = detail.contains("PID") || detail.contains(".pid") ? " (is nginx running with this configuration?)" : ""
            throw StepFailure("nginx reload on \(where_) failed (\(result.failureReason))\(hint): \(detail)")
        }
        context.log("reloaded nginx on \(where_)")
    }

    var where_: String { container.map { "\(context.target.name), container \($0)" } ?? context.target.name }

    /// For nginx in a container, a message's file as the host sees it (through the bind mounts),
    /// so the error names the file users edit.
    private func hostView(_ message: NginxMessage) async throws -> NginxMessage {
        guard let container, let file = message.file else { return message }
        let result = try await context.target.run(Command(.argv(["docker", "inspect", "--type", "container", "--format", "{{json .Mounts}}", "--", container]),
                                                          environment: context.environment, timeout: Self.timeout)) { _ in }
        guard result.succeeded, let mounts = (try? JSON.decode(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))?.listValue,
              let host = Self.hostPath(file, mounts: mounts.compactMap(\.mapValue)) else { return message }
        var shown = message
        shown.file = host
        shown.containerFile = file
        return shown
    }

    /// Maps a path inside a container to the host through the deepest mount that holds it.
    static func hostPath(_ path: String, mounts: [[String: Value]]) -> String? {
        let candidates = mounts.compactMap { mount -> (String, String)? in
            guard let source = mount["Source"]?.stringValue, let destination = mount["Destination"]?.stringValue else { return nil }
            return (source, destination)
        }
        let best = candidates.filter { path == $0.1 || path.hasPrefix($0.1.hasSuffix("/") ? $0.1 : $0.1 + "/") }
            .max { $0.1.count < $1.1.count }
        guard let (source, destination) = best else { return nil }
        return source + path.dropFirst(destination.count)
    }
}

/// A failed configuration test: the translated message, and the text for the step's error.
struct NginxProblem: Sendable {
    var message: NginxMessage?
    var text: String

    var outputs: [String: Value] {
        var out: [String: Value] = ["message": .string(message?.message ?? text)]
        if let file = message?.file { out["file"] = .string(file) }
        if let line = message?.line { out["line"] = .int(line) }
        return out
    }
}

/// One line of nginx's diagnostics: `nginx: [emerg] unknown directive "foo" in /etc/nginx/conf.d/a.conf:3`,
/// or the error-log form `2026/11/22 08:18:12 [emerg] 10348#10348: …` (a configuration logging to stderr).
struct NginxMessage: Sendable, Hashable {
    var level: String
    var message: String
    var file: String?
    var line: Int?
    /// The file's path inside the container, when `file` was mapped to the host.
    var containerFile: String?

    /// `/etc/nginx/conf.d/a.conf:3: unknown directive "foo"`.
    var text: String {
        guard let file else { return message }
        let location = line.map { "\(file):\($0)" } ?? file
        let inside = containerFile.map { " (in the container: \($0)\(line.map { ":\($0)" } ?? ""))" } ?? ""
        return "\(location)\(inside): \(message)"
    }

    static func parse(_ output: String) -> [NginxMessage] {
        output.split(separator: "\n").compactMap { parse(line: String($0)) }
    }

    static func parse(line: String) -> NginxMessage? {
        guard let match = line.firstMatch(of: /^(?:nginx: |\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d )?\[(emerg|alert|crit|error|warn|notice)\] (?:\d+#\d+: )?(.*)$/) else { return nil }
        var message = String(match.2)
        var file: String?
        var lineNumber: Int?
        if let location = message.firstMatch(of: /\ in (\/[^ ]*?):(\d+)$/) {
            file = String(location.1)
            lineNumber = Int(location.2)
            message = String(message[..<location.range.lowerBound])
        }
        return NginxMessage(level: String(match.1), message: message, file: file, line: lineNumber)
    }
}
