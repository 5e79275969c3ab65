import Foundation
import RunnerCore

/// Which Compose a host has: the v2 CLI plugin (`docker compose`) or the v1 program (`docker-compose`).
enum ComposeFlavor: String, Sendable, Hashable {
    case v2, v1

    var program: [String] { self == .v2 ? ["docker", "compose"] : ["docker-compose"] }
    var displayName: String { program.joined(separator: " ") }

    /// Prefers v2; falls back to v1; fails when neither answers.
    static func detect(_ docker: DockerCLI) async throws -> ComposeFlavor {
        for flavor in [ComposeFlavor.v2, .v1] {
            let result = try? await docker.run(["version"], program: flavor.program, timeout: DockerCLI.quickTimeout, quiet: true)
            if result?.succeeded == true { return flavor }
        }
        throw StepFailure("docker compose: neither `docker compose` (v2) nor `docker-compose` (v1) works on \(docker.context.target.name)")
    }
}

/// Builds Compose command lines (arguments after the program). Pure: runs nothing.
///
/// ```swift
/// let compose = ComposeCommand(flavor: .v2, files: ["docker-compose.yml"], project: "sgos-phone", envFile: nil)
/// compose.up(build: true, removeOrphans: false, services: [])
/// // ["-f", "docker-compose.yml", "-p", "sgos-phone", "up", "--detach", "--build"]
/// ```
struct ComposeCommand: Sendable, Hashable {
    var flavor: ComposeFlavor
    var files: [String] = []
    var project: String?
    var envFile: String?

    /// Options both versions take before the subcommand.
    var global: [String] {
        var out: [String] = []
        for file in files { out += ["-f", file] }
        if let project { out += ["-p", project] }
        if let envFile { out += ["--env-file", envFile] }
        return out
    }

    func up(build: Bool, removeOrphans: Bool, services: [String]) -> [String] {
        var out = global + ["up", "--detach"]
        if build { out.append("--build") }
        if removeOrphans { out.append("--remove-orphans") }
        return out + Self.services(services)
    }

    func down(removeOrphans: Bool) -> [String] {
        global + ["down"] + (removeOrphans ? ["--remove-orphans"] : [])
    }

    func pull(services: [String]) -> [String] { global + ["pull"] + Self.services(services) }
    /// `pull`: fresh base images for the build (`build --pull`).
    func build(services: [String], pull: Bool = false) -> [String] {
        global + ["build"] + (pull ? ["--pull"] : []) + Self.services(services)
    }
    /// The resolved compose file, YAML in both versions.
    func config() -> [String] { global + ["config"] }
    func restart(services: [String]) -> [String] { global + ["restart"] + Self.services(services) }

    /// Ids of every container of the project, stopped ones included (v2's `ps` needs `--all` for those).
    func containerIDs() -> [String] { global + ["ps", "--all", "--quiet"] }

    /// Service names end the option list, so a name can never be read as an option.
    private static func services(_ names: [String]) -> [String] { names.isEmpty ? [] : ["--"] + names }
}

/// What `compose config` says about the project: its name (v2 prints it) and each service's
/// image and whether it is built here.
struct ComposeConfig: Sendable, Hashable {
    struct Service: Sendable, Hashable {
        var built: Bool
        var image: String?
    }

    var project: String?
    var services: [String: Service]

    init(yaml: String) throws {
        let root = try YAMLParser.parse(Array(yaml.utf8), file: "compose config")?.value
        project = root?["name"]?.stringValue
        services = (root?["services"]?.mapValue ?? [:]).mapValues { service in
            Service(built: service["build"].map { !$0.isNull } ?? false, image: service["image"]?.stringValue)
        }
    }

    /// The image a service runs: its `image:`, or the name Compose gives a built one
    /// (`<project>-<service>` in v2; unknown for v1, which does not print the project).
    func image(of service: String, flavor: ComposeFlavor) -> String? {
        if let image = services[service]?.image { return image }
        guard flavor == .v2, let project, services[service]?.built == true else { return nil }
        return "\(project)-\(service)"
    }
}
