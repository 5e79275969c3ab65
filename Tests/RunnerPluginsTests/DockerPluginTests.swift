import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

private let healthy = """
    test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
    interval: 1s
    timeout: 2s
    retries: 3
    """

/// The docker plugin against a real engine (Debian's docker.io), locally and through SSH as a
/// `docker` group member. Images are built `FROM scratch` with busybox-static; containers have
/// no network (`network_mode: none`) unless a test is about networks.
@Suite("docker plugin", .enabled(if: TestImages.dockerInstalled, "docker.io is not installed (scripts/setup.sh installs it)"))
struct DockerPluginTests {
    @Test(arguments: Where.allCases)
    func composeUpBuildsWaitsUntilHealthyThenRestartsAndGoesDown(_ place: Where) async throws {
        let app = busyboxService("app", healthcheck: healthy).replacingOccurrences(
            of: "image: \(TestImages.busyboxTag)", with: "build: .\n    image: NAME-img:latest")
        let project = try ComposeProject("services:\n" + app, files: [
            "Dockerfile": "FROM \(TestImages.busyboxTag)\nLABEL runner-test-project=NAME\nCOPY version.txt /version.txt\n", "version.txt": "1\n",
        ])
        defer { project.down() }
        let up = "uses: docker, with: { compose: up, dir: \(project.directory), project: \(project.name), build: true, wait_healthy: \(project.name)-app, timeout: 60s, interval: 500ms }"
        let (first, log) = try await PluginRun(place: place)([
            "{ id: up, ON \(up) }",
            "{ id: again, ON \(up) }",
            "{ id: ps, ON uses: docker, with: { compose: ps, dir: \(project.directory) } }",
        ])
        #expect(first.status == .succeeded, "\(log.transcript)")
        #expect(log.status("up") == .changed)
        #expect(log.status("again") == .ok, "an up with nothing to change reports no change")
        let container = log.outputs("up")["containers"]?.listValue?.first
        #expect(container?["name"] == .string("\(project.name)-app"))
        #expect(container?["health"] == "healthy")
        #expect(container?["service"] == "app")
        let image = log.outputs("up")["images"]?["app"]?.stringValue ?? ""
        #expect(image.hasPrefix("sha256:"))
        #expect(log.outputs("up")["previous_images"] == .map([:]))
        #expect(log.outputs("again")["previous_images"]?["app"]?.stringValue == image)
        #expect(log.outputs("ps")["containers"]?.listValue?.first?["state"] == "running")
        #expect(log.outputs("up")["project"] == .string(project.name))
        #expect(log.transcript.contains("is running (healthy)"))

        // A new version: rebuilt, recreated, and the previous image is there for a rollback.
        try "2\n".write(toFile: project.directory + "/version.txt", atomically: true, encoding: .utf8)
        let (second, log2) = try await PluginRun(place: place)([
            "{ id: up, ON \(up) }",
            "{ id: restart, ON uses: docker, with: { compose: restart, dir: \(project.directory), wait_healthy: true, timeout: 60s } }",
            "{ id: down, ON uses: docker, with: { compose: down, dir: \(project.directory) } }",
            "{ id: gone, ON uses: docker, with: { compose: down, dir: \(project.directory) } }",
        ])
        #expect(second.status == .succeeded, "\(log2.transcript)")
        #expect(log2.status("up") == .changed)
        #expect(log2.outputs("up")["previous_images"]?["app"]?.stringValue == image)
        #expect(log2.outputs("up")["images"]?["app"]?.stringValue != image)
        #expect(log2.status("restart") == .changed)
        #expect(log2.outputs("restart")["containers"]?.listValue?.first?["health"] == "healthy")
        #expect(log2.status("down") == .changed)
        #expect(log2.outputs("down")["containers"] == .list([]))
        #expect(log2.status("gone") == .ok, "down with nothing left reports no change")
        #expect(try TestImages.docker(["ps", "-aq", "--filter", "name=\(project.name)"]).isEmpty)
    }

    @Test(arguments: Where.allCases)
    func failingHealthcheckFailsWithTheHealthOutputAndTheLogTail(_ place: Where) async throws {
        let check = """
            test: ["CMD", "sh", "-c", "echo database unreachable HCMARK; exit 1"]
            interval: 1s
            timeout: 2s
            retries: 2
            """
        let script = "echo 'booting LOGMARK'; echo 'error: no database' >&2; trap 'exit 0' TERM; sleep 3600 & wait"
        let project = try ComposeProject("services:\n" + busyboxService("app", healthcheck: check, command: script))
        defer { project.down() }
        let (outcome, log) = try await PluginRun(place: place)([
            "{ id: up, ON uses: docker, with: { compose: up, dir: \(project.directory), wait_healthy: \(project.name)-app, timeout: 2m } }",
        ])
        #expect(outcome.status == .failed)
        let error = log.error("up") ?? ""
        #expect(error.contains("container \(project.name)-app is unhealthy"), "\(error)")
        #expect(error.contains("exit 1: database unreachable HCMARK"), "\(error)")
        #expect(error.contains("booting LOGMARK"), "\(error)")
        #expect(error.contains("error: no database"), "\(error)")
        // Failing at once, not at the timeout: the message is the unhealthy one, not "did not become healthy within".
        #expect(!error.contains("did not become healthy within"), "\(error)")
        #expect(log.outputs("up")["containers"]?.listValue?.first?["health"] == "unhealthy")
        #expect(log.outputs("up")["images"]?["app"]?.stringValue?.hasPrefix("sha256:") == true, "a failed gate keeps compose's outputs")
        #expect(log.outputs("up")["previous_images"] == .map([:]))
    }

