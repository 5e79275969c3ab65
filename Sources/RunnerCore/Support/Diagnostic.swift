/// One problem found in user input, with where it is.
///
/// Printed as `deploy.yml:14:7: step 'migrate': unknown key 'retires' (did you mean 'retry'?)`.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// Input was rejected before anything ran: every problem found, in file order. Exit code 2.
public struct InvalidInput: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { a, b in
            switch (a.location, b.location) {
            case let (l?, r?): return l < r
            case (nil, _?): return true
            default: return false
            }
        }
    }

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.init([Diagnostic(message, at: location)])
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
