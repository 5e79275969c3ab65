import Foundation
import RunnerCore
import Testing

/// `runner.http.request` sends values as text: nothing in a body, header or URL makes curl read a
/// local file (curl's `@file` and `<file` forms), against a real HTTP server.
@Suite(.serialized) struct LuaHTTPRequestTests {
    /// A file whose content must never reach the server.
    static func secretFile(in dir: TempDir) throws -> String {
        let path = dir.path + "/secretfile"
        try "TOP-SECRET-CONTENT\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func post(_ fields: String, params: [String: Value], server: TestHTTPServer, dir: TempDir) async throws -> Harness.Result {
        try await Harness.run("""
            params:
              msg: { default: "" }
              note: { default: "" }
            steps:
              - id: send
                lua: |
                  local r = runner.http.request { method = "POST", url = "\(server.base)/chat", \(fields) }
                  return { status = r.status }
            """, params: params, dir: dir)
    }

    func recorded(_ server: TestHTTPServer) throws -> Value? {
        try JSON.decode(try server.get("/chat/requests")).listValue?.last
    }

    @Test func aBodyStartingWithAtIsSentAsText() async throws {
        let server = try TestHTTPServer()
        let dir = TempDir()
        let secret = try Self.secretFile(in: dir)
        let r = try await post("body = params.msg", params: ["msg": .string("@" + secret)], server: server, dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        let request = try recorded(server)
        #expect(request?["body"]?.stringValue == "@" + secret)
        #expect(request?["body"]?.stringValue?.contains("TOP-SECRET") == false)
    }

    @Test func otherFileFormsInBodyAndHeaderAreSentAsText() async throws {
        let server = try TestHTTPServer()
        let dir = TempDir()
        let secret = try Self.secretFile(in: dir)
        for value in ["<" + secret, "@" + secret, "@-", "line one\nline two"] {
            let r = try await post("body = params.msg, headers = { [\"X-Note\"] = params.note }",
                                   params: ["msg": .string(value), "note": .string(value.replacingOccurrences(of: "\n", with: " "))],
                                   server: server, dir: dir)
            #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
            let request = try recorded(server)
            #expect(request?["body"]?.stringValue == value)
            #expect(request?["note"]?.stringValue == value.replacingOccurrences(of: "\n", with: " "))
        }
    }

    @Test func aHeaderNameThatIsNotATokenIsRefused() async throws {
        let server = try TestHTTPServer()
        let dir = TempDir()
        let secret = try Self.secretFile(in: dir)
        let r = try await post("headers = { [params.note] = \"x\" }", params: ["note": .string("@" + secret)], server: server, dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(r.sink.finished.first?.error?.contains("is not a valid token") == true, "\(r.sink.transcript)")
        #expect(try server.get("/chat/requests") == "[]")
    }

    @Test func aHeaderValueWithALineBreakIsRefused() async throws {
        let server = try TestHTTPServer()
        let r = try await post("headers = { [\"X-Note\"] = params.note }", params: ["note": .string("a\r\nX-Injected: 1")],
                               server: server, dir: TempDir())
        #expect(r.outcome.status == .failed)
        #expect(r.sink.finished.first?.error?.contains("line break") == true, "\(r.sink.transcript)")
        #expect(try server.get("/chat/requests") == "[]")
    }

    @Test func onlyHTTPURLsAreAccepted() throws {
        for url in ["file:///etc/passwd", "ftp://127.0.0.1/", "HTTP://127.0.0.1/", "http://a\nb"] {
            let request = HTTPRequest(url: url)
            let accepted = (try? request.command) != nil
            #expect(accepted == (url == "HTTP://127.0.0.1/"), "\(url)")
        }
        let config = String(decoding: try HTTPRequest(method: "POST", url: "http://h/", body: "@/etc/passwd").command.stdin ?? [], as: UTF8.self)
        #expect(config.contains("data-raw = \"@/etc/passwd\""))
        #expect(!config.contains("data-binary"))
    }
}