    @Test(arguments: Where.allCases)
    func anAppThatNeverBecomesHealthyFailsAtTheTimeout(_ place: Where) async throws {
        // Failures inside start_period do not count, so the status stays `starting`.
        let check = """
            test: ["CMD", "sh", "-c", "echo still migrating HCMARK; exit 1"]
            interval: 1s
            timeout: 2s
            retries: 1
            start_period: 10m
            """
        let project = try ComposeProject("services:\n" + busyboxService("app", healthcheck: check))
        defer { project.down() }
        let (outcome, log) = try await PluginRun(place: place)([
            "{ id: up, ON uses: docker, with: { compose: up, dir: \(project.directory), wait_healthy: \(project.name)-app, timeout: 4s, log_lines: 5 } }",
        ])
        #expect(outcome.status == .failed)
        let error = log.error("up") ?? ""
        #expect(error.contains("did not become healthy within 4.0s (still running (starting))"), "\(error)")
        #expect(error.contains("still migrating HCMARK"), "\(error)")
        #expect(error.contains("log of \(project.name)-app (last 5 lines):\n  app starting LOGMARK"), "\(error)")
    }

    @Test func withoutAHealthcheckRunningIsEnoughAndAnExitedContainerFailsAtOnce() async throws {
        // The job is still `starting` at the first look, then exits: the wait fails then, not at the timeout.
        let never = "test: [\"CMD\", \"false\"]\ninterval: 1s\nstart_period: 10m"
        let job = busyboxService("job", healthcheck: never, command: "echo 'job LOGMARK failed'; sleep 2; exit 3")
        let project = try ComposeProject("services:\n" + busyboxService("web") + job)
        defer { project.down() }
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: up, uses: docker, with: { compose: up, dir: \(project.directory), services: [web], wait_healthy: \(project.name)-web } }",
            "{ id: job, uses: docker, with: { compose: up, dir: \(project.directory), services: [job], wait_healthy: \(project.name)-job } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.status("up") == .changed, "\(log.transcript)")
        #expect(log.outputs("up")["containers"]?.listValue?.first?["state"] == "running")
        #expect(log.outputs("up")["containers"]?.listValue?.first?["health"] == .null)
        let error = log.error("job") ?? ""
        #expect(error.contains("container \(project.name)-job exited with code 3"), "\(error)")
        #expect(error.contains("job LOGMARK failed"), "\(error)")
    }

    @Test func aStepTimeoutStopsTheWait() async throws {
        let check = "test: [\"CMD\", \"false\"]\ninterval: 1s\nstart_period: 10m"
        let project = try ComposeProject("services:\n" + busyboxService("app", healthcheck: check))
        defer { project.down() }
        var run = PluginRun(place: .local)
        run.stepTimeout = .seconds(8)
        let (outcome, log) = try await run([
            "{ id: up, uses: docker, with: { compose: up, dir: \(project.directory), wait_healthy: \(project.name)-app, timeout: 10m } }",
        ])
        #expect(outcome.status == .failed)
        // timedOut (not failed by wait_healthy's own 10m limit): the step timeout ended the wait.
        #expect(log.status("up") == .timedOut, "\(log.transcript)")
    }

    @Test func aMissingContainerOrDirectoryIsNamed() async throws {
        let missing = TestImages.unique("none")
        var run = PluginRun(place: .local)
        run.stepTimeout = .seconds(60)
        let (outcome, log) = try await run([
            "{ id: wait, uses: docker, with: { wait_healthy: \(missing), interval: 1s }, continue_on_error: true }",
            "{ id: dir, uses: docker, with: { compose: up, dir: /nonexistent/\(missing) } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.error("wait")?.contains("no container named \(missing)") == true, "\(log.transcript)")
        #expect(log.error("dir")?.contains("no directory /nonexistent/\(missing)") == true, "\(log.transcript)")
    }

    @Test(arguments: Where.allCases)
    func networkEnsureCreatesOnceAndComposeJoinsIt(_ place: Where) async throws {
        let network = TestImages.unique("net")
        defer { _ = try? TestImages.docker(["network", "rm", network]) }
        let app = busyboxService("app").replacingOccurrences(of: "network_mode: none", with: "networks: [sgos]")
        let project = try ComposeProject("services:\n" + app + "networks:\n  sgos:\n    external: true\n    name: \(network)\n")
        defer { project.down() }
        let (outcome, log) = try await PluginRun(place: place)([
            "{ id: net, ON uses: docker, with: { network: \(network) } }",
            "{ id: again, ON uses: docker, with: { network: \(network), compose: up, dir: \(project.directory), wait_healthy: true } }",
        ])
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.status("net") == .changed)
        let id = log.outputs("net")["network_id"]?.stringValue ?? ""
        #expect(id.count >= 12)
        #expect(log.outputs("again")["network_id"]?.stringValue == id)
        let joined = try TestImages.docker(["inspect", "--format", "{{json .NetworkSettings.Networks}}", "\(project.name)-app"])
        #expect(joined.contains(network))
        #expect(log.outputs("again")["containers"]?.listValue?.first?["state"] == "running")
    }

    @Test(arguments: Where.allCases)
    func execRunsInTheContainerWithEnvironmentAndReportsFailures(_ place: Where) async throws {
        let project = try ComposeProject("services:\n" + busyboxService("app"))
        defer { project.down() }
        let container = "\(project.name)-app"
        let (outcome, log) = try await PluginRun(place: place)([
            "{ id: up, ON uses: docker, with: { compose: up, dir: \(project.directory), wait_healthy: \(container) } }",
            "{ id: argv, ON uses: docker, with: { exec: \(container), command: [sh, -c, 'echo \"$GREETING\"; pwd'], env: { GREETING: \"it's me\" }, workdir: /www } }",
            "{ id: shell, ON uses: docker, with: { exec: \(container), command: 'id -u; cat /www/health', user: '65534' } }",
            "{ id: fails, ON uses: docker, with: { exec: \(container), command: 'echo broken >&2; exit 4' } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.outputs("argv")["stdout"] == "it's me\n/www", "\(log.transcript)")
        #expect(log.outputs("shell")["stdout"] == "65534\nok")
        #expect(log.outputs("fails")["exit_code"] == 4)
        #expect(log.error("fails")?.contains("docker exec in \(container) failed (exit code 4): broken") == true, "\(log.transcript)")
    }

    @Test func pruneRemovesOnlyFilteredDanglingImages() async throws {
        _ = try TestImages.busybox()
        let label = TestImages.unique("prune")
        let directory = try makeTemporaryDirectory("runner-prune")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Two builds under one tag: the first image is left dangling.
        for version in ["1", "2"] {
            try "FROM \(TestImages.busyboxTag)\nLABEL runner-test=\(label)\nRUN echo \(version) > /v\n"
                .write(toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
            try TestImages.docker(["build", "-q", "-t", "\(label):latest", directory])
        }
        defer { _ = try? TestImages.docker(["image", "rm", "-f", "\(label):latest"]) }
        let dangling = { try TestImages.docker(["images", "-q", "--filter", "dangling=true", "--filter", "label=runner-test=\(label)"]) }
        #expect(!(try dangling()).isEmpty)
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: prune, uses: docker, with: { prune: images, filter: [\"label=runner-test=\(label)\"] } }",
            "{ id: again, uses: docker, with: { prune: images, filter: [\"label=runner-test=\(label)\"] } }",
        ])
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.status("prune") == .changed)
        #expect(log.status("again") == .ok)
        #expect(try dangling().isEmpty)
        #expect(!(try TestImages.docker(["images", "-q", "\(label):latest"])).isEmpty, "the tagged image stays")
    }

    @Test func buildReportsNewImagesAndPullLeavesBuiltServicesAlone() async throws {
        let app = busyboxService("app").replacingOccurrences(of: "image: \(TestImages.busyboxTag)", with: "build: .\n    image: NAME-img:latest")
        let missing = TestImages.unique("missing") + ":1"
        let cache = busyboxService("cache").replacingOccurrences(of: TestImages.busyboxTag, with: missing)
        let project = try ComposeProject("services:\n" + app + cache, files: [
            "Dockerfile": "FROM \(TestImages.busyboxTag)\nLABEL runner-test-project=NAME\nRUN echo NAME > /name\n",
        ])
        defer { project.down() }
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: build, uses: docker, with: { compose: build, dir: \(project.directory), services: [app] } }",
            "{ id: rebuild, uses: docker, with: { compose: build, dir: \(project.directory), services: [app] } }",
            "{ id: pull, uses: docker, with: { compose: pull, dir: \(project.directory), services: [app] } }",
            "{ id: all, uses: docker, with: { compose: pull, dir: \(project.directory) } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.status("build") == .changed, "\(log.transcript)")
        #expect(log.status("rebuild") == .ok, "a build from cache makes no new image")
        #expect(log.status("pull") == .ok)
        #expect(log.transcript.contains("not pulled (built here): app"))
        // No registry here: pulling the other service's image fails, and says so.
        let error = log.error("all") ?? ""
        #expect(error.contains("pull in \(project.directory) failed (exit code 1)"), "\(error)")
    }

    @Test func conflictingActionsAreRefused() async throws {
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: both, uses: docker, with: { exec: x, command: [true], prune: images } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.error("both")?.contains("cannot be combined") == true, "\(log.transcript)")
    }
}
