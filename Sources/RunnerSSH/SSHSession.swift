import RunnerCore
