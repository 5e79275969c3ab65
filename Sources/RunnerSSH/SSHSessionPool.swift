import RunnerCore
import Synchronization

/// The connections to one host: one session to start with, more (up to `limit`) only while
/// parallel steps on the host all want one at once. A session that dropped is discarded when
/// it is next handed out, and a new one connects before the command starts; a command that
/// was running when its connection broke fails, it is never re-run on a new one.
public final class SSHSessionPool: Sendable {
    public let name: String
    let options: SSHConnectOptions
    let limit: Int

    private struct State {
        var idle: [SSHSession] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Connects the first session, so connection problems show up at once.
    public static func connect(name: String, options: SSHConnectOptions, limit: Int = 4) async throws -> SSHSessionPool {
        let pool = SSHSessionPool(name: name, options: options, limit: limit)
        let first = try await SSHSession.connect(name: name, options: options)
        pool.state.withLock { $0.open = 1; $0.idle = [first] }
        return pool
    }

    init(name: String, options: SSHConnectOptions, limit: Int) {
        self.name = name
        self.options = options
        self.limit = max(1, limit)
    }

    /// Runs `body` with a session of its own, returned to the pool afterwards.
    func withSession<T: Sendable>(_ body: (SSHSession) async throws -> T) async throws -> T {
        let session = try await checkOut()
        do {
            let result = try await body(session)
            await checkIn(session)
            return result
        } catch {
            await checkIn(session)
            throw error
        }
    }

    /// Sessions open or connecting (for tests and diagnostics).
    public var sessionCount: Int { state.withLock { $0.open } }

    private enum Next { case use(SSHSession), connect, wait }

    private func checkOut() async throws -> SSHSession {
        while true {
            let next = state.withLock { state -> Next in
                if let session = state.idle.popLast() { return .use(session) }
                if state.open < limit { state.open += 1; return .connect }
                return .wait
            }
            switch next {
            case .use(let session):
                if await session.stillConnected() { return session }
                state.withLock { $0.open -= 1 }  // dropped while idle: replace it
            case .connect:
                do {
                    return try await SSHSession.connect(name: name, options: options)
                } catch {
                    releaseSlot()
                    throw error
                }
            case .wait:
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if !state.idle.isEmpty || state.open < limit { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private func checkIn(_ session: SSHSession) async {
        let alive = await session.stillConnected()
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if alive { state.idle.append(session) } else { state.open -= 1 }
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }

    /// A connection attempt failed: free its slot and wake a waiter to try again.
    private func releaseSlot() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open -= 1
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
