/// The plugins compiled into runner, in one place.
public enum BuiltinPlugins {
    public static var all: [any StepPlugin] {
        [PipelinePlugin(), SSHPlugin(), HistoryPlugin()]
    }
}
