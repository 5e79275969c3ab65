@testable import RunnerCore
import Testing

/// The classes an adversarial review found still running a value as code (issue 10): old
/// arithmetic and the integer attribute, line continuations, interpreter options and names,
/// heredocs read by programs, variables the shell evaluates. `@` marks a value.
@Suite struct ShellContextFailClosedTests {
    static func judge(_ script: String) -> [String] { ShellContextTests.judge(script) }

    @Test(arguments: [
        // 1. Arithmetic.
        ("echo \"next=$[ @ + 1 ]\"", "arithmetic"),
        ("echo $[@]", "arithmetic"),
        ("x=$[@]", "arithmetic"),
        ("echo $[ a[1] + @ ]", "arithmetic"),
        ("cat > f <<EOF\n$[ @ ]\nEOF", "arithmetic"),
        ("declare -i n=@", "may give an attribute"),
        ("typeset -i n=@", "may give an attribute"),
        ("f() { local -i n=@; }; f", "may give an attribute"),
        ("declare -ix n=@", "may give an attribute"),
        ("declare -li n=@", "may give an attribute"),
        ("readonly -i n=@", "may give an attribute"),
        ("export -n n=@", "may give an attribute"),
        ("declare -i n=$(printf %s @)", "may give an attribute"),
        ("declare +x n=@", "may give an attribute"),
        ("declare -i n\nn=@", "integer attribute"),
        ("typeset -ri count=1 n; n+=@", "integer attribute"),
        ("local -i n; n=\"@\"", "integer attribute"),
        ("declare -i n\nexport n=@", "integer attribute"),
        // 2. Line continuations.
        ("sh \\\n  -c \"echo @\"", "it is the program `sh -c`"),
        ("bash \\\n  -c \"echo @\"", "it is the program `bash -c`"),
        ("sh \\\n\\\n -c \"echo @\"", "it is the program `sh -c`"),
        ("sh -c \\\n\\\n \"echo @\"", "it is the program `sh -c`"),
        ("sh -x \\\n -c \"echo @\"", "it is the program `sh -c`"),
        ("python3 \\\n -c \"print(@)\"", "it is the program `python3 -c`"),
        ("perl \\\n -e \"print @\"", "it is the program `perl -e`"),
        ("s\\\nh -c \"echo @\"", "it is the program `sh -c`"),
        ("echo \"a\\\n$(( @ ))\"", "arithmetic"),
        ("sudo \\\n  @ arg", "runs the program named here"),
        ("timeout \\\n 5 @", "runs the program named here"),
        ("\"s\\\nh\" -c \"echo @\"", "it is the program `sh -c`"),
        // 3. Interpreter options and names.
        ("sh +e -c \"echo @\"", "it is the program `sh"),
        ("sh +x -c \"echo @\"", "it is the program `sh"),
        ("bash --rcfile /dev/null -c \"echo @\"", "it is the program `bash -c`"),
        ("bash -o errexit -c \"echo @\"", "it is the program `bash -c`"),
        ("bash -O extglob -c \"echo @\"", "it is the program `bash -c`"),
        ("bash --norc --noprofile -c \"echo @\"", "it is the program `bash -c`"),
        ("bash --init-file @", "still reads options"),
        ("rbash -c \"echo @\"", "it is the program `rbash -c`"),
        ("ash -c \"echo @\"", "it is the program"),
        ("ksh -c \"echo @\"", "it is the program"),
        ("mksh -c \"echo @\"", "it is the program"),
        ("zsh -c \"echo @\"", "it is the program"),
        ("fish -c \"echo @\"", "it is the program"),
        ("csh -c \"echo @\"", "it is the program"),
        ("tcsh -c \"echo @\"", "it is the program"),
        ("yash -c \"echo @\"", "it is the program"),
        ("posh -c \"echo @\"", "it is the program"),
        ("dash -c \"echo @\"", "it is the program"),
        ("busybox sh -c \"echo @\"", "it is the program"),
        ("/usr/bin/bash -c \"echo @\"", "it is the program"),
        ("./sh -c \"echo @\"", "it is the program"),
        ("perl -ne \"print @\" f", "it is the program `perl -ne`"),
        ("perl -le \"print @\"", "it is the program `perl -le`"),
        ("ruby -ne \"puts @\"", "it is the program `ruby -ne`"),
        ("node -pe \"@\"", "it is the program `node -pe`"),
        ("python3 -Bc \"print(@)\"", "it is the program `python3 -Bc`"),
        ("php -nr \"echo @;\"", "it is the program `php -nr`"),
        ("sh -s arg <<EOF\necho @\nEOF", "the heredoc is the input of `sh`"),
        // 5. Heredoc consumers.
        ("awk -f /dev/stdin <<EOF\nBEGIN { print @ }\nEOF", "the heredoc is the input of `awk`"),
        ("awk -f - <<EOF\n@\nEOF", "the heredoc is the input of `awk`"),
        ("sed -f - f <<EOF\n@\nEOF", "the heredoc is the input of `sed`"),
        ("bc <<EOF\n@\nEOF", "the heredoc is the input of `bc`"),
        ("kubectl apply -f - <<EOF\n@\nEOF", "the heredoc is the input of `kubectl`"),
        ("while read l; do eval \"$l\"; done <<EOF\n@\nEOF", "a compound command"),
        ("cat <<EOF | awk -f -\n@\nEOF", "piped into `awk`"),
        ("cat <<EOF | python3\n@\nEOF", "piped into `python3`"),
        ("echo @ | awk -f -", "it is piped into `awk`"),
        // 6. Variables the shell or a program evaluates.
        ("PS4=@\nset -x", "`PS4` is a variable"),
        ("PS4=\"@\"; set -x", "`PS4` is a variable"),
        ("PROMPT_COMMAND=@ bash -i", "`PROMPT_COMMAND` is a variable"),
        ("GIT_SSH_COMMAND=@ git fetch", "`GIT_SSH_COMMAND` is a variable"),
        ("export PATH=@:$PATH", "`PATH` is a variable"),
        ("env LD_PRELOAD=@ ls", "`LD_PRELOAD` is a variable"),
        ("IFS=@ read a b", "`IFS` is a variable"),
        ("declare EDITOR=@", "`EDITOR` is a variable"),
        ("BASH_ENV=@ bash x.sh", "`BASH_ENV` is a variable"),
        ("NODE_OPTIONS=\"--require @\" node app.js", "`NODE_OPTIONS` is a variable"),
    ])
    func refused(_ script: String, _ reason: String) {
        ShellContextTests.expectRefused(script, reason)
    }

