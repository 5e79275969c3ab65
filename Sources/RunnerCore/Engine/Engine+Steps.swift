import Foundation
import Synchronization

extension Engine {
    /// Runs steps in order. A failed step (without `continue_on_error`) marks the run failed; later steps
    /// still get their `if:` evaluated, which by default (`success()`) skips them.
    func runSequence(_ steps: [Step], phase: String?, state: RunState) async {
        for step in steps {
            if Task.isCancelled { return }
            _ = await execute(step, phase: phase, state: state)
        }
    }

    /// One step: condition, fan-out over `for_each` items and `on:` hosts, retries, timeout, result recording.
    /// `markFailure: false` for the steps of a parallel group: the group decides, with its own
    /// `continue_on_error`.
    @discardableResult
    func execute(_ step: Step, phase: String?, state: RunState, markFailure: Bool = true) async -> StepStatus {
        let ref = StepRef(name: plugins.displayName(of: step), id: step.id, location: step.location, phase: phase, depth: state.depth)
        let (instances, fansOut, problem) = await expand(step, state: state)
        if let problem {
            return await finishFailed(step, ref: ref, message: problem, state: state, markFailure: markFailure)
        }
        if instances.isEmpty {
            // --limit left no host (or for_each gave an empty list): nothing to do.
            state.emitter.emit(step: ref, .stepFinished(status: .skipped, duration: .zero, attempts: 0, exitCode: nil, outputs: [:], error: nil))
            state.count(.skipped)
            if let id = step.id { try? await state.runtime.set(["steps", id], .map(["status": "skipped", "outputs": .map([:])])) }
            return .skipped
        }
        let limit = step.maxParallel ?? (step.forEach != nil ? 1 : max(1, instances.count))
        let results = await withBoundedConcurrency(instances, limit: limit) { instance in
            await self.runInstance(step, instance: instance, phase: phase, state: state)
        }
        let status = aggregate(results.map(\.status))
        let outputs: [String: Value]
        var error: String?
        if !fansOut {
            outputs = results.first?.outputs ?? [:]
            error = results.first?.error
        } else {
            if let id = step.id {
                let hosts = Set(instances.compactMap(\.host)).count
                let ran = step.forEach != nil ? "ran for \(instances.count) for_each item\(instances.count == 1 ? "" : "s")"
                    : "ran on \(hosts) host\(hosts == 1 ? "" : "s")"
                state.recordFanOut(id: id, ran: ran)
            }
            outputs = ["results": .list(results.map { result in
                var entry: [String: Value] = ["status": .string(result.status.rawValue), "outputs": .map(result.outputs)]
                if let item = result.item { entry["item"] = item }
                if let host = result.host { entry["host"] = .string(host) }
                if let message = result.error { entry["error"] = .string(state.emitter.masker.mask(message)) }
                return .map(entry)
            })]
            error = results.compactMap(\.error).first
        }
        if let id = step.id {
            var entry: [String: Value] = ["status": .string(status.rawValue), "outputs": .map(outputs)]
            if let error { entry["error"] = .string(state.emitter.masker.mask(error)) }
            try? await state.runtime.set(["steps", id], .map(entry))
        }
        if markFailure && status.isFailure && !step.continueOnError { await markFailed(state, step: step) }
        return status
    }

    struct Instance: Sendable {
        var item: Value?
        var host: String?
    }

    struct InstanceResult: Sendable {
        var status: StepStatus
        var outputs: [String: Value]
        var item: Value?
        var host: String?
        /// Why it failed (unmasked: masked where it becomes `steps.<id>.error`).
        var error: String? = nil
    }

