/// What well-known programs do with their arguments, so the position tracker can tell whether a
/// `${{ }}` value in an argument stays data or is read as code by the program (a nested shell,
/// `eval`, `ssh`, an awk program) or as an option or variable name (`-e`, `a[$(cmd)]`).
///
/// The rule is looked up by the word's basename; the rightmost known word of a simple command
/// decides (`sudo -u app bash -c "…"` is judged as `bash`), so wrappers and `docker exec … sh -c`
/// are covered. A word that merely looks like a known program (`echo eval x`) is judged as one:
/// refusing too much is safe, refusing too little is not.
enum ShellCommandRule {
    /// Every argument is code or is parsed again (`eval`, `ssh host cmd`, `su -c`).
    case everyArgument(String)
    /// Arguments are variable names or arithmetic, evaluated by bash (`let`, `read`, `unset`).
    case names
    /// A script interpreter: `-c`/`-e` takes code; else the first operand is the script file.
    /// Options are read until the first operand, so a value before it could be an option.
    /// `cluster`: letters that take code inside a short-option cluster (`-xc`, `+e`, `-ne`).
    case interpreter(code: Set<String>, cluster: Set<Character>, operandOptions: Set<String>)
    /// awk, sed, jq: the first operand is a program; options are read anywhere (GNU), so a value
    /// is data only as the operand of a data option or after `--` and the program.
    case program(code: Set<String>, file: Set<String>, data: [String: Int])
    /// sudo, env, timeout…: options, `leading` fixed operands, then the program to run.
    case wrapper(operandOptions: Set<String>, leading: Int)
    /// `.` and `source`: the first argument names a file run as code.
    case runsFile
    case printf
    case declaration
    case test

    /// The rule for a word as written (`/usr/bin/sudo` → sudo's rule).
    static func rule(for word: String) -> ShellCommandRule? {
        let name = word.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? word
        if let rule = table[name] { return rule }
        if name.hasPrefix("python") || name.hasPrefix("lua") || name.hasPrefix("perl") || name.hasPrefix("ruby") {
            return table[String(name.prefix(while: \.isLetter))]
        }
        return nil
    }

    static let shell = ShellCommandRule.interpreter(code: ["-c"], cluster: ["c"], operandOptions: ["-o", "+o", "-O", "+O"])

