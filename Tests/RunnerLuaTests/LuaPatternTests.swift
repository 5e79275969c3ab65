import Foundation
import RunnerCore
@testable import RunnerLua
import Testing

/// The bounded string and table functions (CLuaBounded) give what Lua's own give, and stop at
/// the limits of the call.
@Suite("Bounded library functions", .timeLimit(.minutes(2)))
struct LuaPatternTests {
    /// Runs `code` (a Lua expression) protected, and describes every result with its type, so
    /// two states can be compared: `true|number:1|number:3|string:l`.
    static let describe = """
        local code = ...
        local f = assert(load("return " .. code, "=case"))
        local function text(v)
          if type(v) == "table" then
            local parts = {}
            for i = 1, #v do parts[#parts + 1] = tostring(v[i]) end
            return "{" .. table.concat(parts, ",") .. "}"
          end
          return tostring(v)
        end
        local function all(...)
          local out = {}
          for i = 1, select("#", ...) do local v = select(i, ...); out[#out + 1] = type(v) .. ":" .. text(v) end
          return table.concat(out, "|")
        end
        return all(pcall(f))
        """

    /// Helpers both states get: every gmatch result, and functions for gsub.
    static let helpers = """
        function G(s, p, init)
          local out = {}
          for a, b, c in string.gmatch(s, p, init) do out[#out + 1] = tostring(a) .. "/" .. tostring(b) .. "/" .. tostring(c) end
          return table.concat(out, ";")
        end
        function T(f) local t = {} f(t) return t end
        """

