import Foundation
import RunnerCore

/// The run store's settings, read from the environment here in the executable and passed into
/// the libraries:
///
/// - `RUNNER_STATE_DIR`: where the store lives (see `RunStore.defaultDirectory`);
/// - `RUNNER_LOG_BUDGET`: log bytes one run keeps (`16MiB` by default; `32MiB`, `512k`, bytes);
/// - `RUNNER_RETENTION`: runs older than this are deleted after each `runner run` (`90d` by
///   default; `off` keeps everything).
struct StoreSettings {
    static let defaultRetention = "90d"

    let directory: String
    let limits: StoreSink.Limits
    /// nil: keep every run.
    let retention: Duration?

    /// Invalid values are invalid input (exit 2), named with the variable.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        directory = RunStore.defaultDirectory(environment: environment)
        var limits = StoreSink.Limits()
        if let text = environment["RUNNER_LOG_BUDGET"], !text.isEmpty {
            guard let bytes = ByteCount.parse(text) else {
                throw InvalidInput("RUNNER_LOG_BUDGET='\(text)' is not a size (write 16MiB, 512KiB or a number of bytes)")
            }
            limits.logBytes = bytes
        }
        self.limits = limits
        let retention = environment["RUNNER_RETENTION"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultRetention
        if ["off", "never", "0"].contains(retention.lowercased()) {
            self.retention = nil
        } else if let age = DurationParser.parse(retention), age > .zero {
            self.retention = age
        } else {
            throw InvalidInput("RUNNER_RETENTION='\(retention)' is not a duration (write 90d, 30d, 12h, or off)")
        }
    }

    /// The store for writing (created when missing), or exit 2 naming the problem.
    func openForWriting() throws -> RunStore {
        do { return try RunStore(directory: directory) } catch {
            throw InvalidInput("\(error) (set RUNNER_STATE_DIR to use another directory)")
        }
    }

    /// The store for reading history; nil when no run was recorded yet. It writes to the state
    /// directory only when runs whose runner died are still marked `running`: it marks them
    /// `interrupted` (`RunStore.reconcileInterruptedRuns`); where it cannot write (a read-only
    /// state directory), they are shown as they are recorded.
    func openForReading() throws -> RunStore? {
        guard RunStore.exists(in: directory) else { return nil }
        let store: RunStore
        do { store = try RunStore(readingFrom: directory) } catch {
            throw InvalidInput("\(error) (set RUNNER_STATE_DIR to use another directory)")
        }
        if let gone = try? store.runsWithGoneHolders(), !gone.isEmpty {
            _ = try? RunStore(directory: directory)  // opening for writing marks them
        }
        return store
    }

    /// Deletes runs past the retention, after a run; a failure is a warning, never the run's outcome.
    func applyRetention(_ store: RunStore) {
        guard let retention else { return }
        do {
            try store.prune(startedBefore: Date().addingTimeInterval(-retention.seconds))
        } catch {
            FileOutput.stderr.write("warning: cannot delete old runs (RUNNER_RETENTION): \(error)\n")
        }
    }
}