    /// The items × hosts a step runs for, and whether its outputs are a list of results: with
    /// `for_each`, or `on:` giving a list or naming a group (however many hosts that is, so the
    /// shape does not change with the inventory or `--limit`).
    private func expand(_ step: Step, state: RunState) async -> ([Instance], Bool, String?) {
        var items: [Value?] = [nil]
        var hosts: [String?] = [nil]
        var fansOut = step.forEach != nil
        do {
            if let forEach = step.forEach {
                let value = try await resolve(forEach, locals: [:], state: state)
                // An empty Lua table reads as an empty map: a list built in Lua may be empty.
                guard let list = value.listValue ?? (value.mapValue?.isEmpty == true ? [] : nil) else {
                    return ([], fansOut, "for_each must give a list, not \(value.typeName)")
                }
                items = list
            }
            if let on = step.on {
                let resolved = try await resolveHosts(on, state: state)
                if resolved.fansOut { fansOut = true }
                hosts = resolved.hosts
            }
        } catch {
            return ([], fansOut, describe(error))
        }
        return (items.flatMap { item in hosts.map { Instance(item: item, host: $0) } }, fansOut, nil)
    }

    /// The hosts `on:` names, in order and without repeats (a group gives its members), with
    /// `--limit` applied; and whether it fans out (gives a list or names a group). The one host
    /// resolution: running steps and the plan (`--dry-run`) both use it.
    /// - Throws: `StepFailure` naming an unknown host, or what evaluating `on:` throws.
    func resolveHosts(_ on: TemplateValue, state: RunState) async throws -> (hosts: [String], fansOut: Bool) {
        let value = try await resolve(on, locals: [:], state: state)
        let names = value.listValue?.map(\.interpolated) ?? [value.interpolated]
        var fansOut = value.listValue != nil
        var resolved: [String] = []
        for name in names {
            if name == "local" { resolved.append(name); continue }
            if state.pipeline.inventory.groups[name] != nil { fansOut = true }
            guard let members = state.pipeline.inventory.resolve(name) else {
                throw StepFailure("unknown host '\(name)'\(Suggestion.hint(for: name, in: state.pipeline.inventory.names))")
            }
            for m in members where !resolved.contains(m) { resolved.append(m) }
        }
        if let limit = state.limit { resolved = resolved.filter { $0 == "local" || limit.contains($0) } }
        return (resolved, fansOut)
    }

    private func finishFailed(_ step: Step, ref: StepRef, message: String, state: RunState, markFailure: Bool) async -> StepStatus {
        state.emitter.emit(step: ref, .stepStarted)
        state.emitter.emit(step: ref, .stepFinished(status: .failed, duration: .zero, attempts: 0, exitCode: nil, outputs: [:], error: message))
        state.count(.failed)
        if let id = step.id {
            try? await state.runtime.set(["steps", id], .map(["status": "failed", "outputs": .map([:]),
                                                               "error": .string(state.emitter.masker.mask(message))]))
        }
        if markFailure && !step.continueOnError { await markFailed(state, step: step) }
        return .failed
    }

    /// Later `if: success()` sees the failure; steps without `if` are skipped.
    private func markFailed(_ state: RunState, step: Step) async {
        guard !state.failed else { return }
        state.markFailed(step: plugins.displayName(of: step))
        try? await state.runtime.set(["run", "status"], "failure")
    }

    private func aggregate(_ statuses: [StepStatus]) -> StepStatus {
        if statuses.contains(.timedOut) { return .timedOut }
        if statuses.contains(.failed) { return .failed }
        if statuses.contains(.cancelled) { return .cancelled }
        if statuses.isEmpty || statuses.allSatisfy({ $0 == .skipped }) { return .skipped }
        return statuses.contains(.changed) ? .changed : .ok
    }

