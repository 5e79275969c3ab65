/// An HTTP request carried out by `curl` on a target, so it works from this machine or from a
/// host (a health probe from the app server itself) with the TLS stack the system trusts.
///
/// Everything — URL, headers, body — goes to curl on stdin as a config file, never on its command
/// line, where `ps` would show a webhook URL's key or a bearer token to every user of the host.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: String?
    public var timeout: Duration

    public init(method: String = "GET", url: String, headers: [String: String] = [:], body: String? = nil,
                timeout: Duration = .seconds(30)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    public struct Response: Sendable, Hashable {
        public var status: Int
        public var body: String
    }

    /// Why a request got no HTTP response at all.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    static let marker = "\n--runner-http-status:"

    /// The command to run: curl reading its configuration from stdin.
    public var command: Command {
        var config = [
            "silent", "show-error", "globoff",
            "request = \(quoted(method.uppercased()))",
            "url = \(quoted(url))",
            "max-time = \(max(1, timeout.milliseconds / 1000))",
            "write-out = \(quoted(Self.marker + "%{http_code}"))",
        ]
        for name in headers.keys.sorted() { config.append("header = \(quoted("\(name): \(headers[name]!)"))") }
        if let body { config.append("data-binary = \(quoted(body))") }
        let stdin = Array((config.joined(separator: "\n") + "\n").utf8)
        return Command(.argv(["curl", "--config", "-"]), stdin: stdin, timeout: timeout + .seconds(5), outputLimit: 8 << 20)
    }

    /// The response, or why there is none.
    public func response(from result: CommandResult) throws(Failure) -> Response {
        guard result.exitCode == 0, let range = result.stdout.range(of: Self.marker, options: .backwards),
              let status = Int(result.stdout[range.upperBound...]) else {
            if result.exitCode == 127 { throw Failure(message: "\(method) \(url): curl is not installed on the target") }
            let reason = result.stderr.split(separator: "\n").last.map(String.init) ?? "curl exit code \(result.exitCode ?? -1)"
            throw Failure(message: "\(method) \(url): \(reason.replacingOccurrences(of: "curl: ", with: ""))")
        }
        return Response(status: status, body: String(result.stdout[..<range.lowerBound]))
    }

    /// A curl config string: double-quoted with \\, \", \n, \r and \t escaped.
    private func quoted(_ s: String) -> String {
        var out = "\""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

import Foundation
