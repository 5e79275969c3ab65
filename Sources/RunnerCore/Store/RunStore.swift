import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The run history: runs, their steps and their logs, in `runs.sqlite` (SQLite, WAL mode).
///
/// Several runner processes on one machine may use the same store at once: the database is
/// in WAL mode, readers never wait for writers, and a writer waits up to `busyTimeout` for
/// another's transaction instead of failing.
///
/// Every method is synchronous and safe to call from any thread or task: a write is one
/// short transaction (milliseconds), so blocking the caller briefly is cheaper than the
/// async hops. Errors are `RunStoreError`s, worded for users.
public final class RunStore: Sendable {
    /// The directory that holds the store.
    public let directory: String
    /// The database file, `directory/runs.sqlite`.
    public let path: String
    /// A `DatabasePool` for a writer; a read-only `DatabaseQueue` for `init(readingFrom:)`.
    let pool: any DatabaseWriter

    /// Opens the store in `directory`, creating the directory (mode 0700) and the database,
    /// and migrating an existing database to the current schema.
    ///
    /// - Parameter busyTimeout: How long a write waits for other processes' transactions.
    /// - Throws: `RunStoreError.cannotOpen` with the reason.
    public init(directory: String, busyTimeout: TimeInterval = 10) throws {
        let path = Self.join(directory, "runs.sqlite")
        self.directory = directory
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "RunStore"
        // WAL with synchronous=NORMAL: a commit does not wait for the disk (an application crash
        // loses nothing; a power cut may lose the last records). Run history is not a ledger, and
        // every step commits, so this is most of the per-step cost otherwise.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            try Self.createDirectory(directory)
            // Two processes opening a new store at once would both try to migrate it: the
            // lock makes the second one find the migrations done.
            pool = try Self.withFileLock(at: Self.join(directory, "runs.lock")) {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try Self.migrator.migrate(pool)
                return pool
            }
        } catch {
            throw RunStoreError.cannotOpen(path: path, reason: Self.reason(for: error))
        }
        try reconcileInterruptedRuns()
    }

    /// Opens an existing store for reading only: no directory, lock file or migration is
    /// created, so history can be read from a read-only state directory or file system.
    ///
    /// A store written by an older runner is read as it is (it is migrated by the next writer).
    /// - Throws: `RunStoreError.cannotOpen` when there is no store or it cannot be read.
    public init(readingFrom directory: String) throws {
        let path = Self.join(directory, "runs.sqlite")
        self.directory = directory
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "RunStore"
        do {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreFailure("no such file") }
            do {
                pool = try Self.openReadOnly(path, configuration)
            } catch {
                guard !FileManager.default.fileExists(atPath: path + "-wal") else { throw error }
                // A cleanly closed WAL database in a directory we cannot write: SQLite cannot
                // create its `-shm` file. With no `-wal` file there is nothing besides the main
                // file to read, so it is opened as immutable (no locking, no shared memory).
                pool = try Self.openReadOnly("file:" + Self.uriEscaped(path) + "?immutable=1", configuration)
            }
        } catch {
            throw RunStoreError.cannotOpen(path: path, reason: Self.reason(for: error))
        }
    }

    /// Whether `directory` holds a store (read-only commands say "no runs yet" otherwise).
    public static func exists(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: join(directory, "runs.sqlite"))
    }

    /// Where the store lives by default: `$RUNNER_STATE_DIR`, else `$XDG_STATE_HOME/runner`
    /// (when that is an absolute path, as the XDG spec requires), else `~/.local/state/runner`.
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let dir = environment["RUNNER_STATE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return join(xdg, "runner") }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return join(home, ".local/state/runner")
    }

    // MARK: Writing

    /// Records a new run (usually with status `running`).
    /// - Throws: `RunStoreError.alreadyExists` if a run has the same id.
    public func insertRun(_ run: RunRecord) throws {
        try write("record run \(run.id)") { db in
            try Self.insert(run, db, runID: run.id, describedAs: "run \(run.id)")
        }
    }

    /// Sets the final status of a run, when it ended, and why it failed if it did.
    /// - Throws: `RunStoreError.runNotFound` if no run has this id.
    public func finishRun(id: String, status: String, finishedAt: Date = Date(), error: String? = nil) throws {
        try write("finish run \(id)") { db in
            let changed = try RunRecord.filter(key: id).updateAll(db, [
                Column("status").set(to: status),
                Column("finishedAt").set(to: finishedAt),
                Column("error").set(to: error),
            ])
            if changed == 0 { throw RunStoreError.runNotFound(id: id) }
        }
    }

    /// Records a finished step.
    /// - Throws: `RunStoreError.runNotFound` if its run is not recorded, or
    ///   `RunStoreError.alreadyExists` if the run already has a step with this `seq`.
    public func insertStep(_ step: StepRecord) throws {
        try write("record step '\(step.name)' of run \(step.runID)") { db in
            try Self.insert(step, db, runID: step.runID, describedAs: "step \(step.seq) of run \(step.runID)")
        }
    }

    /// Adds log lines, all or none, in one transaction.
    /// - Throws: `RunStoreError.runNotFound` if a line's run is not recorded, or
    ///   `RunStoreError.alreadyExists` if its run already has a line with its `seq`.
    public func appendLogs(_ records: [LogRecord]) throws {
        guard let first = records.first else { return }
        try write("record logs of run \(first.runID)") { db in
            for record in records {
                try Self.insert(record, db, runID: record.runID,
                                describedAs: "log line \(record.seq) of run \(record.runID)")
            }
        }
    }

    // MARK: Reading

    /// Runs, newest first (by start time, then id), of one pipeline or of all.
    /// - Parameter limit: The most runs to return; none if it is 0 or less.
    public func runs(pipeline: String? = nil, limit: Int = 20) throws -> [RunRecord] {
        var request = RunRecord.order(Column("startedAt").desc, Column("id").desc)
        if let pipeline { request = request.filter(Column("pipeline") == pipeline) }
        return try read("list runs") { try request.limit(max(0, limit)).fetchAll($0) }
    }

    /// The run that `idOrPrefix` names: an exact id, `last` for the newest run, or a prefix of
    /// exactly one run's id (ids are upper case; the prefix is matched ignoring case).
    ///
    /// - Returns: `nil` if nothing matches.
    /// - Throws: `RunStoreError.ambiguousID` with the number of runs a prefix matches.
    public func run(matching idOrPrefix: String) throws -> RunRecord? {
        let text = idOrPrefix.trimmingCharacters(in: .whitespaces)
        return try read("look up run '\(text)'") { db in
            if let exact = try RunRecord.fetchOne(db, key: text) { return exact }
            if text.lowercased() == "last" {
                return try RunRecord.order(Column("startedAt").desc, Column("id").desc).fetchOne(db)
            }
            // Only letters and digits, so the text cannot carry GLOB wildcards.
            let prefix = text.uppercased()
            guard !prefix.isEmpty, prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                return nil
            }
            let matches = RunRecord.filter(literal: "\(Column("id")) GLOB \(prefix + "*")")
            let count = try matches.fetchCount(db)
            if count > 1 { throw RunStoreError.ambiguousID(prefix: text, matches: count) }
            return try matches.fetchOne(db)
        }
    }

    /// The steps of a run, by `seq`.
    public func steps(runID: String) throws -> [StepRecord] {
        try read("read steps of run \(runID)") { db in
            try StepRecord.filter(Column("runID") == runID).order(Column("seq")).fetchAll(db)
        }
    }

    /// The log lines of a run, by `seq`. Loads them all: `forEachLog` streams them instead.
    public func logs(runID: String) throws -> [LogRecord] {
        var all: [LogRecord] = []
        try forEachLog(runID: runID) { all.append($0) }
        return all
    }

    /// Calls `body` with each log line of a run, by `seq`, reading them one at a time (a
    /// run's log may be larger than memory should hold).
    public func forEachLog(runID: String, _ body: (LogRecord) throws -> Void) throws {
        try read("read logs of run \(runID)") { db in
            let lines = try LogRecord.filter(Column("runID") == runID).order(Column("seq")).fetchCursor(db)
            while let line = try lines.next() { try body(line) }
        }
    }

    /// Identifiers of the migrations applied to the database, in order (for tests).
    func appliedMigrations() throws -> [String] {
        try read("read schema version") { try Self.migrator.appliedMigrations($0) }
    }
}

