/// A pipeline as loaded from YAML, with the source location of everything a user wrote.
public struct Pipeline: Sendable {
    public var name: String
    public var description: String?
    /// The file it was loaded from, as given.
    public var file: String
    public var params: [ParamSpec]
    /// `inventory:` as written (relative to the pipeline's directory).
    public var inventoryPath: String?
    /// Hosts and groups from `hosts:`/`groups:` in the pipeline and from its inventory file.
    public var inventory: Inventory
    /// The `--inventory` file it was loaded with: pipelines it calls (`uses: pipeline`) load
    /// with it too, so a run against the sandbox never reaches the hosts of `inventory.yml`.
    public var inventoryOverride: String? = nil
    public var vars: [(name: String, value: TemplateValue)]
    public var secrets: [SecretSource]
    public var env: [String: TemplateValue]
    public var concurrency: Template?
    public var timeout: Duration?
    public var steps: [Step]
    public var finally: [Step]
    public var onFailure: [Step]
    public var location: SourceLocation

    /// The directory holding the pipeline file (for relative paths, plugins and inventory).
    public var directory: String { Paths.directory(of: file) }

    /// Every step, nested ones included, in file order.
    public var allSteps: [Step] {
        func flatten(_ steps: [Step]) -> [Step] { steps.flatMap { [$0] + flatten($0.children) } }
        return flatten(steps) + flatten(onFailure) + flatten(finally)
    }
}

/// A declared pipeline parameter (`params:`).
public struct ParamSpec: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var required: Bool
    public var defaultValue: Value?
    /// A `ParamPattern` searched in the value, or in each element of a list (anchor it with `^...$`).
    public var pattern: String?
    public var description: String?
    public var secret: Bool
    public var location: SourceLocation
}

/// Where a secret comes from. Values are masked everywhere.
public enum SecretSource: Sendable, Hashable {
    /// `- env: NAME` (optionally `as: name`): from the runner's own environment.
    case environment(variable: String, name: String, location: SourceLocation)
    /// `- sops: file` (optionally `key_file: path`): every value of a SOPS-encrypted file (needs
    /// the sops plugin); the age identities come from `key_file` or the usual SOPS sources.
    case sops(path: String, keyFile: String?, location: SourceLocation)
}

/// One step, with exactly one body.
public struct Step: Sendable {
    public enum Body: Sendable {
        case run(Template)
        case uses(plugin: String, with: [String: TemplateValue], keyLocations: [String: SourceLocation])
        case lua(code: String, location: SourceLocation)
        case parallel([Step])
    }

    public var id: String?
    public var name: String?
    public var body: Body
    public var condition: Expression?
    /// Hosts, groups, or an expression; nil means the local machine.
    public var on: TemplateValue?
    public var env: [String: TemplateValue]
    public var cwd: Template?
    public var timeout: Duration?
    public var retry: RetryPolicy
    public var continueOnError: Bool
    public var forEach: TemplateValue?
    public var maxParallel: Int?
    /// `sudo: true` (root) or `sudo: <user>`: the step's commands run through sudo on its host.
    public var sudo: String?
    public var location: SourceLocation

    public var children: [Step] {
        if case .parallel(let steps) = body { steps } else { [] }
    }

    /// What people see: the name, else the id, else a short form of the body.
    public var displayName: String {
        if let name { return name }
        if let id { return id }
        switch body {
        case .run(let t):
            let firstLine = t.source.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            return firstLine.count > 60 ? String(firstLine.prefix(57)) + "..." : firstLine
        case .uses(let plugin, _, _): return plugin
        case .lua: return "lua"
        case .parallel(let steps): return "parallel (\(steps.count) steps)"
        }
    }
}

public struct RetryPolicy: Sendable, Hashable {
    public var attempts: Int
    public var delay: Duration
    public var backoff: Double

    public static let none = RetryPolicy(attempts: 1, delay: .zero, backoff: 1)

    public init(attempts: Int, delay: Duration, backoff: Double) {
        self.attempts = attempts
        self.delay = delay
        self.backoff = backoff
    }

    /// The wait before attempt `n` (2-based: the first retry).
    public func delay(beforeAttempt n: Int) -> Duration {
        let factor = pow(backoff, Double(max(0, n - 2)))
        return .milliseconds(Int64(min(Double(delay.milliseconds) * factor, Double(DurationParser.maximum))))
    }
}

import Foundation