    static let table: [String: ShellCommandRule] = {
        var t: [String: ShellCommandRule] = [:]
        for name in ["sh", "bash", "rbash", "dash", "zsh", "ksh", "ksh93", "pdksh", "oksh", "lksh", "mksh", "ash", "yash",
                     "posh", "fish", "csh", "tcsh", "elvish", "nu", "xonsh"] { t[name] = shell }
        t["python"] = .interpreter(code: ["-c"], cluster: ["c"], operandOptions: ["-W", "-X"])
        t["pypy"] = t["python"]
        t["perl"] = .interpreter(code: ["-e", "-E"], cluster: ["e", "E"], operandOptions: [])
        t["ruby"] = .interpreter(code: ["-e"], cluster: ["e"], operandOptions: [])
        t["node"] = .interpreter(code: ["-e", "-p", "--eval", "--print"], cluster: ["e", "p"], operandOptions: ["-r", "--require"])
        t["nodejs"] = t["node"]
        for name in ["deno", "bun"] { t[name] = .everyArgument("`\(name)` runs code given in its arguments (`eval`, `-e`)") }
        t["php"] = .interpreter(code: ["-r", "-B", "-R", "-E"], cluster: ["r", "B", "R", "E"], operandOptions: [])
        t["lua"] = .interpreter(code: ["-e"], cluster: ["e"], operandOptions: ["-l"])
        for name in ["awk", "gawk", "mawk", "nawk", "busybox-awk"] {
            t[name] = .program(code: [], file: ["-f", "--file"], data: ["-v": 1, "-F": 1, "--assign": 1, "--field-separator": 1])
        }
        t["sed"] = .program(code: ["-e", "--expression"], file: ["-f", "--file"], data: ["-l": 1, "--line-length": 1])
        for name in ["jq", "gojq", "yq"] {
            t[name] = .program(code: [], file: ["-f", "--from-file"],
                               data: ["--arg": 2, "--argjson": 2, "--slurpfile": 2, "--rawfile": 2, "--indent": 1, "-L": 1])
        }
        for name in ["eval", "trap", "alias", "watch", "flock", "parallel", "expect", "osascript", "pwsh", "powershell",
                     "at", "batch", "crontab", "psql", "mysql", "mariadb", "sqlite3", "tclsh", "wish"] {
            t[name] = .everyArgument("`\(name)` reads its arguments as a program")
        }
        for name in ["ssh", "scp", "rsync", "sftp"] {
            t[name] = .everyArgument("`\(name)` hands arguments to a shell on the remote host, which parses them again")
        }
        for name in ["su", "runuser"] { t[name] = .everyArgument("`\(name)` runs its command through a shell") }
        t["xargs"] = .everyArgument("`xargs` splits and unquotes what it reads and builds commands from it")
        for name in ["let", "read", "unset", "mapfile", "readarray", "getopts", "wait", "shift", "[["] { t[name] = .names }
        t["sudo"] = .wrapper(operandOptions: ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R"], leading: 0)
        t["doas"] = .wrapper(operandOptions: ["-u", "-C"], leading: 0)
        t["env"] = .wrapper(operandOptions: ["-u", "-C", "--unset", "--chdir", "-S", "--split-string"], leading: 0)
        t["timeout"] = .wrapper(operandOptions: ["-s", "-k", "--signal", "--kill-after"], leading: 1)
        t["nice"] = .wrapper(operandOptions: ["-n", "--adjustment"], leading: 0)
        t["ionice"] = .wrapper(operandOptions: ["-c", "-n", "-p", "-P", "-u"], leading: 0)
        t["stdbuf"] = .wrapper(operandOptions: ["-i", "-o", "-e"], leading: 0)
        t["chroot"] = .wrapper(operandOptions: [], leading: 1)
        t["chrt"] = .wrapper(operandOptions: [], leading: 1)
        t["taskset"] = .wrapper(operandOptions: [], leading: 1)
        t["exec"] = .wrapper(operandOptions: ["-a"], leading: 0)
        for name in ["nohup", "setsid", "command", "builtin", "time", "unbuffer", "nsenter", "unshare", "strace", "busybox", "toybox"] {
            t[name] = .wrapper(operandOptions: [], leading: 0)
        }
        t["."] = .runsFile
        t["source"] = .runsFile
        t["printf"] = .printf
        for name in ["declare", "typeset", "local", "export", "readonly"] { t[name] = .declaration }
        t["test"] = .test
        t["["] = .test
        return t
    }()

    /// Programs (not shell builtins like `.`, `[` or `read`), which an unknown program may run
    /// with its arguments: `find -exec sh -c`, `docker exec app sh -c`.
    var runsPrograms: Bool {
        switch self {
        case .everyArgument, .interpreter, .program, .wrapper: true
        default: false
        }
    }

    /// What decides how `words[index]` is read.
    enum Governing {
        /// No known program reads it specially: data.
        case data
        case refused(String)
        /// The rule of the word at this position, and its program's name.
        case rule(Int, ShellCommandRule, String)
    }

    /// Follows a simple command from its program word: through wrappers (`sudo -u app bash`) to
    /// the program they run, and past unknown programs to a known one among their arguments
    /// (`docker exec app sh -c`, `find -exec sh -c`), which then decides.
    static func governing(_ words: [ShellWord], _ index: Int) -> Governing {
        var p = 0
        while p < index {
            let word = words[p]
            guard let name = word.dynamic ? (word.literalSuffix.contains("/") ? word.literalSuffix : nil) : word.text else {
                return .refused("the program that reads it is only known at run time, so it could be one that reads it as code")
            }
            let program = String(name.split(separator: "/").last ?? Substring(name))
            if let rule = rule(for: name) {
                let args = Array(words[(p + 1)...])
                if let q = rule.wrapped(args, before: index - p - 1, program: program) {
                    p += 1 + q
                    continue
                }
                return .rule(p, rule, program)
            }
            guard let q = ((p + 1)..<index).first(where: { !words[$0].dynamic && rule(for: words[$0].text)?.runsPrograms == true }) else {
                return .data
            }
            p = q
        }
        return .data
    }

    /// What a word is to a wrapper (`sudo`, `env`, `timeout`).
    enum WrapperPart {
        case option, optionOperand, assignment, fixedOperand, program
        /// An argument of the program it runs, which is `args[q]`.
        case wrapped(Int)
    }

    /// What `args[index]` is to this wrapper: its option, an option's operand (`-u app`), an
    /// `env` assignment, a fixed operand (timeout's duration), the program, or past the program.
    func wrapperPart(_ args: [ShellWord], at index: Int, program: String) -> WrapperPart? {
        guard case .wrapper(let operandOptions, let leading) = self else { return nil }
        var i = 0
        var operands = 0
        while i <= index {
            let a = args.indices.contains(i) ? args[i].text : ""
            var part = WrapperPart.option
            var width = 1
            if a == "--" {
                part = .option
            } else if operands == 0, a.hasPrefix("-"), a != "-" {
                if operandOptions.contains(a) {
                    if i + 1 == index { return .optionOperand }
                    width = 2
                }
            } else if program == "env", operands == 0, ShellWord.isAssignment(a) {
                part = .assignment
            } else if operands >= leading {
                return i == index ? .program : .wrapped(i)
            } else {
                operands += 1
                part = .fixedOperand
            }
            if i == index { return part }
            i += width
        }
        return .option
    }

    /// For a wrapper, the index in `args` of the program it runs, when that comes before `limit`.
    func wrapped(_ args: [ShellWord], before limit: Int, program: String) -> Int? {
        if case .wrapped(let q)? = wrapperPart(args, at: limit, program: program) { return q }
        return nil
    }

    /// Why a value in `args[index]` is not data for this program, or nil when it is.
    /// `args` are the words after the program's own word; later words may be missing.
    func refusal(_ args: [ShellWord], at index: Int, program: String) -> String? {
        switch self {
        case .everyArgument(let why):
            return "\(why), so a value there would be code"
        case .names:
            return "`\(program)` reads its arguments as variable names or arithmetic, where bash runs `$(…)` found in an array subscript"
        case .interpreter(let code, let cluster, let operandOptions):
            // Fails closed: once a code option appears anywhere before, the first operand after it
            // is the program, and everything up to it could be code or an option's operand.
            if let c = args[..<index].firstIndex(where: { Self.isCodeOption($0.text, code, cluster) }) {
                if args[(c + 1)..<index].contains(where: { !Self.isOption($0.text) }) { return nil }  // $0, $1, sys.argv
                return "it is the program `\(program) \(args[c].text)` runs (or an option before it), so a value there would be code"
            }
            var i = 0
            while i < index {
                let a = args[i].text
                if a == "--" || a == "-m" {
                    // The next word is the script (or module); after it, only data.
                    if i + 1 < index { return args[i + 1].dynamic ? "`\(program)` runs a script whose name holds a value" : nil }
                    return "`\(program)` runs the script named here, so a value would choose the code"
                }
                if operandOptions.contains(a) { i += 2; continue }
                if Self.isOption(a) { i += 1; continue }
                return args[i].dynamic ? "`\(program)` runs a script whose name holds a value" : nil
            }
            return "`\(program)` still reads options and its program here, so a value could become one"
        case .program(let code, let file, let data):
            var i = 0
            var programGiven = false
            var endOfOptions = false
            while i < index {
                let a = args[i].text
                if !endOfOptions, a == "--" { endOfOptions = true; i += 1; continue }
                if !endOfOptions, a.hasPrefix("-"), a != "-" {
                    if code.contains(a) {
                        if i + 1 == index { return "it is the program `\(program) \(a)` runs, so a value there would be code" }
                        programGiven = true; i += 2; continue
                    }
                    if file.contains(a) {
                        if i + 1 == index { return "it names the file `\(program)` reads its program from" }
                        programGiven = true; i += 2; continue
                    }
                    if let n = data[a] {
                        if index <= i + n { return nil }
                        i += n + 1; continue
                    }
                    i += 1; continue
                }
                programGiven = true
                i += 1
            }
            if !programGiven { return "it is the program `\(program)` runs, so a value there would be code" }
            if !endOfOptions { return "`\(program)` reads options in any position, so a value could become one (write `--` before the operands)" }
            return nil
        case .wrapper:
            if args[..<index].contains(where: { $0.text == "-S" || $0.text == "--split-string" }) {
                return "`\(program) -S` splits its argument into a command"
            }
            switch wrapperPart(args, at: index, program: program) {
            case .optionOperand?, .assignment?, .wrapped?: return nil
            default: return "`\(program)` runs the program named here, so a value would choose what runs or add options"
            }
        case .runsFile:
            return nil  // the file is judged like a command word when the word is complete
        case .printf:
            var i = 0
            while i < index, args[i].text == "--" || args[i].text == "-v" {
                if args[i].text == "-v" { if i + 1 == index { return "`printf -v` takes a variable name, where bash runs `$(…)` found in an array subscript" }; i += 2 } else { i += 1 }
            }
            return i == index ? "it is printf's format, where `%` and `\\` are directives, not text" : nil
        case .declaration:
            if let option = args[..<index].first(where: { Self.isOption($0.text) || $0.dynamic }) {
                return "`\(program) \(option.literalPrefix)…` may give an attribute that makes bash evaluate the value "
                    + "(`-i` as arithmetic, `-a`/`-A` as array syntax), where `a[$(cmd)]` runs cmd"
            }
            if args.indices.contains(index), ShellWord.isAssignment(args[index].literalPrefix) { return nil }
            return "`\(program)` reads a variable name here, where bash runs `$(…)` found in an array subscript"
        case .test:
            return nil  // judged when the command is complete (see `testRefusal`)
        }
    }

    /// An option word: `-x`, `+e`, `--rcfile` (not `-`, `+` or `--` alone).
    static func isOption(_ a: String) -> Bool {
        (a.hasPrefix("-") || a.hasPrefix("+")) && a.count > 1 && a != "--"
    }

    /// `-c`, `-xc`, `+ec`, `-ne`: an option that makes the next operand the program.
    static func isCodeOption(_ a: String, _ code: Set<String>, _ cluster: Set<Character>) -> Bool {
        if code.contains(a) { return true }
        guard isOption(a), !a.hasPrefix("--") else { return false }
        return a.dropFirst().contains(where: cluster.contains)
    }

    /// Programs known to read their standard input as data, so a heredoc body fed to them stays data.
    static let inputDataReaders: Set<String> = ["cat", "tee", "dd", "head", "tail", "sponge", "base64", "wc", "sort", "uniq",
                                                "cut", "tr", "grep"]
    static let inputDataReaderList = inputDataReaders.sorted().map { "`\($0)`" }.joined(separator: ", ")

    /// Who reads the standard input of `command` when it is not a known data reader (through
    /// wrappers: `sudo tee`), as "`name`"; nil when it reads it as data.
    static func inputConsumer(_ command: [ShellWord]) -> String? {
        var p = 0
        while p < command.count {
            let word = command[p]
            guard !word.dynamic else { return "`\(word.literalPrefix)…`, a program only known at run time" }
            let name = String(word.text.split(separator: "/").last ?? Substring(word.text))
            if inputDataReaders.contains(name) { return nil }
            let args = Array(command[(p + 1)...])
            guard let rule = rule(for: word.text), case .wrapper = rule,
                  let k = args.indices.first(where: { if case .program? = rule.wrapperPart(args, at: $0, program: name) { true } else { false } })
            else { return "`\(name)`" }
            p += 1 + k
        }
        return "a compound command or no command"
    }

    /// Variables the shell evaluates (`PS4`, `PROMPT_COMMAND`), that choose what runs (`PATH`,
    /// `LD_PRELOAD`, `GIT_SSH_COMMAND`, `EDITOR`) or that carry options to an interpreter (`PERL5OPT`).
    static func isCodeVariable(_ name: String) -> Bool {
        let names: Set<String> = ["PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "ENV", "BASH_ENV", "PATH", "CDPATH", "FPATH", "IFS",
                                  "SHELLOPTS", "BASHOPTS", "GLOBIGNORE", "ZDOTDIR", "GCONV_PATH", "PYTHONSTARTUP", "PYTHONPATH",
                                  "PYTHONHOME", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH",
                                  "PAGER", "MANPAGER", "EDITOR", "VISUAL", "BROWSER", "SHELL", "LESSOPEN", "LESSCLOSE", "SSH_ASKPASS",
                                  "SUDO_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR",
                                  "GIT_SEQUENCE_EDITOR", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_DIR"]
        return names.contains(name) || name.hasPrefix("LD_") || name.hasPrefix("GIT_CONFIG") || name.hasPrefix("BASH_FUNC_")
    }

    /// Programs that read standard input as code whatever their arguments.
    static let stdinReaders: Set<String> = ["ssh", "su", "runuser", "psql", "mysql", "mariadb", "sqlite3", "at", "batch",
                                            "crontab", "xargs", "parallel", "expect", "tclsh", "pwsh", "powershell", "osascript"]

    /// What in `command` reads its standard input as a program (`bash`, `ssh host`, `python3 -`),
    /// as "`name`", or nil when its input is data.
    static func codeReader(_ command: [ShellWord]) -> String? {
        guard !command.isEmpty else { return nil }
        switch governing(command + [ShellWord()], command.count) {
        case .data: return nil
        case .refused: return "`\(command[0].literalPrefix)…`, a program only known at run time"
        case .rule(let j, let rule, let name):
            switch rule {
            case .interpreter(let code, let cluster, let operandOptions):
                var i = j + 1
                while i < command.count {
                    let a = command[i].text
                    if isCodeOption(a, code, cluster) { return nil }
                    // `sh -s arg`: the program is standard input, the operands are its arguments.
                    if cluster.contains("c"), isOption(a), !a.hasPrefix("--"), a.contains("s") { return "`\(name)`" }
                    if operandOptions.contains(a) { i += 2; continue }
                    if ["-", "/dev/stdin", "/dev/fd/0"].contains(a) { return "`\(name)`" }
                    if isOption(a) { i += 1; continue }
                    return nil  // a script file: standard input is its data
                }
                return "`\(name)`"
            case .everyArgument where stdinReaders.contains(name): return "`\(name)`"
            case .program(_, let file, _):
                // `awk -f -`, `sed -f /dev/stdin`: the program is read from standard input.
                let args = command.dropFirst(j + 1).map(\.text)
                for (k, a) in zip(args.indices, args) where file.contains(a) && k + 1 < args.endIndex {
                    if ["-", "/dev/stdin", "/dev/fd/0"].contains(args[k + 1]) { return "`\(name)`" }
                }
                return nil
            case .runsFile where command.dropFirst(j + 1).first?.text == "/dev/stdin": return "`\(name)`"
            default: return nil
            }
        }
    }

    /// `test`/`[`: a value must be an operand beside a literal operator; elsewhere it could
    /// itself be an operator (`-v a[$(cmd)]` runs the command in bash).
    static func testRefusal(_ args: [ShellWord], at index: Int) -> String? {
        let unary: Set<String> = ["-n", "-z", "-e", "-f", "-d", "-r", "-w", "-x", "-s", "-L", "-h", "-b", "-c", "-p",
                                  "-S", "-g", "-u", "-k", "-t", "-G", "-O", "-N", "!"]
        let binary: Set<String> = ["=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef", "<", ">"]
        let literal = { (i: Int) -> String? in args.indices.contains(i) && !args[i].dynamic ? args[i].text : nil }
        if let before = literal(index - 1), unary.contains(before) || binary.contains(before) { return nil }
        if let after = literal(index + 1), binary.contains(after) { return nil }
        return "in `test`/`[` a value that is not beside a literal operator could be read as an operator (`-v` runs `$(…)` in bash)"
    }
}