    /// One step on one host for one item: condition, attempts, timeout.
    private func runInstance(_ step: Step, instance: Instance, phase: String?, state: RunState) async -> InstanceResult {
        let ref = StepRef(name: plugins.displayName(of: step), id: step.id, host: instance.host, item: instance.item.map(\.interpolated),
                          location: step.location, phase: phase, depth: state.depth)
        var locals: [String: Value] = [:]
        if let item = instance.item { locals["item"] = item }
        if let host = instance.host { locals["host"] = state.pipeline.inventory.expressionValue(ofHost: host) }
        func done(_ status: StepStatus, _ outputs: [String: Value] = [:], error: String? = nil) -> InstanceResult {
            InstanceResult(status: status, outputs: outputs, item: instance.item, host: instance.host, error: error)
        }
        func skipped() -> InstanceResult {
            state.emitter.emit(step: ref, .stepFinished(status: .skipped, duration: .zero, attempts: 0, exitCode: nil, outputs: [:], error: nil))
            state.count(.skipped)
            return done(.skipped)
        }

        // Condition: default success() in main steps, always() in on_failure and finally. An
        // `if:` that calls none of success(), failure(), always(), cancelled() keeps that
        // default (as in GitHub Actions): `if: params.ref == 'main'` does not run after a failure.
        let keepsDefault = step.condition.map { !LuaSource($0.source).callsStatusFunction } ?? true
        if keepsDefault && phase == nil && state.failed {
            return skipped()
        }
        if let condition = step.condition {
            do {
                let value = try await state.evaluate(condition, locals: locals)
                if !value.isTruthy {
                    return skipped()
                }
            } catch {
                state.emitter.emit(step: ref, .stepStarted)
                let message = "condition: \(describe(error))"
                state.emitter.emit(step: ref, .stepFinished(status: .failed, duration: .zero, attempts: 0, exitCode: nil, outputs: [:], error: message))
                state.count(.failed)
                return done(.failed, error: message)
            }
        }

        if case .parallel(let children) = step.body {
            return await runParallel(step, children: children, ref: ref, phase: phase, state: state, done: { done($0, $1) })
        }

        state.emitter.emit(step: ref, .stepStarted)
        let clock = ContinuousClock()
        let start = clock.now
        let timeout = step.timeout ?? defaultStepTimeout
        var attempt = 0
        var last = AttemptResult(status: .failed)
        repeat {
            attempt += 1
            if attempt > 1 {
                let delay = step.retry.delay(beforeAttempt: attempt)
                state.emitter.emit(step: ref, .log(.warn, "attempt \(attempt - 1) of \(step.retry.attempts) failed; retrying in \(DurationParser.format(delay))"))
                if (try? await Task.sleep(for: delay)) == nil { last.status = .cancelled; break }
            }
            let (attemptRef, attemptLocals) = (ref, locals)
            last = await withTimeout(timeout) {
                await self.runBody(step, ref: attemptRef, locals: attemptLocals, instance: instance, state: state)
            }
            if last.status == .timedOut {
                last.error = "timed out after \(DurationParser.format(timeout))" + (last.error.map { "; \($0)" } ?? "")
            }
        } while last.status.isFailure && attempt < step.retry.attempts && !Task.isCancelled
        if Task.isCancelled && last.status.isFailure { last.status = .cancelled }

        state.emitter.emit(step: ref, .stepFinished(status: last.status, duration: clock.now - start, attempts: attempt,
                                                    exitCode: last.exitCode, outputs: last.outputs, error: last.error))
        state.count(last.status)
        return done(last.status, last.outputs, error: last.status.isFailure ? last.error : nil)
    }

    private func runParallel(_ step: Step, children: [Step], ref: StepRef, phase: String?, state: RunState,
                             done: (StepStatus, [String: Value]) -> InstanceResult) async -> InstanceResult {
        let statuses = await withTaskGroup(of: StepStatus.self) { group in
            for child in children {
                group.addTask { await self.execute(child, phase: phase, state: state, markFailure: false) }
            }
            var out: [StepStatus] = []
            for await s in group { out.append(s) }
            return out
        }
        var failed = statuses.filter(\.isFailure)
        if failed.isEmpty, statuses.contains(.cancelled) { failed = [.cancelled] }
        let status: StepStatus = failed.first ?? aggregate(statuses)
        return done(status, [:])
    }

    struct AttemptResult: Sendable {
        var status: StepStatus
        var outputs: [String: Value] = [:]
        var exitCode: Int32?
        var error: String?
    }

