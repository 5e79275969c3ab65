/// The JSON Schema (draft 2020-12) of the pipeline format, for editors.
public enum PipelineSchema {
    public static func jsonSchema(plugins: PluginRegistry) -> String {
        let duration: Value = ["oneOf": [["type": "string", "pattern": "^([0-9.]+(ms|s|m|h|d))+$"], ["type": "number", "minimum": 0]]]
        let stringMap: Value = ["type": "object", "additionalProperties": ["type": "string"]]
        let envMap: Value = ["type": "object", "propertyNames": ["pattern": "^[A-Za-z_][A-Za-z0-9_]*$"],
                             "additionalProperties": ["type": "string"]]
        let hostsOn: Value = ["oneOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]]
        var pluginCases: [Value] = []
        for name in plugins.names {
            guard let plugin = plugins[name] else { continue }
            var props: [String: Value] = [:]
            for p in plugin.parameters {
                var schema: [String: Value] = ["description": .string(p.doc)]
                switch p.type {
                case .string: schema["type"] = "string"
                case .int: schema["type"] = ["integer", "string"]
                case .bool: schema["type"] = ["boolean", "string"]
                case .number: schema["type"] = ["number", "string"]
                case .list: schema["type"] = ["array", "string"]
                case .map: schema["type"] = ["object", "string"]
                case .duration: schema["type"] = ["string", "number"]
                case .oneOf(let options): schema["enum"] = .list(options.map(Value.string) + [.bool(true), .bool(false)])
                case .any: break
                }
                props[p.name] = .map(schema)
            }
            let required = plugin.parameters.filter { $0.required && $0.defaultValue == nil }.map { Value.string($0.name) }
            pluginCases.append([
                "if": ["properties": ["uses": ["const": .string(name)]], "required": ["uses"]],
                "then": ["properties": ["with": ["type": "object", "properties": .map(props), "additionalProperties": false,
                                                 "required": .list(required)]]],
            ])
        }
        let step: Value = [
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "id": ["type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"],
                "name": ["type": "string"],
                "if": ["type": "string", "description": "Lua expression; default success()"],
                "on": hostsOn,
                "run": ["type": "string", "description": "Shell script; ${{ }} values reach it as single literal words, and are refused where the shell would read them as code (arithmetic, single quotes, sh -c, eval, quoted heredocs)"],
                "uses": ["type": "string", "enum": .list(plugins.names.map(Value.string))],
                "with": ["type": "object"],
                "lua": ["type": "string"],
                "parallel": ["type": "array", "items": ["$ref": "#/$defs/step"]],
                "env": envMap,
                "cwd": ["type": "string"],
                "timeout": duration,
                "retry": ["oneOf": [["type": "integer", "minimum": 1],
                                    ["type": "object", "additionalProperties": false,
                                     "properties": ["attempts": ["type": "integer", "minimum": 1, "maximum": 100],
                                                    "delay": duration, "backoff": ["type": "number", "minimum": 1, "maximum": 10]]]]],
                "continue_on_error": ["type": "boolean"],
                "for_each": ["oneOf": [["type": "array"], ["type": "string"]]],
                "max_parallel": ["type": "integer", "minimum": 1],
            ],
            "oneOf": [["required": ["run"]], ["required": ["uses"]], ["required": ["lua"]], ["required": ["parallel"]]],
            "allOf": .list(pluginCases),
        ]
        let param: Value = [
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": [
                "required": ["type": "boolean"], "default": [:], "pattern": ["type": "string"],
                "type": ["enum": ["string", "int", "bool", "number", "list"]], "description": ["type": "string"],
                "secret": ["type": "boolean"],
            ],
        ]
        let host: Value = [
            "oneOf": [["type": "string"], ["type": "object", "additionalProperties": false, "properties": [
                "address": ["type": "string", "pattern": "^[A-Za-z0-9._:%][A-Za-z0-9._:%-]{0,252}$"],
                "port": ["type": "integer", "minimum": 1, "maximum": 65535],
                "user": ["type": "string", "pattern": "^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$"],
                "identity": ["type": "string", "minLength": 1], "known_hosts": ["type": "string", "minLength": 1],
                "ssh_config": ["type": "string", "minLength": 1], "connection": ["enum": ["ssh", "local"]],
                "host_key_policy": ["enum": ["strict", "accept-new"]], "connect_timeout": duration, "keepalive": duration,
                "identity_passphrase": ["type": "string", "minLength": 1, "description": "name of a secret of the pipeline"],
                "sudo_password": ["type": "string", "minLength": 1, "description": "name of a secret of the pipeline"],
                "labels": stringMap,
            ]]],
        ]
        let schema: Value = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "runner pipeline",
            "type": "object",
            "additionalProperties": false,
            "required": ["steps"],
            "properties": [
                "name": ["type": "string"],
                "description": ["type": "string"],
                "params": ["type": "object", "additionalProperties": ["$ref": "#/$defs/param"]],
                "inventory": ["type": "string"],
                "hosts": ["type": "object", "additionalProperties": host],
                "groups": ["type": "object", "additionalProperties": ["type": "array", "items": ["type": "string"]]],
                "vars": ["type": "object"],
                "secrets": ["type": "array", "items": ["type": "object", "additionalProperties": false,
                                                       "properties": ["env": ["type": "string"], "sops": ["type": "string"], "as": ["type": "string"]]]],
                "env": envMap,
                "concurrency": ["type": "string"],
                "timeout": duration,
                "steps": ["type": "array", "minItems": 1, "items": ["$ref": "#/$defs/step"]],
                "finally": ["type": "array", "items": ["$ref": "#/$defs/step"]],
                "on_failure": ["type": "array", "items": ["$ref": "#/$defs/step"]],
            ],
            "$defs": ["step": step, "param": param],
        ]
        return JSON.encode(schema)
    }
}
