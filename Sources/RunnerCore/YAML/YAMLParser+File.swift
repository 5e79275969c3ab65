import Foundation

extension YAMLParser {
    /// The bytes of the YAML file at `path`, for `parse`. A file larger than `limits.maxBytes`
    /// is refused before it is read (and, for devices and pipes, as soon as reading passes the
    /// limit), so pointing the runner at a huge file or `/dev/zero` fails at once.
    ///
    /// - Throws: `InvalidInput` located at the file's line 1, column 1.
    public static func readFile(_ path: String, limits: YAMLLimits = .default) throws(InvalidInput) -> [UInt8] {
        let start = SourceLocation(file: path, line: 1, column: 1)
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > limits.maxBytes {
            throw InvalidInput("file is too large (\(info.st_size) bytes; the limit is \(limits.maxBytes))", at: start)
        }
        do {
            return try LocalFiles.read(path, limit: limits.maxBytes, target: "local")
        } catch let error as TargetError {
            throw InvalidInput(error.message, at: start)
        } catch {
            throw InvalidInput("cannot read '\(path)': \(error)", at: start)
        }
    }
}
