import Foundation
import Testing

/// `${{ }}` values in `run:` against real shells: `/bin/sh` as this system has it (dash) and as
/// RHEL and Fedora have it (bash, bind-mounted over /bin/sh in a private mount namespace).
/// Accepted forms deliver the value as its exact bytes; refused forms stop at validation.
@Suite(.serialized) struct ShellValueTests {
    enum Shell: String, CaseIterable { case dash, bash }

    /// Runs the runner with `/bin/sh` being `shell`.
    static func run(_ cli: CLI, _ shell: Shell, _ args: [String]) throws -> CLI.Result {
        switch shell {
        case .dash:
            let sh = try FileManager.default.destinationOfSymbolicLink(atPath: "/bin/sh")
            #expect(sh.hasSuffix("dash"), "this test expects /bin/sh to be dash, not \(sh)")
            return try cli.run(args)
        case .bash:
            let script = "mount --bind /bin/bash /bin/sh && /bin/sh -c '[ -n \"$BASH_VERSION\" ]' && exec \"$0\" \"$@\""
            return try cli.run(["-m", "/bin/dash", "-c", script, CLI.binary] + args, executable: "/usr/bin/unshare")
        }
    }

    /// Values that would run `touch` if the shell read them as code, or that word-split and glob.
    static func hostileValues(_ dir: String) -> [String] {
        [
            "a[$(touch \(dir)/PWN-arith)]",
            "; touch \(dir)/PWN-semi",
            "* x",
            "$(touch \(dir)/PWN-dollar)",
            "`touch \(dir)/PWN-tick`",
            "it's \"quoted\" \\ back\\\\slash $HOME",
            "-v",
            "EOF",
        ]
    }

    /// Each accepted form writes the value into `out<N>`; the expected bytes, with `V` for the value.
    static let forms: [(script: String, expected: String)] = [
        ("printf '%s' ${{ params.v }} > out1", "V"),
        ("printf '%s' \"${{ params.v }}\" > out2", "V"),
        ("printf '%s' \"$(printf '%s' ${{ params.v }})\" > out3", "V"),
        ("printf '%s' \"`printf '%s' ${{ params.v }}`\" > out4", "V"),
        ("printf '%s' \"say \\\"${{ params.v }}\\\"\" > out5", "say \"V\""),
        ("cat > out6 <<EOF\nPORT=${{ params.v }}\n$(printf '%s' ${{ params.v }})\nEOF", "PORT=V\nV\n"),
        ("echo \"it's\" > /dev/null # don't worry\nprintf '%s' ${{ params.v }} > out7", "V"),
        ("x=${{ params.v }}; printf '%s' \"$x\" > out8", "V"),
        ("case ${{ params.v }} in \"${{ params.v }}\") printf '%s' ${{ params.v }} > out9;; esac", "V"),
        ("sh -c 'printf \"%s\" \"$1\" > out10' sh ${{ params.v }}", "V"),
        ("[ -n ${{ params.v }} ] && test ${{ params.v }} = \"${{ params.v }}\" && printf '%s' pre-${{ params.v }}-post > out11", "pre-V-post"),
        ("for x in ${{ params.v }}; do printf '%s' \"$x\" > out12; done", "V"),
        ("export X=${{ params.v }}; (printf '%s' \"$X\") > out13", "V"),
    ]

    static var pipeline: String {
        var yaml = "params:\n  v: { required: true }\nsteps:\n"
        for form in forms {
            yaml += "  - run: |\n" + form.script.split(separator: "\n").map { "      \($0)\n" }.joined()
        }
        return yaml
    }