// MARK: - Schema

extension RunStore {
    /// Versioned schema changes. Never edit a registered migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.primaryKey("id", .text)
                t.column("pipeline", .text).notNull()
                t.column("file", .text).notNull()
                t.column("params", .text).notNull().defaults(to: "{}")
                t.column("trigger", .text).notNull()
                t.column("status", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("error", .text)
                t.column("user", .text)
                t.column("hostname", .text)
            }
            try db.create(index: "runs_on_pipeline_startedAt", on: "runs", columns: ["pipeline", "startedAt", "id"])
            try db.create(index: "runs_on_startedAt", on: "runs", columns: ["startedAt", "id"])

            // The (runID, seq) primary keys also serve as the indexes by run.
            try db.create(table: "steps") { t in
                t.column("runID", .text).notNull().references("runs", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("stepID", .text)
                t.column("name", .text).notNull()
                t.column("host", .text)
                t.column("status", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 1)
                t.column("exitCode", .integer)
                t.column("outputs", .text).notNull().defaults(to: "{}")
                t.column("error", .text)
                t.primaryKey(["runID", "seq"])
            }
            try db.create(table: "logs") { t in
                t.column("runID", .text).notNull().references("runs", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("ts", .datetime).notNull()
                t.column("level", .text).notNull()
                t.column("step", .text)
                t.column("host", .text)
                t.column("stream", .text)
                t.column("message", .text).notNull()
                t.primaryKey(["runID", "seq"])
            }
        }
        // Long output lines are stored as their pieces; `continues` marks all but the last.
        migrator.registerMigration("v2-log-pieces") { db in
            try db.alter(table: "logs") { t in
                t.add(column: "continues", .boolean).notNull().defaults(to: false)
            }
        }
        // The process running a run, so that a run whose process died can be marked `interrupted`.
        migrator.registerMigration("v3-run-holder") { db in
            try db.alter(table: "runs") { t in
                t.add(column: "holderPid", .integer)
                t.add(column: "holderBootID", .text)
                t.add(column: "holderStartTime", .integer)
            }
        }
        return migrator
    }
}

