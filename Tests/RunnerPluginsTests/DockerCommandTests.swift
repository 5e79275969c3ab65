import RunnerCore
@testable import RunnerPlugins
import Testing

/// The pure parts of the docker plugin: Compose command lines for v1 and v2, and what a
/// container's inspected state means for the health gate.
@Suite struct DockerCommandTests {
    @Test func composeCommandLinesAreTheSameForV1AndV2ButTheProgram() {
        for flavor in [ComposeFlavor.v1, .v2] {
            let compose = ComposeCommand(flavor: flavor, files: ["docker-compose.yml", "prod.yml"], project: "sgos-phone", envFile: ".env")
            let global = ["-f", "docker-compose.yml", "-f", "prod.yml", "-p", "sgos-phone", "--env-file", ".env"]
            #expect(compose.up(build: true, removeOrphans: true, services: ["app", "-x"]) == global + ["up", "--detach", "--build", "--remove-orphans", "--", "app", "-x"])
            #expect(compose.up(build: false, removeOrphans: false, services: []) == global + ["up", "--detach"])
            #expect(compose.down(removeOrphans: true) == global + ["down", "--remove-orphans"])
            #expect(compose.restart(services: []) == global + ["restart"])
            #expect(compose.containerIDs() == global + ["ps", "--all", "--quiet"])
        }
        #expect(ComposeFlavor.v2.program == ["docker", "compose"])
        #expect(ComposeFlavor.v1.program == ["docker-compose"])
        #expect(ComposeCommand(flavor: .v2).pull(services: ["db"]) == ["pull", "--", "db"])
    }

    private func container(status: String, health: String? = nil, exitCode: Int = 0) -> ContainerInfo {
        var state: [String: Value] = ["Status": .string(status), "ExitCode": .int(exitCode)]
        if let health { state["Health"] = ["Status": .string(health), "FailingStreak": 3, "Log": [["ExitCode": 1, "Output": "refused\n"]]] }
        let inspected: Value = [
            "Id": "4f1c0ffee0123456789", "Name": "/sgos-phone-app", "Image": "sha256:abc", "State": .map(state),
            "Config": ["Image": "sgos-phone-app:latest", "Labels": ["com.docker.compose.service": "app", "com.docker.compose.project": "sgos-phone"]],
        ]
        return ContainerInfo(inspected)!
    }

    @Test func healthVerdicts() {
        #expect(DockerHealthWait.verdict(container(status: "running", health: "healthy")) == .ready)
        #expect(DockerHealthWait.verdict(container(status: "running")) == .ready, "no healthcheck: running is enough")
        #expect(DockerHealthWait.verdict(container(status: "running", health: "starting")) == .waiting("running (starting)"))
        #expect(DockerHealthWait.verdict(container(status: "restarting")) == .waiting("restarting (0 restarts so far)"))
        #expect(DockerHealthWait.verdict(container(status: "created")) == .waiting("created"))
        #expect(DockerHealthWait.verdict(container(status: "running", health: "unhealthy")) == .failed("is unhealthy (3 failed health checks in a row)"))
        #expect(DockerHealthWait.verdict(container(status: "exited", exitCode: 137)) == .failed("exited with code 137"))
    }

    @Test func inspectedContainerBecomesOutputs() {
        let app = container(status: "running", health: "unhealthy")
        #expect(app.name == "sgos-phone-app")
        #expect(app.matches("sgos-phone-app") && app.matches("4f1c0ffee0") && !app.matches("4f1"))
        #expect(app.healthLog == [.init(exitCode: 1, output: "refused\n")])
        #expect(app.value == [
            "name": "sgos-phone-app", "id": "4f1c0ffee012", "state": "running", "health": "unhealthy", "service": "app",
            "image": "sgos-phone-app:latest", "image_id": "sha256:abc",
        ])
        #expect(ComposeRun.images([app]) == ["app": "sha256:abc"])
    }

    @Test func composeConfigNamesTheImagesServicesRun() throws {
        let config = try ComposeConfig(yaml: """
            name: sgos-phone
            services:
              app:
                build: { context: /srv/apps/sgos-phone/src }
              worker:
                build: { context: /srv/apps/sgos-phone/src }
                image: sgos-phone-worker:2
              db:
                image: postgres:16
            """)
        #expect(config.services["app"] == .init(built: true, image: nil))
        #expect(config.services["db"] == .init(built: false, image: "postgres:16"))
        #expect(config.image(of: "app", flavor: .v2) == "sgos-phone-app")
        #expect(config.image(of: "app", flavor: .v1) == nil, "v1 does not print the project name")
        #expect(config.image(of: "worker", flavor: .v1) == "sgos-phone-worker:2")
        #expect(DockerCLI.imageKey("sgos-phone-app") == "sgos-phone-app:latest")
        #expect(DockerCLI.imageKey("docker.io/library/postgres:16") == "postgres:16")
        #expect(DockerCLI.imageKey("localhost:5000/app") == "localhost:5000/app:latest")
    }

    @Test func durationsFromStringsAndNumbers() {
        #expect(DockerPlugin.duration("90s", default: .zero) == .seconds(90))
        #expect(DockerPlugin.duration(.int(5), default: .zero) == .seconds(5))
        #expect(DockerPlugin.duration(nil, default: .seconds(300)) == .seconds(300))
    }
}
