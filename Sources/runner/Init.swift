import ArgumentParser
import Foundation
import RunnerCore
import RunnerSOPS

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a pipeline, an inventory and a .sops.yaml to start from.",
        discussion: """
            Writes, into the directory (default: the current one), commented:
              pipelines/hello.yml      a first pipeline, which runs as written
              pipelines/inventory.yml  its hosts: this machine, an SSH host to fill in
              .sops.yaml               the age keys SOPS files are encrypted for
                                       (yours, when sops would find one)
            Existing files are never overwritten: if one of them exists, nothing
            is written (exit 2).

            Then:
              runner run hello who=you
              runner validate
            """
    )

    @Argument(help: "Directory to write into (created if missing).")
    var directory: String = "."

    func run() async throws {
        let files = [
            ("pipelines/hello.yml", StarterFiles.pipeline),
            ("pipelines/inventory.yml", StarterFiles.inventory),
            (".sops.yaml", StarterFiles.sopsConfig(recipients: Self.ownRecipients())),
        ].map { (Paths.join(directory, $0.0), $0.1) }
        let existing = files.map(\.0).filter { FileManager.default.fileExists(atPath: $0) }
        guard existing.isEmpty else {
            throw InvalidInput("\(existing.joined(separator: ", ")) already exist\(existing.count == 1 ? "s" : ""): nothing written "
                               + "(runner init never overwrites; move \(existing.count == 1 ? "it" : "them") away or pick another directory)")
        }
        for (path, text) in files {
            do {
                try FileManager.default.createDirectory(atPath: Paths.directory(of: path), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            } catch {
                throw InvalidInput("cannot write \(path): \(error.localizedDescription)")
            }
            FileOutput.stdout.write("wrote \(path)\n")
        }
        let into = directory == "." ? "" : "cd \(ShellQuote.quote(directory)) && "
        FileOutput.stdout.write("next: \(into)runner run hello who=you   (docs/pipelines.md explains every line)\n")
    }

    /// The public keys of the age identities sops would decrypt with here (none when there
    /// is no key yet, or it cannot be read).
    static func ownRecipients() -> [String] {
        guard let identities = try? AgeKeySources().loadIdentities() else { return [] }
        return identities.compactMap { identity in
            guard let recipient = identity.recipient?.description, recipient.hasPrefix("age1") else { return nil }
            return recipient
        }
    }
}
