import Foundation
import RunnerCore

extension NginxPlugin {
    /// `maintenance: on|off`: the flag file exists exactly when maintenance is on. Idempotent, so
    /// it is safe in `finally` (a flag that is already gone is not an error).
    func maintenance(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        guard let flag = with["flag"]?.stringValue, !flag.isEmpty else { throw StepFailure("nginx maintenance needs flag (the flag file's path)") }
        let on = with["maintenance"]?.stringValue == "on"
        let exists = try await Self.exists(flag, context: context)
        guard on != exists else {
            context.log("maintenance already \(on ? "on" : "off") (\(flag))")
            return StepResult(outputs: ["maintenance": .string(on ? "on" : "off")])
        }
        if on {
            let stamp = "maintenance on since \(ISO8601DateFormatter().string(from: Date())) (runner run \(context.runID))\n"
            do {
                try await context.target.writeFile(flag, contents: Array(stamp.utf8), mode: 0o644)
            } catch {
                throw StepFailure("nginx maintenance on: cannot create \(flag) on \(context.target.name): \(error)")
            }
        } else {
            let removed = try await context.target.run(Command(.argv(["rm", "-f", "--", flag]), timeout: NginxCLI.timeout)) { _ in }
            guard removed.succeeded else {
                throw StepFailure("nginx maintenance off: cannot remove \(flag) on \(context.target.name): \(removed.stderrTail)")
            }
        }
        context.log("maintenance \(on ? "on" : "off"): \(on ? "created" : "removed") \(flag)")
        return StepResult(outputs: ["maintenance": .string(on ? "on" : "off")], changed: true)
    }

    /// `site`: writes the file atomically, tests, reloads; when nginx rejects the configuration
    /// the previous file comes back (or the new one goes) and the step fails with nginx's message.
    func installSite(_ with: [String: Value], nginx: NginxCLI, reload: Bool) async throws -> StepResult {
        let context = nginx.context
        let path = with["site"]?.stringValue ?? ""
        guard path.hasPrefix("/") else { throw StepFailure("nginx site must be an absolute path, not '\(path)'") }
        guard let mode = Int(with["mode"]?.stringValue ?? "0644", radix: 8), (0...0o7777).contains(mode) else {
            throw StepFailure("nginx site: mode must be octal like 0644, not '\(with["mode"]?.stringValue ?? "")'")
        }
        let contents: [UInt8]
        switch (with["src"]?.stringValue, with["content"]?.stringValue) {
        case (let src?, nil):
            let local = src.hasPrefix("/") ? src : Paths.join(context.pipelineDirectory, src)
            guard let data = FileManager.default.contents(atPath: local) else { throw StepFailure("nginx site: cannot read local file \(local)") }
            contents = [UInt8](data)
        case (nil, let text?): contents = Array(text.utf8)
        default: throw StepFailure("nginx site needs exactly one of src (a local file) or content (inline text)")
        }
        let previous: [UInt8]? = try await Self.exists(path, context: context) ? try await context.target.readFile(path, limit: 16 << 20) : nil
        if previous == contents {
            context.log("\(path) is already up to date")
            return StepResult(outputs: ["path": .string(path)])
        }
        try await context.target.writeFile(path, contents: contents, mode: mode)
        if let problem = try await nginx.test() {
            let restored: String
            do {
                if let previous {
                    try await context.target.writeFile(path, contents: previous, mode: mode)
                    restored = "the previous \(path) is back"
                } else {
                    let removed = try await context.target.run(Command(.argv(["rm", "-f", "--", path]), timeout: NginxCLI.timeout)) { _ in }
                    restored = removed.succeeded ? "\(path) was removed again" : "removing \(path) failed too: \(removed.stderrTail)"
                }
            } catch {
                restored = "restoring \(path) failed too: \(error)"
            }
            throw StepFailure("nginx rejected the new \(path) on \(nginx.where_): \(problem.text) (\(restored))", outputs: problem.outputs)
        }
        context.log("installed \(path) (\(contents.count) bytes); nginx configuration is valid")
        if reload { try await nginx.reload() }
        return StepResult(outputs: ["path": .string(path)], changed: true)
    }

    static func exists(_ path: String, context: StepContext) async throws -> Bool {
        let result = try await context.target.run(Command(.argv(["test", "-e", path]), timeout: NginxCLI.timeout)) { _ in }
        if result.timedOut { throw StepFailure("checking \(path) on \(context.target.name) timed out") }
        return result.succeeded
    }
}
