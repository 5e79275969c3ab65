import Foundation

/// Masks secrets in every event, then hands it to every sink.
public final class EventEmitter: Sendable {
    public let masker: SecretMasker
    let runID: String
    let sinks: [any EventSink]

    public init(runID: String, masker: SecretMasker, sinks: [any EventSink]) {
        self.runID = runID
        self.masker = masker
        self.sinks = sinks
    }

    public func emit(step: StepRef? = nil, _ kind: Event.Kind) {
        let event = Event(runID: runID, step: step.map(mask), kind: mask(kind))
        for sink in sinks { sink.handle(event) }
    }

    /// A masker for one command's output streams: lines it emits are masked as a whole stream
    /// (no secret split over two pieces) and go to the sinks without a second pass.
    /// Call `finish()` on it when the command has ended.
    public func outputStream(step: StepRef) -> StreamMasker {
        StreamMasker(masker: masker) { [self] line in
            let event = Event(runID: runID, step: mask(step), kind: .output(line))
            for sink in sinks { sink.handle(event) }
        }
    }

    public func finish() {
        for sink in sinks { sink.finish() }
    }

    private func mask(_ step: StepRef) -> StepRef {
        var s = step
        s.name = masker.mask(s.name)
        s.item = s.item.map(masker.mask)
        return s
    }

    private func mask(_ kind: Event.Kind) -> Event.Kind {
        switch kind {
        case .runStarted(let pipeline, let file, let params, let trigger):
            return .runStarted(pipeline: pipeline, file: file, params: masker.mask(params), trigger: trigger)
        case .stepStarted: return kind
        case .output(let line): return .output(OutputLine(line.stream, masker.mask(line.text), continues: line.continues))
        case .log(let level, let text): return .log(level, masker.mask(text))
        case .stepFinished(let status, let duration, let attempts, let exitCode, let outputs, let error):
            return .stepFinished(status: status, duration: duration, attempts: attempts, exitCode: exitCode,
                                 outputs: masker.mask(outputs), error: error.map(masker.mask))
        case .runFinished(let status, let duration, let counts, let error):
            return .runFinished(status: status, duration: duration, counts: counts, error: error.map(masker.mask))
        case .lockWaiting(let key, let holder): return .lockWaiting(key: masker.mask(key), holder: masker.mask(holder))
        }
    }
}
