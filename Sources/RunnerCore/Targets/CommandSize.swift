/// Why the kernel refused a command with `E2BIG` ("Argument list too long"), in words that name
/// the culprit: Linux limits each argument and each environment string to 128 KiB, and all of
/// them together to about a quarter of the stack limit (2 MiB by default).
public enum CommandSize {
    /// Linux's `MAX_ARG_STRLEN`: 32 pages of 4 KiB, terminating NUL included.
    public static let maxString = 128 << 10

    static let advice = "pass large data through a file (written by an earlier step) or on stdin instead"

    /// For a target that sends the whole command (environment and script included) as one
    /// string, as SSH does: the remote shell gets it as one argument, so it must stay under
    /// `maxString`. Names the largest value when one stands out.
    public static func remoteTooLong(_ command: Command, bytes: Int) -> String {
        var message = "the command is \(ByteCount.format(bytes)) with its environment, over the 128 KiB a remote shell accepts"
        if let (name, value) = command.environment.max(by: { $0.value.utf8.count < $1.value.utf8.count }), value.utf8.count > bytes / 2 {
            message += ": \(describe(variable: name)) is \(ByteCount.format(value.utf8.count))"
        }
        return message + "; " + advice
    }

    static func tooLong(_ command: Command, program: String) -> String {
        let largest = command.environment.max { $0.key.utf8.count + $0.value.utf8.count < $1.key.utf8.count + $1.value.utf8.count }
        if let (name, value) = largest, name.utf8.count + value.utf8.count + 2 > maxString {
            return "cannot run '\(program)': \(describe(variable: name)) is \(ByteCount.format(value.utf8.count)), over the "
                + "128 KiB Linux allows for one environment variable: \(advice)"
        }
        let arguments: [String] = switch command.executable {
        case .shell(let script): [script]
        case .argv(let argv): argv
        }
        if let index = arguments.indices.max(by: { arguments[$0].utf8.count < arguments[$1].utf8.count }),
           arguments[index].utf8.count + 1 > maxString {
            let what: String = if case .shell = command.executable { "the script" } else { "argument \(index)" }
            return "cannot run '\(program)': \(what) is \(ByteCount.format(arguments[index].utf8.count)), over the "
                + "128 KiB Linux allows for one argument: \(advice)"
        }
        let total = arguments.reduce(0) { $0 + $1.utf8.count + 1 }
            + command.environment.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 }
        return "cannot run '\(program)': its arguments and environment are too large together "
            + "(\(ByteCount.format(total)) added to the runner's own environment; Linux allows about 2 MiB): \(advice)"
    }

    /// `RUNNER_VALUE_2` is how a `run:` script receives its second `${{ }}` value.
    static func describe(variable name: String) -> String {
        let prefix = "RUNNER_VALUE_"
        guard name.hasPrefix(prefix), let number = Int(name.dropFirst(prefix.count)) else {
            return "environment variable \(name)"
        }
        return "the value of ${{ }} expression number \(number) in the script (passed as \(name))"
    }
}
