/// A step with `sudo:`: every command of the step runs through `sudo -u <user>` on the
/// underlying target (local or SSH), and files are written and read through sudo too.
///
/// The password, when the host needs one, travels only on the command's stdin (first line),
/// never in an argument or the environment. The remote wrapper first asks `sudo -n` whether a
/// password is needed at all; only if so is the line handed to `sudo -S`, so it can never
/// reach the command's own stdin.
public struct SudoTarget: Target {
    public let base: any Target
    /// The user commands run as (`root` for `sudo: true`).
    public let user: String
    let password: String?

    public init(base: any Target, user: String, password: String?) {
        self.base = base
        self.user = user
        self.password = password
    }

    public var name: String { base.name }

    public func run(_ command: Command, onOutput: @escaping @Sendable (OutputLine) -> Void) async throws -> CommandResult {
        var result = try await base.run(wrapped(command), onOutput: onOutput)
        if !result.succeeded, result.hint == nil { result.hint = hint(for: result.stderr) }
        return result
    }

    /// What to do when sudo itself refused, read from its messages on stderr (nil otherwise).
    func hint(for stderr: String) -> String? {
        if stderr.contains("sudo: a password is required") {
            return password == nil
                ? "sudo on \(name) asks for a password and the host has none: set `sudo_password` on the host in the inventory "
                    + "(the name of a secret holding it, see docs/ssh.md#sudo), or let the user run sudo without one (NOPASSWD)"
                : "sudo on \(name) asked for a password again: the host's `sudo_password` secret does not hold the right one"
        }
        if stderr.contains("incorrect password attempt") {
            return "sudo on \(name) rejected the password from the host's `sudo_password` secret"
        }
        if stderr.contains("is not in the sudoers file") || stderr.contains("is not allowed to execute") {
            return "the user may not run this through sudo as \(user) on \(name): its sudoers rules do not allow it"
        }
        return nil
    }

    /// `command` as the sudo wrapper runs it: the environment stays in the environment
    /// (named in `--preserve-env`, so values never show in a process list), the working
    /// directory is entered before sudo, and the password line is prepended to stdin.
    func wrapped(_ command: Command) -> Command {
        var inner: [String]
        switch command.executable {
        case .shell(let script): inner = ["/bin/sh", "-c", script]
        case .argv(let argv): inner = argv
        }
        let keep = command.environment.keys.sorted().joined(separator: ",")
        var wrapped = command
        wrapped.executable = .argv(["/bin/sh", "-c", Self.wrapper, "runner-sudo", user, password == nil ? "0" : "1", keep] + inner)
        if let password {
            wrapped.stdin = Array((password + "\n").utf8) + (command.stdin ?? [])
        }
        return wrapped
    }

    static let wrapper = """
        u=$1 p=$2 keep=$3; shift 3
        if [ "$p" = 1 ]; then
          IFS= read -r pw || pw=
          if sudo -n -u "$u" true 2>/dev/null; then
            pw=; exec sudo -n ${keep:+--preserve-env=$keep} -u "$u" -- "$@"
          fi
          { printf '%s\\n' "$pw"; pw=; exec cat; } | sudo -S -p '' ${keep:+--preserve-env=$keep} -u "$u" -- "$@"
        else
          exec sudo -n ${keep:+--preserve-env=$keep} -u "$u" -- "$@"
        fi
        """

    /// Atomic as the sudo user: a temporary file beside `path`, its mode set, renamed over.
    public func writeFile(_ path: String, contents: [UInt8], mode: Int) async throws {
        let script = """
            t="$(dirname -- "$1")/.$(basename -- "$1").runner.$$.tmp"
            umask 077 && cat > "$t" && chmod "$2" "$t" && mv -f -- "$t" "$1" || { rm -f -- "$t"; exit 1; }
            """
        let command = Command(.argv(["/bin/sh", "-c", script, "runner-write", path, String(mode, radix: 8)]),
                              stdin: contents, timeout: .seconds(300))
        let result = try await run(command) { _ in }
        guard result.succeeded else {
            throw TargetError(target: name, "cannot write '\(path)' as \(user): \(result.failureReason) \(result.stderrTail)")
        }
    }

    public func readFile(_ path: String, limit: Int) async throws -> [UInt8] {
        let command = Command(.argv(["od", "-An", "-v", "-tx1", "-N", String(limit + 1), "--", path]),
                              timeout: .seconds(300), outputLimit: 3 * (limit + 1) + 1024 + limit / 8)
        let result = try await run(command) { _ in }
        guard result.succeeded else {
            throw TargetError(target: name, "cannot read '\(path)' as \(user): \(result.failureReason) \(result.stderrTail)")
        }
        let bytes = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
        guard bytes.count <= limit else {
            throw TargetError(target: name, "cannot read '\(path)': larger than the limit of \(limit) bytes")
        }
        return bytes
    }
}
