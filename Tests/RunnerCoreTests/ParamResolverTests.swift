import RunnerCore
import Testing

@Suite struct ParamResolverTests {
    let pipeline: Pipeline = {
        let dir = TempDir()
        let path = dir.write("p.yml", """
            params:
              app: { required: true, pattern: '^[a-z][a-z0-9-]*$', description: app name }
              ref: { default: main }
              replicas: { type: int, default: 1 }
              verbose: { type: bool, default: false }
              hosts: { type: list }
              token: { secret: true, pattern: '^t' }
            steps:
              - run: true
            """)
        return try! Harness.loader().load(path: path)
    }()

    func problems(_ given: [String: Value]) -> [String] {
        do {
            _ = try ParamResolver.resolve(given, for: pipeline)
            return []
        } catch {
            return error.diagnostics.map(\.message)
        }
    }

    @Test func defaultsAndTypes() throws {
        let p = try ParamResolver.resolve(["app": "phone", "replicas": "3", "verbose": "yes", "hosts": "a, b"], for: pipeline)
        #expect(p["app"] == "phone")
        #expect(p["ref"] == "main")
        #expect(p["replicas"] == .int(3))
        #expect(p["verbose"] == .bool(true))
        #expect(p["hosts"] == ["a", "b"])
        #expect(p["token"] == .null)
    }

    @Test func requiredMissing() {
        #expect(problems([:]) == ["missing required param 'app' (app name): pass app=..."])
    }

    @Test func patternMismatchNamesTheParam() {
        #expect(problems(["app": "Phone; rm -rf /"]).first?.contains("param 'app'") == true)
    }

    @Test func secretValuesAreNotEchoed() {
        let messages = problems(["app": "phone", "token": "xsecretvalue"])
        #expect(messages.count == 1)
        #expect(messages.first?.contains("xsecretvalue") == false)
    }

    @Test func wrongType() {
        #expect(problems(["app": "phone", "replicas": "three"]) == ["param 'replicas' must be int, not 'three'"])
        #expect(problems(["app": "phone", "verbose": "perhaps"]).first?.contains("must be bool") == true)
    }

    @Test func unknownParamSuggests() {
        #expect(problems(["app": "phone", "rev": "x"]).first?.contains("no param 'rev' (did you mean 'ref'?)") == true)
    }

    @Test func assignmentSplitting() {
        #expect(ParamResolver.split("app=phone")! == ("app", "phone"))
        #expect(ParamResolver.split("msg=a=b")! == ("msg", "a=b"))
        #expect(ParamResolver.split("novalue") == nil)
        #expect(ParamResolver.split("=x") == nil)
    }
}
