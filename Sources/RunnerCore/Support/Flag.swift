import Synchronization

/// A Boolean that can be shared between tasks (set once by a watchdog, read by its owner).
final class Flag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }

    var isSet: Bool { value.withLock { $0 } }
}
