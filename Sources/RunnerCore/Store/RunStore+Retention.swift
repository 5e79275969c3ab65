import Foundation
import GRDB

/// Retention: old runs are deleted with their steps and logs (`runner runs prune`, and the
/// default retention applied by `runner run`).
extension RunStore {
    /// A run still marked `running` is kept this long whatever the cutoff: it may be going on.
    public static let runningGrace: TimeInterval = 86_400

    /// Deletes the runs started before `cutoff`, with their steps and logs; returns how many.
    /// A run still marked `running` is deleted only once it started more than a day before
    /// `now` (a runner that was killed never finished it).
    @discardableResult
    public func prune(startedBefore cutoff: Date, now: Date = Date()) throws -> Int {
        let stale = now.addingTimeInterval(-Self.runningGrace)
        return try write("delete runs started before \(Timestamp.iso8601(cutoff))") { db in
            try RunRecord
                .filter(Column("startedAt") < cutoff)
                .filter(Column("status") != RunStatus.running.rawValue || Column("startedAt") < stale)
                .deleteAll(db)
        }
    }

    /// Gives the space of deleted runs back to the file system (SQLite otherwise reuses it for
    /// new runs but keeps the file's size). Rewrites the whole file: slow on a large store.
    public func vacuum() throws {
        do {
            try pool.vacuum()
            // In WAL mode the rewritten database first lands in the log: move it into the file.
            _ = try pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        } catch {
            throw RunStoreError.failed(operation: "compact the database", path: path, reason: Self.reason(for: error))
        }
    }

    /// Bytes used by the database file and its write-ahead log.
    public var fileSize: Int {
        [path, path + "-wal"].reduce(0) { total, file in
            var info = stat()
            return total + (stat(file, &info) == 0 ? Int(info.st_size) : 0)
        }
    }
}