    @Test(arguments: Shell.allCases)
    func acceptedFormsDeliverTheExactBytes(_ shell: Shell) throws {
        for value in Self.hostileValues("PLACEHOLDER") {
            let cli = CLI()
            let value = value.replacingOccurrences(of: "PLACEHOLDER", with: cli.dir)
            cli.write("p.yml", Self.pipeline)
            let r = try Self.run(cli, shell, ["run", "p.yml", "v=\(value)"])
            #expect(r.status == 0, "\(shell) \(value): \(r.stdout)\(r.stderr)")
            for (n, form) in Self.forms.enumerated() {
                let written = cli.read("out\(n + 1)")
                #expect(written == form.expected.replacingOccurrences(of: "V", with: value),
                        "\(shell): \(form.script) with \(value) wrote \(written ?? "nothing")")
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: cli.dir)
            #expect(!files.contains { $0.hasPrefix("PWN") }, "\(shell) ran a value as code: \(files)")
        }
    }

    /// The issue's reproductions: refused at validation (exit 2, file:line:column, the safe form),
    /// so `runner run` runs nothing, whichever shell /bin/sh is.
    @Test(arguments: Shell.allCases)
    func refusedFormsRunNothing(_ shell: Shell) throws {
        let cli = CLI()
        let forms = [
            ("echo \"next=$(( ${{ params.v }} + 1 ))\" > out", 22),
            ("(( ${{ params.v }} > 1 )) && echo big > out", 10),
            ("[[ ${{ params.v }} -eq 1 ]] && echo one > out", 10),
            ("sh -c 'echo hello ${{ params.v }}' > out", 25),
            ("bash -c \"echo ${{ params.v }}\" > out", 21),
        ]
        for (script, column) in forms {
            cli.write("p.yml", "params:\n  v: { required: true }\nsteps:\n  - run: |\n      echo start\n      \(script)\n")
            let value = "a[$(touch \(cli.dir)/PWN)]"
            for command in ["validate", "run"] {
                let r = try Self.run(cli, shell, command == "run" ? ["run", "p.yml", "v=\(value)"] : ["validate", "p.yml"])
                #expect(r.status == 2, "\(shell) \(command) \(script): \(r.stdout)\(r.stderr)")
                #expect(r.stderr.contains("p.yml:6:\(column): ${{ params.v }} cannot stay one literal word here"), "\(script): \(r.stderr)")
                #expect(r.stderr.contains("env: { V: \"${{ params.v }}\" }"), "\(r.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: cli.dir + "/PWN"))
            #expect(!FileManager.default.fileExists(atPath: cli.dir + "/out"))
        }
    }

    /// The review's reproductions of issue 10 (old arithmetic, the integer attribute, a line
    /// continuation, shell options, a heredoc read by awk, PS4, docker's list form): refused at
    /// validation with the value's line and column, so nothing runs under either shell.
    @Test(arguments: Shell.allCases)
    func reviewReproductionsRunNothing(_ shell: Shell) throws {
        let cli = CLI()
        let touch = "touch \(cli.dir)/PWN"
        let forms: [(script: String, value: String, at: String)] = [
            ("echo \"next=$[ ${{ params.v }} + 1 ]\"", "a[$(\(touch))]", "6:21"),
            ("declare -i n=${{ params.v }}; echo \"n=$n\"", "a[$(\(touch))]", "6:20"),
            ("declare -i n\n      n=${{ params.v }}", "a[$(\(touch))]", "7:9"),
            ("sh \\\n        -c \"echo ${{ params.v }}\"", "$(\(touch))", "7:18"),
            ("sh +e -c \"echo ${{ params.v }}\"", "; \(touch)", "6:22"),
            ("bash --rcfile /dev/null -c \"echo ${{ params.v }}\"", "; \(touch)", "6:40"),
            ("awk -f /dev/stdin <<EOF\n      BEGIN { print ${{ params.v }} }\n      EOF", "1; system(\"\(touch)\")", "7:21"),
            ("PS4=${{ params.v }}\n      set -x\n      true", "$(\(touch))", "6:11"),
        ]
        for form in forms {
            cli.write("p.yml", "params:\n  v: { required: true }\nsteps:\n  - run: |\n      echo start > out\n      \(form.script)\n")
            for command in ["validate", "run"] {
                let r = try Self.run(cli, shell, command == "run" ? ["run", "p.yml", "v=\(form.value)"] : ["validate", "p.yml"])
                #expect(r.status == 2, "\(shell) \(command) \(form.script): \(r.stdout)\(r.stderr)")
                #expect(r.stderr.contains("p.yml:\(form.at): ${{ params.v }} cannot stay one literal word here"), "\(form.script): \(r.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: cli.dir + "/PWN"), "\(shell) ran \(form.script)")
            #expect(!FileManager.default.fileExists(atPath: cli.dir + "/out"))
        }
        // docker's list form: the element after `sh -c` is refused before any container is touched.
        cli.write("d.yml", """
            params:
              v: { required: true }
            steps:
              - run: echo start > out
              - uses: docker
                with: { exec: c, command: [sh, -c, "echo hello ${{ params.v }}"] }
              - uses: docker
                with: { exec: c, command: [sh, -c, 'echo "$1"', sh, "${{ params.v }}"] }
            """)
        let r = try Self.run(cli, shell, ["run", "d.yml", "v=; \(touch)"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("d.yml:6:52: ${{ params.v }} in 'command' (plugin 'docker')"), "\(r.stderr)")
        #expect(!r.stderr.contains("d.yml:8:"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.dir + "/out"))
    }

    /// The safe form the refusals suggest works for the refused arithmetic under bash.
    @Test(arguments: Shell.allCases)
    func safeFormOfArithmetic(_ shell: Shell) throws {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              replicas: { required: true, pattern: '^[0-9]+$' }
            steps:
              - env: { REPLICAS: "${{ params.replicas }}" }
                run: printf '%s' "next=$(( REPLICAS + 1 ))" > out
            """)
        let r = try Self.run(cli, shell, ["run", "p.yml", "replicas=4"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(cli.read("out") == "next=5")
        let hostile = try Self.run(cli, shell, ["run", "p.yml", "replicas=a[$(touch \(cli.dir)/PWN)]"])
        #expect(hostile.status == 2)
        #expect(!FileManager.default.fileExists(atPath: cli.dir + "/PWN"))
    }

    /// `runner plan` shows a heredoc line as it will be written, not quoted for a command line.
    @Test func planShowsHeredocBodiesAsWritten() throws {
        let cli = CLI()
        cli.write("p.yml", "params:\n  port: { default: \"8080\" }\nsteps:\n  - run: |\n      cat > app.env <<EOF\n      PORT=${{ params.port }}\n      EOF\n      echo ${{ params.port }}\n")
        let r = try cli.run("plan", "p.yml")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("PORT=8080\n"), "\(r.stdout)")
        #expect(r.stdout.contains("echo '8080'"), "\(r.stdout)")
    }
}
