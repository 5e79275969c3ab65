import Foundation

/// The shared fixtures live beside the clone (`<repo>/../shared/fixtures`), never in the repo.
/// Tests that need them are skipped when they are absent.
enum Fixtures {
    /// `<repo>/../shared/fixtures`, found from this file's path (symlinks resolved).
    static let root: URL = {
        let file = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repo = file.deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // RunnerSOPSTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repository root
        return repo.appendingPathComponent("../shared/fixtures").standardizedFileURL
    }()

    static let exist: Bool = FileManager.default.fileExists(atPath: root.appendingPathComponent("sops/manifest.json").path)
        && FileManager.default.fileExists(atPath: root.appendingPathComponent("age/README.md").path)

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relative)))
    }

    static func text(_ relative: String) throws -> String {
        String(decoding: try bytes(relative), as: UTF8.self)
    }

    /// File names in a fixture directory, sorted; empty when fixtures are absent.
    static func list(_ directory: String) -> [String] {
        guard exist, let names = try? FileManager.default.contentsOfDirectory(atPath: url(directory).path) else { return [] }
        return names.sorted()
    }
}

let fixturesExist = Fixtures.exist
