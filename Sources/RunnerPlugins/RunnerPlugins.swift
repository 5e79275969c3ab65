import RunnerCore

/// Every step plugin compiled into runner: RunnerCore's (`pipeline`, `ssh`) and this module's.
public enum RunnerPlugins {
    public static var all: [any StepPlugin] {
        BuiltinPlugins.all + [SOPSPlugin(), ResticPlugin(), DockerPlugin(), NginxPlugin()]
    }
}
