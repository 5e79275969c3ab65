import Foundation
import Testing

/// Param patterns through the built binary: refused at validation with the pattern's position,
/// and a catastrophic value refused at once by `run`.
@Suite struct ParamPatternCLITests {
    @Test func anUnsupportedPatternFailsValidation() throws {
        let cli = CLI()
        cli.write("p.yml", "params:\n  app: { pattern: '^(a)\\1$' }\nsteps:\n  - run: true\n")
        let r = try cli.run("validate", "p.yml")
        #expect(r.status == 2)
        #expect(r.stderr.contains("p.yml:2:19"), "\(r.stderr)")
        #expect(r.stderr.contains("back-references"), "\(r.stderr)")
    }

    @Test func aCatastrophicValueIsRefusedAndNothingRuns() throws {
        let cli = CLI()
        cli.write("p.yml", "params:\n  app: { required: true, pattern: '^(a+)+$' }\nsteps:\n  - run: touch ran\n")
        let r = try cli.run("run", "p.yml", "app=" + String(repeating: "a", count: 24) + "!")
        #expect(r.status == 2)
        #expect(r.stderr.contains("does not match pattern"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.dir + "/ran"))
        #expect(try cli.run("run", "p.yml", "app=aaaa").status == 0)
    }
}
