@testable import RunnerCore
import Testing

/// The position tracker alone: `@` in a script marks where a `${{ }}` value stands.
@Suite struct ShellContextTests {
    /// Each value's slot, or the start of its refusal reason.
    static func judge(_ script: String) -> [String] {
        var context = ShellContext()
        let pieces = script.split(separator: "@", omittingEmptySubsequences: false)
        var slots: [ShellContext.Slot] = []
        for (i, piece) in pieces.enumerated() {
            context.consume(String(piece))
            if i < pieces.count - 1 { slots.append(context.value(i)) }
        }
        context.finish()
        return slots.enumerated().map { i, slot in context.refusals[i].map { "refused: \($0)" } ?? "\(slot)" }
    }

    @Test(arguments: [
        ("echo @", "word"),
        ("echo x@y", "word"),
        ("echo \"a @ b\"", "doubleQuoted"),
        ("echo \"say \\\"@\\\"\"", "doubleQuoted"),
        ("echo \"$(printf '%s' @)\"", "word"),
        ("echo \"`printf '%s' @`\"", "word"),
        ("echo $(echo \"$(echo @)\")", "word"),
        ("cat > f <<EOF\nPORT=@\nEOF\necho @", "heredoc word"),
        ("cat > f <<-EOF\n\tPORT=@\n\tEOF\necho @", "heredoc word"),
        ("cat <<A <<B\n@\nA\n@\nB\necho @", "heredoc heredoc word"),
        ("cat <<EOF\n$(echo @)\nEOF", "word"),
        ("echo \"it's\" # don't worry\necho @", "word"),
        ("# it's @ here\necho @", "comment word"),
        ("x=@; echo \"$x\"", "word"),
        ("A=@ B=\"@\" cmd", "word doubleQuoted"),
        ("export PORT=@", "word"),
        ("local x=\"@\"", "doubleQuoted"),
        ("case @ in a|@) echo @;; *) echo \"@\";; esac", "word word word doubleQuoted"),
        ("for x in @ \"@\"; do echo \"$x\"; done", "word doubleQuoted"),
        ("if [ -n @ ]; then echo ok; fi", "word"),
        ("[ @ = prod ] && [ \"@\" != x ]", "word doubleQuoted"),
        ("test -f @/x", "word"),
        ("sh -c 'echo \"$1\"' sh @", "word"),
        ("bash ./deploy.sh @", "word"),
        ("python3 script.py @", "word"),
        ("jq --arg v @ '.x = $v' f.json", "word"),
        ("awk -v v=@ '{ print v }' f", "word"),
        ("sed -i -- 's/a/b/' @", "word"),
        ("sudo -u @ systemctl restart @", "word word"),
        ("timeout 5 curl -fsS @", "word"),
        ("env A=@ cmd @", "word word"),
        ("printf '%s\\n' @", "word"),
        ("@/deploy.sh", "word"),
        ("cd @ && git fetch", "word"),
        ("echo @ > @ 2>&1", "word word"),
        ("arr=(@ \"@\")", "word doubleQuoted"),
        ("f() { echo @; }", "word"),
        ("{ echo @; } > out", "word"),
        ("{ echo @; } | tee f\necho x | sh", "word"),
        ("cd @ && ls | xargs -r rm", "word"),
        ("(cd / && echo @)", "word"),
        ("diff <(echo @) x", "word"),
        ("echo a\\\n@", "word"),
        ("cat > f <<EOF | tee g\n@\nEOF", "heredoc"),
        ("echo '\\'@", "word"),
        ("cat <<< @ > out", "word"),
        ("grep -c x < @", "word"),
        ("find . -name @ -exec rm {} \\;", "word"),
        ("cp @ .", "word"),
    ])
    func accepted(_ script: String, _ expected: String) {
        #expect(Self.judge(script).joined(separator: " ") == expected, "\(script)")
    }

