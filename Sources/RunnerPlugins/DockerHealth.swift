import Foundation
import RunnerCore

/// `wait_healthy`: polls containers until each is healthy (or, without a healthcheck, running).
///
/// Fails at once when a container turns unhealthy, exits or is paused, and at `timeout`
/// otherwise; the error carries the last health-check outputs and the tail of the container's
/// log. Sleeps between polls with `Task.sleep`, so step timeouts and Ctrl-C stop it.
struct DockerHealthWait {
    let docker: DockerCLI
    let timeout: Duration
    let interval: Duration
    let logLines: Int
    /// How long a name may match no container before the wait gives up on it.
    var missingGrace: Duration = .seconds(15)
    /// How often an unchanged wait is logged.
    var progressEvery: Duration = .seconds(15)

    enum Verdict: Equatable {
        case ready
        case waiting(String)
        case failed(String)
    }

    /// What a container's state means for the wait.
    static func verdict(_ container: ContainerInfo) -> Verdict {
        switch container.status {
        case "running":
            switch container.health {
            case nil, "healthy": return .ready
            case "unhealthy": return .failed("is unhealthy (\(container.failingStreak) failed health checks in a row)")
            default: return .waiting(container.summary)
            }
        case "exited", "dead":
            return .failed("\(container.status) with code \(container.exitCode)\(container.restartCount > 0 ? " after \(container.restartCount) restarts" : "")")
        case "paused":
            return .failed("is paused")
        case "restarting":
            return .waiting("restarting (\(container.restartCount) restarts so far)")
        default:
            return .waiting(container.status)
        }
    }

    /// Waits for every container in `names`; returns their final states in the same order.
    func wait(for names: [String]) async throws -> [ContainerInfo] {
        let clock = ContinuousClock()
        let start = clock.now
        let limit = DurationParser.format(timeout)
        docker.context.log("waiting up to \(limit) for \(names.joined(separator: ", ")) to be healthy")
        var ready: [String: ContainerInfo] = [:]
        var lastSeen: [String: ContainerInfo] = [:]
        var lastReport: [String: String] = [:]
        var lastProgress = start
        while true {
            try Task.checkCancellation()
            let pending = names.filter { ready[$0] == nil }
            let found = try await docker.inspect(pending)
            let elapsed = clock.now - start
            var waiting: [String] = []
            for name in pending {
                guard let container = found.first(where: { $0.matches(name) }) else {
                    if elapsed >= min(missingGrace, timeout) {
                        throw StepFailure("docker wait_healthy: no container named \(name) on \(docker.context.target.name)",
                                          outputs: outputs(names, lastSeen))
                    }
                    waiting.append("\(name): not there yet")
                    continue
                }
                lastSeen[name] = container
                switch Self.verdict(container) {
                case .ready:
                    ready[name] = container
                    docker.context.log("\(container.name) is \(container.summary) after \(DurationParser.format(elapsed))")
                case .failed(let reason):
                    throw await failure(container, "container \(container.name) \(reason)", names: names, lastSeen)
                case .waiting(let state):
                    waiting.append("\(container.name): \(state)")
                    if lastReport[name] != state {
                        if lastReport[name] != nil { docker.context.log("\(container.name) is \(state)") }
                        lastReport[name] = state
                    }
                }
            }
            if ready.count == names.count { return names.compactMap { ready[$0] } }
            if elapsed >= timeout {
                let name = names.first { ready[$0] == nil }!
                guard let container = lastSeen[name] else {
                    throw StepFailure("docker wait_healthy: no container named \(name) within \(limit)", outputs: outputs(names, lastSeen))
                }
                let state = Self.verdict(container)
                let detail = if case .waiting(let text) = state { text } else { container.summary }
                throw await failure(container, "container \(container.name) did not become healthy within \(limit) (still \(detail))",
                                    names: names, lastSeen)
            }
            if clock.now - lastProgress >= progressEvery {
                docker.context.log("still waiting (\(DurationParser.format(elapsed)) of \(limit)): \(waiting.joined(separator: "; "))")
                lastProgress = clock.now
            }
            try await Task.sleep(for: min(interval, timeout - elapsed))
        }
    }

    /// The step's error: the reason, the last health-check outputs and the log tail.
    private func failure(_ container: ContainerInfo, _ reason: String, names: [String], _ seen: [String: ContainerInfo]) async -> StepFailure {
        var message = reason
        let checks = container.healthLog.suffix(3)
        if !checks.isEmpty {
            message += "\nlast health checks:"
            for check in checks {
                let output = check.output.trimmingCharacters(in: .whitespacesAndNewlines)
                message += "\n  exit \(check.exitCode): \(output.isEmpty ? "(no output)" : Self.indent(String(output.suffix(600))))"
            }
        }
        let logs = await docker.logTail(container.name, count: logLines)
        message += logs.isEmpty ? "\n(the container's log is empty)" : "\nlog of \(container.name) (last \(logLines) lines):\n  " + Self.indent(logs)
        return StepFailure(message, outputs: outputs(names, seen))
    }

    private func outputs(_ names: [String], _ seen: [String: ContainerInfo]) -> [String: Value] {
        ["containers": .list(names.compactMap { seen[$0]?.value })]
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ")
    }
}
