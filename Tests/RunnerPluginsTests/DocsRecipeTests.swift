import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

/// The deploy recipes of the docs (```` ```yaml recipe ```` blocks in docs/pipelines.md and
/// docs/plugins/docker.md), run as written against real containers: only the host (local here)
/// and the root of the /srv/ paths (a temporary directory) change. What is checked is the world:
/// the commit checked out, the release the container serves, its health, the flag file.
@Suite(.serialized, .enabled(if: TestImages.dockerInstalled)) struct DocsRecipeTests {
    /// A second push deploys the new commit: `git checkout main` after `git fetch` checked out
    /// the stale local branch, and the old code stayed live after a "successful" deploy.
    @Test func pipelinesDeployRecipeDeploysWhatWasPushed() async throws {
        let app = try RecipeApp()
        defer { app.remove() }
        let recipe = try app.recipe("docs/pipelines.md")

        let first = try await app.run(recipe)
        #expect(first.status == .succeeded, "\(first.transcript)")
        #expect(try app.served() == "1")

        let second = try app.push(version: "2", healthy: true)
        let deployed = try await app.run(recipe)
        #expect(deployed.status == .succeeded, "\(deployed.transcript)")
        #expect(try app.checkedOut() == second)
        #expect(try app.served() == "2", "the container still serves the release before the push")
        #expect(try app.health() == "healthy")
        #expect(!FileManager.default.fileExists(atPath: app.flag), "the maintenance flag is still up")
    }

    /// A release that fails the health gate is replaced by the previous one, behind the flag,
    /// and the flag comes off over the healthy previous release; the run still fails.
    @Test func dockerDeployRecipeRollsBackToAHealthyPreviousRelease() async throws {
        let app = try RecipeApp()
        defer { app.remove() }
        let recipe = try app.recipe("docs/plugins/docker.md")

        let first = try await app.run(recipe)
        #expect(first.status == .succeeded, "\(first.transcript)")
        let good = try app.checkedOut()
        #expect(try app.served() == "1")

        _ = try app.push(version: "3", healthy: false)
        let failed = try await app.run(recipe)
        #expect(failed.status == .failed, "\(failed.transcript)")
        #expect(try app.checkedOut() == good, "the previous release is not checked out again")
        #expect(try app.served() == "1", "the broken release is still live")
        #expect(try app.health() == "healthy")
        #expect(!FileManager.default.fileExists(atPath: app.flag), "the maintenance flag is still up")
    }

    /// When the previous release fails its health check as well, the maintenance page stays up:
    /// the flag never comes off over a broken app.
    @Test func dockerDeployRecipeKeepsTheFlagWhenTheRollbackFailsToo() async throws {
        let app = try RecipeApp(healthy: false)
        defer { app.remove() }
        let failed = try await app.run(try app.recipe("docs/plugins/docker.md"))
        #expect(failed.status == .failed, "\(failed.transcript)")
        #expect(try app.health() == "unhealthy")
        #expect(FileManager.default.fileExists(atPath: app.flag), "the flag came off over an unhealthy app")
    }
}

/// An app laid out as the seeds have it, under a temporary root: `<root>/srv/apps/sgos-<app>/`
/// with `src/` cloned from a bare `origin` and `docker-compose.yml -> src/docker-compose.yml`,
/// and the proxy's flags directory. Each release is a commit whose image (`FROM` the busybox test
/// image) serves `/version`, and `/health` when it is healthy.
struct RecipeApp {
    let app = TestImages.unique("docs")
    let root: String
    var dir: String { "\(root)/srv/apps/sgos-\(app)" }
    var flag: String { "\(root)/srv/proxy/hornbill/flags/sgos-\(app).flag" }
    var container: String { "sgos-\(app)-app" }
    private var origin: String { root + "/origin.git" }
    private var work: String { root + "/work" }

    /// The first release (on origin and checked out in src/) passes its health check when `healthy`.
    init(healthy: Bool = true) throws {
        _ = try TestImages.busybox()
        root = try makeTemporaryDirectory("runner-docs-recipe")
        try FileManager.default.createDirectory(atPath: "\(root)/srv/proxy/hornbill/flags", withIntermediateDirectories: true)
        try git(["init", "-q", "--bare", "-b", "main", origin])
        try git(["init", "-q", "-b", "main", work])
        try """
            version: "2.4"
            services:
              app:
                build: ./src                       # the compose file is read through the symlink in the app directory
                container_name: \(container)
                network_mode: none
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
                  interval: 1s
                  timeout: 2s
                  retries: 2

            """.write(toFile: work + "/docker-compose.yml", atomically: true, encoding: .utf8)
        try """
            FROM \(TestImages.busyboxTag)
            LABEL runner-test-project=\(app)
            COPY www /www
            CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]

            """.write(toFile: work + "/Dockerfile", atomically: true, encoding: .utf8)
        _ = try push(version: "1", healthy: healthy)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try git(["clone", "-q", origin, dir + "/src"])
        try FileManager.default.createSymbolicLink(atPath: dir + "/docker-compose.yml", withDestinationPath: "src/docker-compose.yml")
    }

    /// The block of `page` marked `yaml recipe`, with the host hornbill local and /srv/ under `root`.
    func recipe(_ page: String) throws -> String {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let block = try #require(MarkdownBlock.all(in: repository + "/" + page).first { $0.info == "yaml recipe" }, "\(page) has no yaml recipe block")
        return block.text.replacingOccurrences(of: "/srv/", with: root + "/srv/")
            .replacing(/hornbill: \{[^}\n]*\}/, with: "hornbill: { connection: local }")
    }

    /// Commits a release on origin's main and returns its commit.
    @discardableResult
    func push(version: String, healthy: Bool) throws -> String {
        let www = work + "/www"
        try? FileManager.default.removeItem(atPath: www)
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try "\(version)\n".write(toFile: www + "/version", atomically: true, encoding: .utf8)
        if healthy { try "ok\n".write(toFile: www + "/health", atomically: true, encoding: .utf8) }
        try git(["-C", work, "add", "-A"])
        try git(["-C", work, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "release \(version)"])
        try git(["-C", work, "push", "-q", origin, "HEAD:main"])
        return try git(["-C", work, "rev-parse", "HEAD"])
    }

    /// Runs the recipe with app=<app> and returns how it ended and what it said.
    func run(_ recipe: String) async throws -> (status: RunStatus, transcript: String) {
        let (outcome, log) = try await runOverSSH(recipe, inventory: "hosts: {}\n", params: ["app": .string(app)], stepTimeout: .seconds(300))
        return (outcome.status, log.transcript)
    }

    func checkedOut() throws -> String { try git(["-C", dir + "/src", "rev-parse", "HEAD"]) }

    /// The release the running container serves.
    func served() throws -> String {
        try TestImages.docker(["exec", container, "cat", "/www/version"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func health() throws -> String {
        try TestImages.docker(["inspect", "-f", "{{.State.Health.Status}}", container]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The container, the images built for it and the files go.
    func remove() {
        _ = try? TestImages.docker(["rm", "-f", container])
        let images = (try? TestImages.docker(["images", "-q", "--filter", "label=runner-test-project=\(app)"])) ?? ""
        for id in Set(images.split(separator: "\n")) { _ = try? TestImages.docker(["rmi", "-f", String(id)]) }
        try? FileManager.default.removeItem(atPath: root)
    }

    @discardableResult
    private func git(_ arguments: [String]) throws -> String {
        try Spawn.run("/usr/bin/git", arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