    @Test(arguments: [
        ("echo \"next=$(( @ + 1 ))\"", "arithmetic"),
        ("echo $((@))", "arithmetic"),
        ("(( @ > 1 ))", "arithmetic"),
        ("for ((i=0; i<@; i++)); do :; done", "arithmetic"),
        ("let n=@+1", "`let`"),
        ("[[ @ -eq 1 ]]", "inside `[[ ]]`"),
        ("[[ $x == \"@\" ]]", "inside `[[ ]]`"),
        ("echo '@'", "inside single quotes"),
        ("awk '{ print \"@\" }'", "inside single quotes"),
        ("sh -c 'echo hello @'", "inside single quotes"),
        ("sh -c \"echo @\"", "it is the program `sh -c`"),
        ("bash -ec \"echo $(echo @)\"", "it is the program `bash -ec`"),
        ("sudo -u app bash -c \"echo @\"", "it is the program `bash -c`"),
        ("docker exec app sh -c \"echo @\"", "it is the program `sh -c`"),
        ("eval \"echo @\"", "`eval` reads"),
        ("eval echo @", "`eval` reads"),
        ("ssh host \"echo @\"", "`ssh` hands"),
        ("su -c \"echo @\" app", "`su` runs"),
        ("python3 -c \"print('@')\"", "it is the program `python3 -c`"),
        ("jq \".x == \\\"@\\\"\" f", "it is the program `jq`"),
        ("sed -i \"s/x/@/\" f", "it is the program `sed`"),
        ("sed -i 's/a/b/' @", "reads options in any position"),
        ("bash @", "still reads options"),
        ("cat <<'EOF'\nPORT=@\nEOF", "quoted heredoc"),
        ("cat <<\"EOF\"\nPORT=@\nEOF", "quoted heredoc"),
        ("cat <<E\\OF\nPORT=@\nEOF", "quoted heredoc"),
        ("bash <<EOF\necho @\nEOF", "the heredoc is the input of `bash`"),
        ("ssh host <<EOF\necho @\nEOF", "the heredoc is the input of `ssh`"),
        ("cat <<EOF | sh\necho @\nEOF", "its text is piped into `sh`"),
        ("echo @ | bash", "it is piped into `bash`"),
        ("printf '%s' \"@\" | sudo sh", "it is piped into `sh`"),
        ("echo \\@", "directly after a backslash"),
        ("echo \"\\@\"", "directly after a backslash"),
        ("echo $@", "directly after `$`"),
        ("echo ${x:-@}", "inside `${…}`"),
        ("echo \"${x#@}\"", "inside `${…}`"),
        ("@ arg", "it would name the program"),
        ("sudo @", "runs the program named here"),
        ("$CMD @", "only known at run time"),
        ("read @", "`read` reads its arguments as variable names"),
        ("unset @", "`unset` reads"),
        ("printf @ x", "printf's format"),
        ("printf -v @ x", "`printf -v`"),
        ("declare -a x=\"@\"", "may give an attribute"),
        ("export @", "`export` reads a variable name"),
        ("[ -v @ ]", "in `test`/`[`"),
        ("[ @ @ ]", "in `test`/`[`"),
        ("test @", "in `test`/`[`"),
        ("arr[@]=1", "it would name the program"),
        ("arr=([@]=1)", "array subscript"),
        ("trap \"echo @\" EXIT", "`trap` reads"),
        ("xargs rm <<EOF\n@\nEOF", "the heredoc is the input of `xargs`"),
        (". @", "it would name the program"),
        ("echo `echo \\`echo @\\``", "backquoted command with backslashes"),
        ("echo `echo '`'` @", "the runner cannot follow"),
        ("echo `echo \\$x @`", "backquoted command with backslashes"),
        ("echo $'@'", "inside `$'…'`"),
        ("cat <<@\nx\n", "in a heredoc delimiter"),
        ("echo \"$(( 1 + $(echo @) ))\"", "arithmetic"),
        ("bash <<< \"echo @\"", "it is the input of `bash`"),
        ("sh < @", "it is the input of `sh`"),
        ("busybox sh -c \"echo @\"", "it is the program `sh -c`"),
        ("find . -exec sh -c \"echo @\" \\;", "it is the program `sh -c`"),
        ("env -S \"@\"", "`env -S` splits"),
        ("timeout @ cmd", "`timeout` runs the program named here"),
        ("nohup @ &", "`nohup` runs the program named here"),
        ("source <(echo @)", "it would name the program"),
        ("$(echo @) arg", "it would name the program"),
        ("[ \"$(echo @)\" ]", "in `test`/`[`"),
        ("echo $(echo @) | sh", "it is piped into `sh`"),
        ("{ echo @; echo x; } | sh", "it is piped into `sh`"),
        ("(echo @) | bash -s", "it is piped into `bash`"),
        ("for x in a; do echo @; done | sh", "it is piped into `sh`"),
        ("if true; then\n  echo @\nfi | sh", "it is piped into `sh`"),
    ])
    func refused(_ script: String, _ reason: String) {
        Self.expectRefused(script, reason)
    }

    /// Some value of `script` is refused, for a reason containing `reason`.
    static func expectRefused(_ script: String, _ reason: String) {
        let judged = judge(script)
        #expect(judged.contains { $0.hasPrefix("refused: ") && $0.contains(reason) }, "\(script): \(judged)")
    }

    /// The reference for each slot, and what `runner plan` shows.
    @Test func referencesAndDisplay() {
        #expect(ShellContext.Slot.word.reference("V") == "\"${V}\"")
        #expect(ShellContext.Slot.doubleQuoted.reference("V") == "${V}")
        #expect(ShellContext.Slot.heredoc.reference("V") == "${V}")
        #expect(ShellContext.Slot.word.display("it's") == "'it'\\''s'")
        #expect(ShellContext.Slot.doubleQuoted.display("a\"$b") == "a\\\"\\$b")
        #expect(ShellContext.Slot.heredoc.display("8080") == "8080")
    }

    @Test func safeFormNamesAVariable() {
        let at = SourceLocation(file: "p.yml", line: 1, column: 1)
        #expect(ShellContext.variableName(for: Expression("params.port", at: at)) == "PORT")
        #expect(ShellContext.variableName(for: Expression("steps.build.outputs.stdout", at: at)) == "STDOUT")
        #expect(ShellContext.variableName(for: Expression("params.path", at: at)) == "PATH_VALUE")
    }
}