// MARK: - Helpers

extension RunStore {
    func write<T>(_ operation: @autoclosure () -> String, _ updates: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(updates)
        } catch let error as RunStoreError {
            throw error
        } catch {
            throw RunStoreError.failed(operation: operation(), path: path, reason: Self.reason(for: error))
        }
    }

    func read<T>(_ operation: @autoclosure () -> String, _ value: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(value)
        } catch let error as RunStoreError {
            throw error
        } catch {
            throw RunStoreError.failed(operation: operation(), path: path, reason: Self.reason(for: error))
        }
    }

    /// Inserts a record, turning key violations into errors that say which record.
    private static func insert(
        _ record: some PersistableRecord, _ db: Database, runID: String, describedAs what: @autoclosure () -> String
    ) throws {
        do {
            try record.insert(db)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw RunStoreError.alreadyExists(what())
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw RunStoreError.runNotFound(id: runID)
        }
    }

    /// What went wrong, in a few words: SQLite's message rather than the whole error dump.
    static func reason(for error: any Error) -> String {
        switch error {
        case let error as DatabaseError:
            return error.message ?? "SQLite error \(error.resultCode.rawValue)"
        case let error as RunStoreError:
            return error.description
        case let error as StoreFailure:
            return error.reason
        default:
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            if let underlying, underlying.domain == NSPOSIXErrorDomain {
                return String(cString: strerror(Int32(underlying.code)))
            }
            return error.localizedDescription
        }
    }

    private static func openReadOnly(_ path: String, _ configuration: Configuration) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }  // fail here, not later
        return queue
    }

    /// A path as the path of a `file:` URI.
    private static func uriEscaped(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))) ?? path
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `mkdir -p` with mode 0700 for each directory it creates (as XDG asks for state
    /// directories), failing with the OS's reason and the path it concerns.
    private static func createDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StoreFailure("\(directory) is not a directory") }
            return
        }
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if let slash = trimmed.lastIndex(of: "/"), slash != trimmed.startIndex {
            try createDirectory(String(trimmed[..<slash]))
        }
        if mkdir(trimmed, 0o700) != 0 && errno != EEXIST {
            throw StoreFailure("cannot create directory \(trimmed): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `body` holding an exclusive `flock` on `lockPath`, which other processes (and
    /// other stores in this process) wait for.
    private static func withFileLock<T>(at lockPath: String, _ body: () throws -> T) throws -> T {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreFailure("cannot create \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }  // also releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreFailure("cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        }
        return try body()
    }
}

/// A failure of the store's own checks while opening, worded for users.
private struct StoreFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// An error from the run store, worded for users: its `description` is the whole message.
public enum RunStoreError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The store's directory or database could not be opened or set up.
    case cannotOpen(path: String, reason: String)
    /// A prefix given to `run(matching:)` matches more than one run.
    case ambiguousID(prefix: String, matches: Int)
    /// No run has this id (when finishing it, or adding steps or logs to it).
    case runNotFound(id: String)
    /// A record with the same key is already stored; the text says which.
    case alreadyExists(String)
    /// Reading or writing the database failed.
    case failed(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "cannot open run store at \(path): \(reason)"
        case let .ambiguousID(prefix, matches):
            "run id '\(prefix)' is ambiguous: it matches \(matches) runs; give more characters"
        case let .runNotFound(id):
            "no run with id '\(id)'"
        case let .alreadyExists(what):
            "\(what) is already in the run store"
        case let .failed(operation, path, reason):
            "cannot \(operation) in run store at \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
