import Dispatch
import Foundation

/// Turns SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session) into calls of
/// `handler(count)`, where count is how many have arrived. SIGPIPE is ignored: output to a
/// closed pipe (`runner run … | head`) must not kill a deploy half-way.
final class SignalHandler {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (Int) -> Void) {
        let counter = Counter()
        signal(SIGPIPE, SIG_IGN)
        sources = [SIGINT, SIGTERM, SIGHUP].map { signo in
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { handler(counter.increment()) }
            source.resume()
            return source
        }
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}

private final class Counter: Sendable {
    private let value = Synchronization.Mutex(0)
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
}

import Synchronization
