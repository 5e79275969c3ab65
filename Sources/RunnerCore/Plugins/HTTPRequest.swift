/// An HTTP request carried out by `curl` on a target, so it works from this machine or from a
/// host (a health probe from the app server itself) with the TLS stack the system trusts.
///
/// Everything — URL, headers, body — goes to curl on stdin as a config file, never on its command
/// line, where `ps` would show a webhook URL's key or a bearer token to every user of the host.
///
/// No value is ever read by curl as anything but text: the body goes in `data-raw` (with
/// `data-binary` a body starting with `@` would upload the named local file), a header name must
/// be an HTTP token (so no header line starts with `@`, which makes curl read headers from a file),
/// values may not hold line breaks or NUL bytes, only `http` and `https` URLs are accepted (also
/// for redirects, though none are followed), and `~/.curlrc` is not read (`-q`).
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
    ///
    /// - Throws: `Failure` when the method is not a token, the URL is not `http(s)://`, a header
    ///   name is not a token, or a value holds a line break (a header value) or a NUL byte.
    public var command: Command {
        get throws(Failure) {
            try check()
            var config = [
                "silent", "show-error", "globoff",
                "proto = \"=http,https\"", "proto-redir = \"=http,https\"",
                "request = \(quoted(method.uppercased()))",
                "url = \(quoted(url))",
                "max-time = \(max(1, timeout.milliseconds / 1000))",
                "write-out = \(quoted(Self.marker + "%{http_code}"))",
            ]
            for name in headers.keys.sorted() { config.append("header = \(quoted("\(name): \(headers[name]!)"))") }
            if let body { config.append("data-raw = \(quoted(body))") }
            let stdin = Array((config.joined(separator: "\n") + "\n").utf8)
            return Command(.argv(["curl", "-q", "--config", "-"]), stdin: stdin, timeout: timeout + .seconds(5), outputLimit: 8 << 20)
        }
    }

    /// Refuses what curl could read as something other than the text it is.
    private func check() throws(Failure) {
        guard Self.isToken(method) else { throw Failure(message: "HTTP method '\(method)' is not a valid token") }
        let lowercased = url.lowercased()
        guard lowercased.hasPrefix("http://") || lowercased.hasPrefix("https://") else {
            throw Failure(message: "only http:// and https:// URLs are allowed")
        }
        guard !url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw Failure(message: "the URL holds a control character")
        }
        for (name, value) in headers {
            guard Self.isToken(name) else { throw Failure(message: "header name '\(name)' is not a valid token") }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw Failure(message: "the value of header '\(name)' holds a line break or NUL byte")
            }
        }
        if let body, body.unicodeScalars.contains("\0") { throw Failure(message: "the body holds a NUL byte") }
    }

    /// An HTTP token (RFC 9110): letters, digits and !#$%&'*+-.^_`|~.
    private static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
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
