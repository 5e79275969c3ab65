import Foundation
import GRDB

/// Crash reconciliation: runs left `running` by a runner that died (SIGKILL, power loss) become
/// `interrupted` the next time a runner opens the store.
extension RunStore {
    /// The note an interrupted run is given as its error.
    public static let interruptedNote =
        "the runner running it stopped without finishing it (killed, crashed, or the machine restarted)"

    /// Runs marked `running` whose holder process is gone: another boot, no such pid, or a pid
    /// that another process has since taken (another start time). A run recorded without a
    /// holder (by an older runner), or on another machine (another hostname: a state directory
    /// shared with a container, whose pids are not ours), is left alone: nothing here tells
    /// whether it still runs.
    public func runsWithGoneHolders() throws -> [RunRecord] {
        let running = try read("list running runs") { db in
            try RunRecord.filter(Column("status") == RunStatus.running.rawValue).fetchAll(db)
        }
        return running.filter { run in
            guard let holder = run.holder, run.hostname == nil || run.hostname == StoreSink.hostname else { return false }
            return !holder.isAlive
        }
    }

    /// Marks the runs whose holder is gone `interrupted`, with an end time (now) and a note.
    /// A run is changed only if it is still `running` when written, so a run that finished in
    /// the meantime keeps its status. Called by `init(directory:)`.
    /// - Returns: The ids of the runs it marked.
    @discardableResult
    public func reconcileInterruptedRuns(now: Date = Date()) throws -> [String] {
        let gone = try runsWithGoneHolders()
        guard !gone.isEmpty else { return [] }
        return try write("mark interrupted runs") { db in
            var marked: [String] = []
            for run in gone {
                let changed = try RunRecord
                    .filter(key: run.id)
                    .filter(Column("status") == RunStatus.running.rawValue)
                    .updateAll(db, [
                        Column("status").set(to: RunStatus.interrupted.rawValue),
                        Column("finishedAt").set(to: now),
                        Column("error").set(to: Self.interruptedNote),
                    ])
                if changed > 0 { marked.append(run.id) }
            }
            return marked
        }
    }
}
