import Foundation
import Testing

/// Input the loader refuses reaches the user as file:line:column and exit code 2, with
/// nothing run.
@Suite(.serialized) struct ValidationCLITests {
    /// The reproduction: a 1 MiB scalar aliased 1000 times.
    @Test func aliasesOfABigScalarExit2AtTheAlias() throws {
        let cli = CLI()
        let big = String(repeating: "y", count: 1 << 20)
        cli.write("p.yml", "vars:\n  a: &a \"\(big)\"\nsteps:\n" + String(repeating: "  - run: *a\n", count: 1000))
        let r = try cli.run("validate", "p.yml")
        #expect(r.status == 2)
        // 1 MiB + 7 bytes before the list, 1 MiB + 1 per alias: the 15th passes 16 MiB.
        #expect(r.stderr.contains("p.yml:18:10: alias '*a' repeats 1048577 bytes and makes the document larger than 16777216 bytes when expanded (alias bomb?)"),
                "\(r.stderr.prefix(500))")
    }

    @Test func inventoryMistakesExit2AndRunNothing() throws {
        let cli = CLI()
        cli.write("inventory.yml", "hosts:\n  web: { address: 10.0.0.1, user: \"deploy;touch ran\", sudo_password: pw }\n")
        cli.write("p.yml", "steps:\n  - run: touch ran\n  - on: web\n    sudo: true\n    run: touch ran\n")
        let validate = try cli.run("validate", "p.yml")
        #expect(validate.status == 2)
        #expect(validate.stderr.contains("inventory.yml:2:35: host 'web': user 'deploy;touch ran' is not a user name"), "\(validate.stderr)")
        #expect(validate.stderr.contains("inventory.yml:2:70: host 'web': sudo_password names the secret 'pw', which the pipeline does not declare"))
        let run = try cli.run("run", "p.yml")
        #expect(run.status == 2)
        #expect(cli.read("ran") == nil)
        cli.write("list.yml", "- web\n")
        let list = try cli.run("validate", "p.yml", "--inventory", "list.yml")
        #expect(list.status == 2)
        #expect(list.stderr.contains("list.yml:1:1: the inventory must be a map with 'hosts:' and 'groups:', not a list"), "\(list.stderr)")
    }
}