    /// Runs `body` with a time limit; on expiry the body's task is cancelled (killing its processes).
    private func withTimeout(_ limit: Duration, _ body: @escaping @Sendable () async -> AttemptResult) async -> AttemptResult {
        let expired = Flag()
        let task = Task { await body() }
        let timer = Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            expired.set()
            task.cancel()
        }
        var result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        timer.cancel()
        if expired.isSet {
            result.status = .timedOut
            if result.error == "cancelled" { result.error = nil }
        }
        return result
    }

    /// The step's own work, once.
    private func runBody(_ step: Step, ref: StepRef, locals: [String: Value], instance: Instance, state: RunState) async -> AttemptResult {
        do {
            var locals = locals
            let environment = try await stepEnvironment(step, locals: locals, state: state)
            locals["env"] = .map(environment.mapValues(Value.string))
            let cwd = try await step.cwd.asyncMap { try await self.render($0, locals: locals, state: state) }
            let target = try await target(for: step, host: instance.host ?? "local", run: state)
            let context = makeContext(target: target, step: ref, environment: environment, workingDirectory: cwd,
                                      state: state, locals: locals)
            switch step.body {
            case .run(let template):
                let rendered = try await renderShell(template, locals: locals, state: state)
                let result = try await context.run(.shell(rendered.script), environment: rendered.values)
                let outputs = result.outputValues
                for (stream, cut) in [("stdout", result.stdoutTruncated), ("stderr", result.stderrTruncated)] where cut {
                    state.emitter.emit(step: ref, .log(.warn, "\(stream) was larger than the \(ByteCount.format(Command.defaultOutputLimit)) a step keeps: outputs.\(stream) holds its end only (outputs.\(stream)_truncated is true); write large output to a file"))
                }
                if result.exitCode == 0 { return AttemptResult(status: .ok, outputs: outputs, exitCode: 0) }
                let tail = result.stderrTail
                return AttemptResult(status: .failed, outputs: outputs, exitCode: result.exitCode,
                                     error: tail.isEmpty ? result.failureReason : "\(result.failureReason): \(tail)")
            case .uses(let name, let with, _):
                guard let plugin = plugins[name] else { return AttemptResult(status: .failed, error: plugins.unknown(name)) }
                var values: [String: Value] = [:]
                for (key, value) in with { values[key] = try await resolve(value, locals: locals, state: state) }
                for spec in plugin.parameters where spec.secret {
                    if let v = values[spec.name] { state.emitter.masker.add(v) }
                }
                let result = try await plugin.run(try plugins.bind(values, for: plugin), context: context)
                return AttemptResult(status: result.changed ? .changed : .ok, outputs: result.outputs)
            case .lua(let code, let location):
                try state.checkFanOutReads(in: code, at: location)
                let result = try await state.runtime.runStep(code: code, at: location, locals: locals, context: context)
                return AttemptResult(status: result.changed ? .changed : .ok, outputs: result.outputs)
            case .parallel:
                return AttemptResult(status: .ok)
            }
        } catch is CancellationError {
            return AttemptResult(status: .cancelled, error: "cancelled")
        } catch let failure as StepFailure {
            return AttemptResult(status: Task.isCancelled ? .cancelled : .failed, outputs: failure.outputs, error: failure.message)
        } catch {
            return AttemptResult(status: Task.isCancelled ? .cancelled : .failed, error: describe(error))
        }
    }

    private func stepEnvironment(_ step: Step, locals: [String: Value], state: RunState) async throws -> [String: String] {
        var env: [String: String] = ["RUNNER_RUN_ID": state.runID, "RUNNER_PIPELINE": state.pipeline.name]
        for (name, value) in state.pipeline.env { env[name] = try await resolve(value, locals: locals, state: state).interpolated }
        for (name, value) in step.env { env[name] = try await resolve(value, locals: locals, state: state).interpolated }
        return env
    }

    // MARK: - Templates

    /// Renders a template to text (for anything that is not shell: `with:` values, `env`, `cwd`).
    func render(_ template: Template, locals: [String: Value], state: RunState) async throws -> String {
        var out = ""
        for part in template.parts {
            switch part {
            case .text(let text): out += text
            case .expression(let expression): out += try await state.evaluate(expression, locals: locals).interpolated
            }
        }
        return out
    }

    /// A `run:` command ready to execute: every `${{ }}` value travels in an environment variable
    /// and the script only references it, in the form `ShellContext` chose for where it stands
    /// (`"${RUNNER_VALUE_1}"`, or `${RUNNER_VALUE_1}` inside double quotes and heredocs), so no
    /// value is ever parsed as shell syntax. `raw(...)` splices text on purpose; that text
    /// enters the tracker too, and a value it puts where no reference is safe fails the step.
    struct ShellScript: Sendable {
        var script: String
        var values: [String: String]
    }

    func renderShell(_ template: Template, locals: [String: Value], state: RunState) async throws -> ShellScript {
        var out = ""
        var values: [String: String] = [:]
        var context = ShellContext()
        var expressions: [Expression] = []
        for part in template.parts {
            switch part {
            case .text(let text):
                out += text
                context.consume(text)
            case .expression(let expression):
                if let inner = expression.rawInner {
                    let text = try await state.evaluate(inner, locals: locals).interpolated
                    out += text
                    context.consume(text)
                } else {
                    let name = "RUNNER_VALUE_\(values.count + 1)"
                    values[name] = try await state.evaluate(expression, locals: locals).interpolated
                    out += context.value(expressions.count).reference(name)
                    expressions.append(expression)
                }
            }
        }
        context.finish()
        if let (index, reason) = context.refusals.min(by: { $0.key < $1.key }) {
            throw StepFailure("\(expressions[index].location): " + ShellContext.refusal(expressions[index], reason))
        }
        return ShellScript(script: out, values: values)
    }

    /// How a `run:` command reads for people (`runner plan`): values masked, then written for
    /// where they stand (quoted in a word, bare in a heredoc); an expression that cannot be
    /// evaluated yet is shown as written.
    func renderForDisplay(_ template: Template, locals: [String: Value], state: RunState) async -> String {
        var out = ""
        var context = ShellContext()
        var count = 0
        for part in template.parts {
            switch part {
            case .text(let text):
                out += text
                context.consume(text)
            case .expression(let expression):
                let evaluated = try? await state.evaluate(expression.rawInner ?? expression, locals: locals)
                let text = evaluated.flatMap { $0.isNull ? nil : state.emitter.masker.mask($0.interpolated) }
                if expression.rawInner != nil {
                    out += text ?? "${{ \(expression.source) }}"
                    context.consume(text ?? "")
                    continue
                }
                let slot = context.value(count)
                count += 1
                out += text.map(slot.display) ?? "${{ \(expression.source) }}"
            }
        }
        return out
    }

    /// Resolves a value tree; a string that is one whole `${{ }}` keeps the Lua value's type.
    func resolve(_ value: TemplateValue, locals: [String: Value], state: RunState) async throws -> Value {
        switch value {
        case .literal(let v, _): return v
        case .template(let t):
            if let whole = t.wholeExpression { return try await state.evaluate(whole, locals: locals) }
            return .string(try await render(t, locals: locals, state: state))
        case .list(let items, _):
            var out: [Value] = []
            for item in items { out.append(try await resolve(item, locals: locals, state: state)) }
            return .list(out)
        case .map(let entries, _):
            var out: [String: Value] = [:]
            for (k, v) in entries { out[k] = try await resolve(v, locals: locals, state: state) }
            return .map(out)
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let w): try await transform(w)
        case .none: nil
        }
    }
}

/// Runs `work` for every element with at most `limit` at once; results in input order.
func withBoundedConcurrency<T: Sendable, R: Sendable>(_ elements: [T], limit: Int, _ work: @escaping @Sendable (T) async -> R) async -> [R] {
    if elements.count == 1 { return [await work(elements[0])] }
    return await withTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: elements.count)
        var next = 0
        while next < min(limit, elements.count) {
            let i = next
            group.addTask { (i, await work(elements[i])) }
            next += 1
        }
        for await (i, r) in group {
            results[i] = r
            if next < elements.count {
                let j = next
                group.addTask { (j, await work(elements[j])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
