extension CommandResult {
    /// The whole stdout, for parsing (JSON, YAML, ids): fails with a `StepFailure` naming `what`
    /// when the output was larger than the command's `outputLimit`, since `stdout` then holds
    /// only its end and a parser would read a fragment as if it were everything.
    public func completeStdout(_ what: String, limit: Int) throws -> String {
        guard !stdoutTruncated else {
            throw StepFailure("\(what): its output is larger than the \(ByteCount.format(limit)) the runner keeps, "
                              + "so it cannot be read whole; narrow what it lists")
        }
        return stdout
    }
}
