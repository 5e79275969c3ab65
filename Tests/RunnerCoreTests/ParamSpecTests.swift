import RunnerCore
import Testing

/// Param declarations are read strictly: a typo must not silently turn a required param into
/// an optional one.
@Suite struct ParamSpecTests {
    @Test("an unknown key inside a param declaration", arguments: [
        ("params:\n  app: { requird: true }\nsteps:\n  - run: true\n", 2, 10),
        ("params:\n  app:\n    description: the app\n    requird: true\nsteps:\n  - run: true\n", 4, 5),
    ])
    func unknownKey(yaml: String, line: Int, column: Int) {
        let all = Harness.diagnostics(yaml)
        #expect(all.count == 1, "\(all)")
        #expect(all.first?.message == "unknown key 'requird' in param 'app' (did you mean 'required'?)")
        #expect(all.first?.location?.line == line)
        #expect(all.first?.location?.column == column)
        #expect(all.first?.location?.file.hasSuffix("p.yml") == true)
    }

    @Test func everyDeclaredKeyIsKnown() {
        let yaml = "params:\n  app: { required: true, pattern: '^[a-z]+$', type: string, description: d, secret: false }\n"
            + "  n: { default: 3, type: int }\nsteps:\n  - run: true\n"
        #expect(Harness.diagnostics(yaml).isEmpty)
    }
}