    static let cases: [String] = [
        // find: plain and pattern, init, anchors
        #"string.find("hello world", "o w")"#, #"string.find("hello", "l+")"#, #"string.find("hello", "l", 1, true)"#,
        #"string.find("a.b", ".", 1, true)"#, #"string.find("a+b", "+", 1, true)"#, #"string.find("a.b", "%.")"#,
        #"string.find("hello", "")"#, #"string.find("hello", "", 10)"#, #"string.find("hello", "", 6)"#,
        #"string.find("hello", "l", -2)"#, #"string.find("hello", "l", -100)"#, #"string.find("hello", "xyz")"#,
        #"string.find("hello", "h", 0)"#, #"string.find("", "")"#, #"string.find("", "a*")"#, #"string.find("abc", "a", 5)"#,
        #"string.find("abc", "^b")"#, #"string.find("abc", "^a")"#, #"string.find("abc", "c$")"#, #"string.find("abc", "b$")"#,
        #"string.find("a$c", "$c")"#, #"string.find("a$c", "a$")"#, #"string.find("a^c", "a^")"#, #"string.find("abc", "^")"#,
        #"string.find("hello", "(l)(l)")"#, #"string.find("hello", "()ll()")"#, #"string.find("x = 1", "(%w+)%s*=%s*(%w+)")"#,
        #"string.find("  trim  ", "^%s*(.-)%s*$")"#, #"string.find("THE (quick) fox", "%((%a+)%)")"#,
        #"string.find("f(a(b)c)d", "%b()")"#, #"string.find("[[x]]", "%b[]")"#, #"string.find("((x)", "%b()")"#,
        #"string.find("'a'b'", "%b''")"#, #"string.find("THE (quick) fox", "%f[%a]%a+")"#,
        #"string.find("hello world from lua", "%f[%w]%w+", 7)"#, #"string.find("THE END", "%f[%z]")"#, #"string.find("word", "%f[%W]")"#,
        #"string.find("aaa", "a-b")"#, #"string.find("aaab", "a-b")"#, #"string.find("aaab", "a-")"#, #"string.find("abc", "a?b?c?d?")"#,
        #"string.find("abcabc", "(abc)%1")"#, #"string.find("abab", "(a)(b)%1%2")"#, #"string.find("xx", "()%1")"#,
        #"string.find("xyz", "[^xy]")"#, #"string.find("a-b", "[a-]")"#, #"string.find("a]b", "[]]")"#, #"string.find("a]b", "[^]]")"#,
        #"string.find("a^b", "[%^]")"#, #"string.find("a^b", "[b^]")"#, #"string.find("0x1F", "%x+", 3)"#, #"string.find("A1 b2", "%u%d")"#,
        #"string.find("tab\there", "%c")"#, #"string.find("a,b;c", "%p")"#, #"string.find("a b", "%S+")"#, #"string.find("abc123", "[%a%d]+")"#,
        #"string.find("abc123", "[^%d]+")"#, #"string.find("hello", ".-l")"#, #"string.find("hello", ".*l")"#, #"string.find("hello", "l*")"#,
        #"string.find("hello", "l+", 4)"#, #"string.find("key=", "(%w+)=(%w*)")"#, #"string.find("a\0b", "\0")"#, #"string.find("a\0b", "[\0]")"#,
        #"string.find("a\0b", ".\0.")"#, #"string.find("a\0b", "%z")"#, #"string.find("héllo", "é")"#, #"string.find("héllo", "[\xc3\xa9]+")"#,
        #"string.find("\xff", "%a")"#, #"string.find("A-Z", "[A-Z]+")"#, #"string.find("m", "[a-z-]")"#, #"string.find("-", "[%a-]")"#,
        #"string.find("z", "[a-]")"#, #"string.find("b", "[%a-z]")"#, #"string.find("]", "[%]]")"#, #"string.find("x.y", "[.]")"#,
        #"string.find("gG7 ", "%g+")"#, #"string.find("AbC", "%l")"#, #"string.find("AbC", "%L+")"#, #"string.find("x\n", "%s")"#,
        #"string.find("aaa", "^(a*)(a)$")"#, #"string.find("abc", "((a)(b))")"#, #"string.find("abc", "(a*(.)%w(%s*))")"#,
        #"string.find(12345, 3)"#, #"string.find("1e5", 1e5)"#,
        // find and match errors
        #"string.find("abc", "%")"#, #"string.find("abc", "[a")"#, #"string.find("abc", "[")"#, #"string.find("abc", "[^")"#,
        #"string.find("abc", "[%")"#, #"string.find("abc", "(a")"#, #"string.find("abc", "a)")"#, #"string.find("abc", "%1")"#,
        #"string.find("abc", "(a)%2")"#, #"string.find("abc", "(a%1)")"#, #"string.find("abc", "%0")"#, #"string.find("abc", "%b")"#,
        #"string.find("abc", "%ba")"#, #"string.find("abc", "%f")"#, #"string.find("abc", "%fa")"#, #"string.find("abc", "(()")"#,
        #"string.find(nil, "a")"#, #"string.find("a", nil)"#, #"string.find("a", "a", 1.5)"#, #"string.find("a", "a", "x")"#,
        #"string.find("abc", string.rep("()", 33))"#, #"string.find("abc", string.rep("()", 32))"#,
        #"string.find(string.rep("a", 300), string.rep("a?", 300))"#, #"string.find(string.rep("a", 199), string.rep("a?", 199))"#,
        #"string.find("x", string.rep("(", 40) .. "x" .. string.rep(")", 40))"#,
        // match
        #"string.match("hello 123", "%d+")"#, #"string.match("key = value", "(%w+) = (%w+)")"#,
        #"string.match("2024-01-15", "(%d+)-(%d+)-(%d+)")"#, #"string.match("hello", "()ll()")"#, #"string.match("hello", "x")"#,
        #"string.match("hello", "^(h)(e)")"#, #"string.match("  x", "^%s*()")"#, #"string.match("abc", "", 2)"#,
        #"string.match("abc", ".", -1)"#, #"string.match("a.c", ".", 1, true)"#, #"string.match("(a)", "%((.-)%)")"#,
        #"string.match("abc", "(a")"#, #"string.match("abc", "((a)(b))")"#, #"string.match("abc", "b", 10)"#,
        #"string.match("  padded  ", "^%s*(.-)%s*$")"#, #"string.match("v1.2.3", "^v(%d+)%.(%d+)%.(%d+)$")"#,
        #"string.match("ab", "a-()")"#, #"string.match("[x]", "^%[(.*)%]$")"#,
        // gmatch (with its 5.4 init, and '^' as a plain character)
        #"G("one two  three", "%a+")"#, #"G("k1=v1, k2=v2", "(%w+)=(%w+)")"#, #"G("abc", "")"#, #"G("abc", "()")"#,
        #"G("abc", "x*")"#, #"G("^a^a", "^a")"#, #"G("hello", "l*")"#, #"G("abc", ".", 2)"#, #"G("abc", ".", -1)"#, #"G("abc", ".", 10)"#,
        #"G("a,b,,c", "([^,]*)")"#, #"G("aaa", "a-")"#, #"G("THE (quick) fox", "%f[%a]%a+")"#, #"G("abc", "(a")"#,
        #"G("x=1 y=2", "(%w)=()")"#, #"G("abc", "%")"#,
        // gsub: string, number, table and function replacements, limits, anchors
        #"string.gsub("hello world", "o", "0")"#, #"string.gsub("hello world", "o", "0", 1)"#, #"string.gsub("hello", "", "-")"#,
        #"string.gsub("hello", "l+", "%0%0")"#, #"string.gsub("hello world", "(%w+)", "<%1>")"#,
        #"string.gsub("hello world", "(%w+) (%w+)", "%2 %1")"#, #"string.gsub("abc", "%w", "%%")"#, #"string.gsub("abc", "%w", "%1")"#,
        #"string.gsub("abc", "()", "%1")"#, #"string.gsub("abc", "b", string.upper)"#, #"string.gsub("$name is $age", "%$(%w+)", {name = "x", age = 3})"#,
        #"string.gsub("abc", "b", {})"#, #"string.gsub("abc", "b", false)"#, #"string.gsub("abc", "b", 5)"#, #"string.gsub("abc", "^a", "x")"#,
        #"string.gsub("aaa", "^a", "x")"#, #"string.gsub("abc", "x*", "-")"#, #"string.gsub("abc", ".", {a = 1, b = true})"#,
        #"string.gsub("abc", "%w", "%2")"#, #"string.gsub("abc", "%w", "%")"#, #"string.gsub("abc", "%w", "%x")"#,
        #"string.gsub("hello", "l", "L", 0)"#, #"string.gsub("hello", "l", "L", -1)"#, #"string.gsub("hello", "l", "L", 1.0)"#,
        #"string.gsub("hello", "l", "L", 1.5)"#, #"string.gsub("abc", "(a)(b)", function(a, b) return b .. a end)"#,
        #"string.gsub("abc", ".", function() return nil end)"#, #"string.gsub("abc", ".", function() return {} end)"#,
        #"string.gsub("abc", "(", "x")"#, #"string.gsub("abc", "(", "%1")"#, #"string.gsub("a\0b", "%z", "Z")"#,
        #"string.gsub("hello", ".", {h = "H"})"#, #"string.gsub("abc", "(b)", "[%0|%1]")"#, #"string.gsub("x y", "%s", "%%s")"#,
        #"string.gsub("abc", "", "")"#, #"string.gsub("", "", "x")"#, #"string.gsub("abc", "$", "!")"#, #"string.gsub("abc", "^", ">")"#,
        #"string.gsub("abc abc", "%f[%w]%w+", "W")"#, #"string.gsub("one  two", "%s+", " ")"#, #"string.gsub("a", "a", "%\0")"#,
        #"string.gsub("abc", "b", "x", "y")"#, #"string.gsub("abc", "(b)()", "%2")"#, #"string.gsub("abc", ".", {[1] = "x"})"#,
        #"string.gsub("hello", "(l)(l)", {ll = "x", l = "y"})"#, #"string.gsub("aaa", "a", "b", 2)"#,
        // methods go through the same functions
        #"("hello"):find("l")"#, #"("x"):rep(3)"#, #"("abc"):gsub("b", "B")"#, #"("k=v"):match("(%w)=(%w)")"#,
        // rep
        #"string.rep("ab", 3)"#, #"string.rep("ab", 3, ",")"#, #"string.rep("", 5)"#, #"string.rep("", 5, "")"#, #"string.rep("", 3, "-")"#,
        #"string.rep("x", 0)"#, #"string.rep("x", -1)"#, #"string.rep("x", 2, "")"#, #"string.rep()"#, #"string.rep("x")"#,
        #"string.rep("x", 1.5)"#, #"string.rep("x", 2, {})"#, #"string.rep(5, 2)"#,
        // table functions
        #"T(function(t) t[1], t[2] = 1, 2; table.insert(t, 3); table.insert(t, 1, 0) end)"#,
        #"table.insert({1, 2}, 5, 1)"#, #"table.insert({}, 1, 2, 3)"#, #"table.insert({})"#, #"table.insert(nil, 1)"#,
        #"table.insert("abc", 1)"#, #"T(function(t) table.insert(t, 1, "a"); table.insert(t, 1, "b"); table.insert(t, 3, "c") end)"#,
        #"T(function(t) for i = 1, 5 do t[i] = i end; t.x = table.remove(t); t.y = table.remove(t, 1) end)"#,
        #"table.remove({})"#, #"table.remove({}, 0)"#, #"table.remove({1}, 5)"#, #"table.remove({1, 2}, 3)"#, #"table.remove({1, 2}, -1)"#,
        #"table.remove({1, 2, 3}, 2)"#, #"table.remove({n = 1}, 1)"#,
        #"table.move({1, 2, 3}, 1, 3, 2)"#, #"table.move({1, 2, 3}, 2, 3, 1)"#, #"table.move({1, 2, 3}, 1, 3, 1, {})"#,
        #"table.move({1, 2, 3}, 1, 3, 3, {9, 9})"#, #"table.move({1, 2, 3}, 3, 1, 1)"#, #"table.move({}, -1, math.maxinteger, 1)"#,
        #"table.move({1, 2}, 1, 2, math.maxinteger)"#, #"table.move({1}, 1, 1, math.maxinteger)"#, #"#table.move("abc", 1, 2, 1, {})"#,
        #"table.move({1}, 1, 1, 1, 5)"#, #"table.move({1}, "a", 1, 1)"#,
        #"T(function(t) for i = 1, 9 do t[i] = (i * 7) % 10 end; table.sort(t) end)"#,
        #"T(function(t) for i = 1, 9 do t[i] = (i * 7) % 10 end; table.sort(t, function(a, b) return a > b end) end)"#,
        #"T(function(t) t[1], t[2], t[3] = "b", "c", "a"; table.sort(t) end)"#, #"table.sort({1, "a"})"#, #"table.sort({1, 2}, 3)"#,
        #"table.sort({5, 4, 3, 2, 1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, function(a, b) return true end)"#,
        #"table.sort("abc")"#, #"T(function(t) table.sort(t) end)"#,
    ]

