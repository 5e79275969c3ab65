/// What a run checks once its secrets and vars are there and before its first step, so that a
/// mistake only these values reveal stops it with nothing run (exit 2) instead of half-way,
/// after a maintenance flag went up.
extension Engine {
    func checkBeforeFirstStep(state: RunState) async throws {
        let resolved = try await checkHostsFromParams(state: state)
        try await checkCredentialsInUse(state: state, resolved: resolved)
    }

    /// Every `on:` that is one plain `${{ params.x }}` or `${{ vars.x }}` names hosts or groups
    /// of the inventory (other expressions may need step outputs: they are checked when the
    /// step runs). Returns the names each such step's `on:` gives, by the step's location.
    func checkHostsFromParams(state: RunState) async throws -> [SourceLocation: [String]] {
        let inventory = state.pipeline.inventory
        var resolved: [SourceLocation: [String]] = [:]
        for step in state.pipeline.allSteps {
            guard case .template(let template)? = step.on, let expression = template.wholeExpression,
                  Self.isPlainReference(expression.source) else { continue }
            let value = try await state.runtime.evaluate(expression, locals: [:])
            let names = value.listValue?.map(\.interpolated) ?? [value.interpolated]
            for name in names where name != "local" && inventory.resolve(name) == nil {
                throw Diagnostic("step '\(step.displayName)': on: ${{ \(expression.source) }} is '\(name)', which is no host or group "
                                 + "of the inventory\(Suggestion.hint(for: name, in: inventory.names))", at: expression.location)
            }
            resolved[step.location] = names
        }
        return resolved
    }

    /// `params.name` or `vars.name`, nothing else: its value is known before the first step.
    static func isPlainReference(_ source: String) -> Bool {
        let parts = source.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "params" || parts[0] == "vars" else { return false }
        return isIdentifier(String(parts[1]))
    }

    /// Every credential the steps need on the hosts their `on:` names (within `--limit`) can be
    /// had: a missing one stops the run before anything ran.
    func checkCredentialsInUse(state: RunState, resolved: [SourceLocation: [String]]) async throws {
        for use in CredentialUse.uses(of: state.pipeline, limit: state.limit, resolved: resolved) {
            guard let host = state.pipeline.inventory.hosts[use.host] else { continue }
            do {
                _ = try await credential(use.secret, of: host, field: use.field, run: state)
            } catch let failure as StepFailure {
                throw StepFailure("\(failure.message) (\(use.why))")
            }
        }
    }
}

import Foundation
