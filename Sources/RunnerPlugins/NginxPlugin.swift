import Foundation
import RunnerCore

/// `uses: nginx` — configuration tests with file:line errors, reloads that refuse a broken
/// configuration, maintenance flag files and site installs that roll back when nginx rejects them.
///
/// ```yaml
/// - uses: nginx
///   on: hornbill
///   with: { maintenance: on, flag: /srv/proxy/hornbill/flags/sgos-phone.flag }
/// ```
///
/// Files (flags, sites) are written on the step's host; with `container:` nginx itself runs
/// inside that container (`docker exec sgos-proxy nginx …`), which sees them through its mounts.
public struct NginxPlugin: StepPlugin {
    public let name = "nginx"
    public let summary = "Test and reload nginx, switch maintenance flags, install sites with rollback"
    public let parameters = [
        ParameterSpec("test", .bool, doc: "Test the configuration (`nginx -t`); errors name the file and line"),
        ParameterSpec("reload", .bool,
                      doc: "Test, then reload (`nginx -s reload`); a broken configuration is never reloaded. With `site`: default true"),
        ParameterSpec("maintenance", .oneOf(["on", "off"]),
                      doc: "Create (`on`) or remove (`off`) the `flag` file the proxy checks; unchanged when already so, so safe in `finally`"),
        ParameterSpec("flag", .string, doc: "maintenance: the flag file, e.g. /srv/proxy/hornbill/flags/sgos-phone.flag"),
        ParameterSpec("site", .string,
                      doc: "Install this server block file (atomically), test, reload; when nginx rejects it the previous file is restored"),
        ParameterSpec("src", .string, doc: "site: local file to install (relative to the pipeline's directory)"),
        ParameterSpec("content", .string, doc: "site: the text to install instead (a template: `${{ }}` are filled in)"),
        ParameterSpec("mode", .string, default: .string("0644"), doc: "site: octal file mode"),
        ParameterSpec("config", .string, doc: "Main configuration file (`nginx -c`); default: nginx's own"),
        ParameterSpec("container", .string, doc: "Run nginx in this container (`docker exec <container> nginx …`), e.g. sgos-proxy"),
        ParameterSpec("binary", .string, default: .string("nginx"), doc: "The nginx program, e.g. /usr/sbin/nginx when the host's PATH lacks it"),
    ]
    public let outputs = [
        OutputSpec("maintenance", .string, doc: "maintenance: `on` or `off`, as it is now"),
        OutputSpec("path", .string, doc: "site: the file installed"),
        OutputSpec("file", .string, doc: "test failure: the file nginx complained about"),
        OutputSpec("line", .int, doc: "test failure: its line"),
        OutputSpec("message", .string, doc: "test failure: nginx's message"),
    ]

    public init() {}

    /// `nginx test`, `nginx reload`, `nginx maintenance on`, `nginx site sgos-phone.conf`.
    public func label(_ with: StepLabel) -> String {
        if with.has("maintenance") { return with.words(name, "maintenance", with.text("maintenance")) }
        if with.has("site") { return with.words(name, "site", with.file("site")) }
        if with.has("test") { return with.words(name, "test") }
        if with.has("reload") { return with.words(name, "reload") }
        return name
    }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let actions = ["test", "maintenance", "site"].filter { with[$0].map { !$0.isNull && $0 != .bool(false) } ?? false }
        let reload = with["reload"]?.boolValue
        guard actions.count <= 1, !(actions.first == "test" && reload == true), !(actions.first == "maintenance" && reload != nil) else {
            throw StepFailure("nginx: one of test, reload, maintenance or site per step (site may set reload: false)")
        }
        let nginx = NginxCLI(context: context, binary: with["binary"]?.stringValue ?? "nginx", config: with["config"]?.stringValue,
                             container: with["container"]?.stringValue)
        switch actions.first {
        case "test":
            if let problem = try await nginx.test() {
                throw StepFailure("nginx configuration test failed on \(nginx.where_): \(problem.text)", outputs: problem.outputs)
            }
            context.log("nginx configuration on \(nginx.where_) is valid")
            return StepResult()
        case "maintenance":
            return try await maintenance(with, context: context)
        case "site":
            return try await installSite(with, nginx: nginx, reload: reload ?? true)
        default:
            guard reload == true else { throw StepFailure("nginx needs one of test, reload, maintenance or site") }
            if let problem = try await nginx.test() {
                throw StepFailure("nginx: refusing to reload a broken configuration on \(nginx.where_) (the running nginx keeps its old one): \(problem.text)",
                                  outputs: problem.outputs)
            }
            try await nginx.reload()
            return StepResult(changed: true)
        }
    }
}