    /// The same case in a state with Lua's own functions and in one with the bounded ones.
    @Test func boundedFunctionsAgreeWithLua() throws {
        let lua = try LuaState(limits: .default, boundedLibraries: false)
        let bounded = try LuaState(limits: .default)
        for state in [lua, bounded] { _ = try run(Self.helpers, in: state) }
        let describeLua = try lua.compile(Self.describe, chunkName: "describe")
        let describeBounded = try bounded.compile(Self.describe, chunkName: "describe")
        for code in Self.cases {
            let expected = try lua.call(describeLua, [.string(code)])
            let actual = try bounded.call(describeBounded, [.string(code)])
            #expect(actual == expected, "\(code)")
        }
    }

    /// Random subjects and patterns built from pieces, in both states.
    @Test func randomPatternsAgreeWithLua() throws {
        let lua = try LuaState(limits: .default, boundedLibraries: false)
        let bounded = try LuaState(limits: .default)
        let describeLua = try lua.compile(Self.describe, chunkName: "describe")
        let describeBounded = try bounded.compile(Self.describe, chunkName: "describe")
        let pieces = ["a", "b", ".", "%a", "%d", "[ab]", "[^a]", "%s", "(", ")", "()", "%1", "*", "+", "-", "?", "^", "$", "%b()", "%f[%a]", "[a-c]", "%%", "x"]
        let subjects = ["", "a", "ab", "aab ba", "(a(b)) 12", "abc  abc", "b1a2 (x)", "aaa"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1500 {
            let pattern = (0..<Int.random(in: 1...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let subject = subjects.randomElement(using: &generator)!
            let quoted = { (s: String) in "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            for code in ["string.find(\(quoted(subject)), \(quoted(pattern)))", "string.gsub(\(quoted(subject)), \(quoted(pattern)), \"<%0>\")"] {
                let expected = try lua.call(describeLua, [.string(code)])
                let actual = try bounded.call(describeBounded, [.string(code)])
                #expect(actual == expected, "\(code)")
            }
        }
    }

    // MARK: Limits hold inside them

    /// Backtracking patterns: each tries far more than any limit allows.
    static let backtracking = [
        #"string.rep("a", 5000):find(string.rep("a*", 20) .. "b")"#,
        #"string.rep("a", 5000):match(string.rep("a-", 20) .. "b")"#,
        #"string.gsub(string.rep("a", 3000), string.rep("a*", 15) .. "b", "")"#,
        #"(function() for x in string.gmatch(string.rep("a", 3000), string.rep("a*", 15) .. "b") do end end)()"#,
        #"string.rep("a", 40):match(string.rep("a?", 40) .. string.rep("a", 40))"#,
    ]

    @Test(arguments: backtracking)
    func instructionLimitStopsAPattern(code: String) throws {
        let limits = LuaLimits(instructions: 1_000_000, memoryBytes: 64 << 20, wallClock: nil)
        #expect(failure(running: "return \(code)", limits: limits)?.kind == .instructionLimit)
    }

    @Test(arguments: backtracking)
    func wallClockStopsAPattern(code: String) throws {
        let limits = LuaLimits(instructions: .max, memoryBytes: 64 << 20, wallClock: .milliseconds(100))
        #expect(failure(running: "return \(code)", limits: limits)?.kind == .timeout)
    }

    @Test func cancellationStopsAPattern() throws {
        let state = try LuaState(limits: LuaLimits(instructions: .max, wallClock: nil))
        cancel(state.canceller, after: 0.1)
        #expect(failure(running: "return \(Self.backtracking[0])", in: state)?.kind == .cancelled)
        #expect(try evaluate("return ('abc'):find('b')", in: state) == 2)
    }

    @Test func pcallCannotSwallowAStoppedPattern() throws {
        let limits = LuaLimits(instructions: 1_000_000, memoryBytes: 64 << 20, wallClock: nil)
        let code = "while true do pcall(string.find, string.rep('a', 5000), string.rep('a*', 20) .. 'b') end"
        #expect(failure(running: code, limits: limits)?.kind == .instructionLimit)
    }

    /// Loops in C that no memory limit bounds.
    @Test(arguments: [
        "table.move({}, 1, 1e15, 1, {})",
        "table.move({}, 1, 1e15, 2)",
        "table.remove(setmetatable({}, {__len = function() return math.maxinteger end}), 1)",
        "table.insert(setmetatable({}, {__len = function() return math.maxinteger - 1 end}), 1, 'x')",
        "(function() local s = string.rep('x', 1 << 20) local t = {} for i = 1, 100000 do t[i] = s end table.sort(t) end)()",
        "table.sort(setmetatable({}, {__len = function() return 2^31 - 2 end, __index = rawlen, __newindex = rawequal}))",
    ])
    func instructionLimitStopsALongLibraryLoop(code: String) throws {
        let limits = LuaLimits(instructions: 1_000_000, memoryBytes: 64 << 20, wallClock: nil)
        #expect(failure(running: "return \(code)", limits: limits)?.kind == .instructionLimit)
    }

    @Test func repOfNothingIsImmediate() throws {
        let limits = LuaLimits(instructions: 1_000, memoryBytes: 64 << 20, wallClock: nil)
        #expect(try evaluate("return string.rep('', 1 << 60) .. string.rep('', 1 << 60, '')", in: try LuaState(limits: limits)) == "")
    }

    /// A call event checks cancellation: after `stop()` cancels, the next call stops the script,
    /// long before the 1000 instructions of a count event.
    @Test func cancellationIsCheckedAtTheNextCall() throws {
        let state = try LuaState(limits: LuaLimits(instructions: .max, wallClock: nil))
        let canceller = state.canceller
        try state.register("stop") { _ in
            canceller.cancel()
            return []
        }
        #expect(failure(running: "stop() return string.len('x')", in: state)?.kind == .cancelled)
        #expect(try evaluate("return string.len('xy')", in: state) == 2)
    }
}
