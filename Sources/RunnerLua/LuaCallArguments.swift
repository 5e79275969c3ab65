import RunnerCore

/// The arguments a Lua script passed to a Swift function (see `LuaState.register`).
///
/// Indices are 0-based; messages number arguments from 1 as Lua does.
public struct LuaCallArguments: Sendable {
    /// The registered path, e.g. `runner.log`.
    public let functionName: String
    /// The arguments converted to `Value`s.
    public let values: [Value]

    public init(functionName: String, values: [Value]) {
        self.functionName = functionName
        self.values = values
    }

    public var count: Int { values.count }

    /// The argument at `index`, `.null` when absent (as in Lua).
    public subscript(index: Int) -> Value { values.indices.contains(index) ? values[index] : .null }

    /// The string argument at `index`; throws `bad argument #1 to 'f' (string expected, got int)`.
    public func string(_ index: Int) throws(LuaArgumentError) -> String {
        try expect(index, "string") { $0.stringValue }
    }

    /// The integer argument at `index` (a float with an integral value is accepted).
    public func int(_ index: Int) throws(LuaArgumentError) -> Int {
        try expect(index, "integer") { $0.intValue }
    }

    /// The numeric argument at `index`.
    public func double(_ index: Int) throws(LuaArgumentError) -> Double {
        try expect(index, "number") { $0.doubleValue }
    }

    /// The boolean argument at `index`.
    public func bool(_ index: Int) throws(LuaArgumentError) -> Bool {
        try expect(index, "boolean") { $0.boolValue }
    }

    private func expect<T>(_ index: Int, _ expected: String, _ extract: (Value) -> T?) throws(LuaArgumentError) -> T {
        let value = self[index]
        guard let result = extract(value) else {
            throw LuaArgumentError(
                "bad argument #\(index + 1) to '\(functionName)' (\(expected) expected, got \(value.typeName))")
        }
        return result
    }
}

/// A Swift function received an argument it cannot use. Its description is the Lua error message.
public struct LuaArgumentError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