    @Test(arguments: [
        ("sh script.sh @", "word"),
        ("sh +e script.sh @", "word"),
        ("bash -x ./deploy.sh @", "word"),
        ("sh -c 'echo \"$1\"' sh @", "word"),
        ("sh \\\n  -c 'echo \"$1\"' \\\n  sh @", "word"),
        ("bash --norc -c 'echo \"$1\"' sh @", "word"),
        ("echo \\\n  @", "word"),
        ("echo \"a\\\nb @\"", "doubleQuoted"),
        ("echo '$[' @", "word"),
        ("declare n=@; declare -- m=@", "word word"),
        ("declare -i n\nm=@", "word"),
        ("cat > f <<EOF\n@\nEOF", "heredoc"),
        ("cat <<EOF > f\n@\nEOF", "heredoc"),
        ("sudo tee /etc/x > /dev/null <<EOF\n@\nEOF", "heredoc"),
        ("cat <<EOF | sudo tee f\n@\nEOF", "heredoc"),
        ("base64 -d > f <<EOF\n@\nEOF", "heredoc"),
        ("PSX=@ cmd", "word"),
        ("GIT_AUTHOR_NAME=@ git commit -m x", "word"),
    ])
    func accepted(_ script: String, _ expected: String) {
        #expect(Self.judge(script).joined(separator: " ") == expected, "\(script): \(Self.judge(script))")
    }

    /// A plugin's argv list (docker `command:`) follows the same rules: only the program's code is refused.
    @Test(arguments: [
        (["sh", "-c", "echo hello @"], [2]),
        (["sh", "+e", "-c", "@"], [3]),
        (["bash", "--rcfile", "/dev/null", "-c", "echo @"], [4]),
        (["python3", "-c", "print(@)"], [2]),
        (["@", "x"], [0]),
        (["env", "PS4=@", "sh", "-x", "s.sh"], [1]),
        (["sh", "script.sh", "@"], []),
        (["sh", "-c", "echo \"$1\"", "sh", "@"], []),
        (["printenv", "@"], []),
    ])
    func argvLists(_ argv: [String], _ refused: [Int]) {
        let words = argv.enumerated().map { k, a in
            var word = ShellWord()
            for (n, piece) in a.split(separator: "@", omittingEmptySubsequences: false).enumerated() {
                if n > 0 { word.appendUnknown(); word.values = [k] }
                piece.forEach { word.append($0) }
            }
            return word
        }
        let judged = words.indices.filter { !words[$0].values.isEmpty && ShellContext.argvRefusal(words, at: $0) != nil }
        #expect(judged == refused, "\(argv)")
    }
}
