/// A param's `pattern:`: a regular expression searched in the value, in time linear in the
/// value's length for every pattern.
///
/// The syntax is the common core of POSIX ERE and the usual regex dialects: literals, `.`, `^`
/// and `$` (the start and end of the whole value), `[...]` and `[^...]` with ranges, `\d \w \s`
/// (ASCII) and POSIX classes like `[:alpha:]`, groups `(...)` and `(?:...)`, alternation `|`,
/// and the quantifiers `* + ? {n} {n,} {n,m}` (a trailing `?`, lazy, is accepted and changes
/// nothing, since only "does it match" is asked). Back-references, look-around and other
/// features that need backtracking are refused when the pipeline is loaded.
///
/// Matching runs the pattern as a Thompson automaton (all alternatives advance together over
/// the value, one character at a time), so `^(a+)+$` against any value costs at most the
/// value's length times the pattern's size. Both are bounded: a pattern expands to at most
/// `maxSize` instructions (after counted repetitions), a value over `maxValueLength` bytes does
/// not match.
///
///     let pattern = try ParamPattern("^[a-z][a-z0-9-]*$")
///     pattern.matches("phone")  // true
public struct ParamPattern: Sendable, Hashable {
    /// The pattern as written.
    public let source: String
    private let program: [Instruction]

    /// Instructions a pattern may compile to.
    public static let maxSize = 2000
    /// Bytes of a value a pattern is searched in; longer values do not match.
    public static let maxValueLength = 64 << 10

    /// Why a pattern is refused, and where (a 0-based offset in characters of the pattern).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at character \(offset + 1)" }
    }

    public init(_ source: String) throws(Failure) {
        self.source = source
        var parser = Parser(Array(source.unicodeScalars))
        let tree = try parser.parse()
        var compiler = Compiler()
        try compiler.emit(tree, at: 0)
        compiler.program.append(.accept)
        program = compiler.program
    }

    /// Whether the pattern matches somewhere in `text` (anchor with `^...$` for the whole value).
    public func matches(_ text: String) -> Bool {
        guard text.utf8.count <= Self.maxValueLength else { return false }
        let input = Array(text.unicodeScalars)
        var stamp = [Int](repeating: -1, count: program.count)
        var current: [Int] = []
        var next: [Int] = []
        var stack: [Int] = []
        /// Adds the states reachable from `start` without reading (at position `i`) to `list`;
        /// true when one of them accepts.
        func add(_ start: Int, at i: Int, to list: inout [Int]) -> Bool {
            stack.append(start)
            while let pc = stack.popLast() {
                guard stamp[pc] != i else { continue }
                stamp[pc] = i
                switch program[pc] {
                case .accept:
                    stack.removeAll()
                    return true
                case .read: list.append(pc)
                case .jump(let target): stack.append(target)
                case .split(let first, let second):
                    stack.append(second)
                    stack.append(first)
                case .start: if i == 0 { stack.append(pc + 1) }
                case .end: if i == input.count { stack.append(pc + 1) }
                }
            }
            return false
        }
        for i in 0...input.count {
            // A search: a new attempt starts at every position.
            if add(0, at: i, to: &current) { return true }
            guard i < input.count else { break }
            next.removeAll(keepingCapacity: true)
            for pc in current {
                if case .read(let set) = program[pc], set.contains(input[i]), add(pc + 1, at: i + 1, to: &next) { return true }
            }
            swap(&current, &next)
        }
        return false
    }

    /// One step of the automaton.
    enum Instruction: Sendable, Hashable {
        case read(CharacterSet)
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case accept
    }

    /// A set of Unicode scalars: ranges, maybe negated.
    struct CharacterSet: Sendable, Hashable {
        var ranges: [ClosedRange<UInt32>] = []
        var negated = false

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            ranges.contains { $0.contains(scalar.value) } != negated
        }

        static func of(_ ranges: [ClosedRange<UInt32>], negated: Bool = false) -> CharacterSet {
            CharacterSet(ranges: ranges, negated: negated)
        }

        static let digit = of([0x30...0x39])
        static let word = of([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
        static let space = of([0x09...0x0D, 0x20...0x20])
        /// `.`: anything but a line feed.
        static let any = of([0x0A...0x0A], negated: true)
    }

    indirect enum Node {
        case set(CharacterSet)
        case start, end
        case sequence([Node])
        case alternatives([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    // MARK: Parsing

    struct Parser {
        let text: [Unicode.Scalar]
        var index = 0
        var depth = 0

        init(_ text: [Unicode.Scalar]) { self.text = text }

        func failure(_ message: String, at offset: Int? = nil) -> Failure {
            Failure(message: message, offset: offset ?? index)
        }

        var peek: Unicode.Scalar? { index < text.count ? text[index] : nil }

        mutating func parse() throws(Failure) -> Node {
            let node = try alternatives()
            if index < text.count { throw failure("unmatched ')'") }
            return node
        }

        mutating func alternatives() throws(Failure) -> Node {
            var options = [try sequence()]
            while peek == "|" {
                index += 1
                options.append(try sequence())
            }
            return options.count == 1 ? options[0] : .alternatives(options)
        }

        mutating func sequence() throws(Failure) -> Node {
            var items: [Node] = []
            while let c = peek, c != "|", c != ")" {
                let atomStart = index
                var item = try atom()
                var quantifiers = 0
                while let q = peek, "*+?{".unicodeScalars.contains(q) {
                    if case .start = item { throw failure("a quantifier after '^'", at: atomStart) }
                    if case .end = item { throw failure("a quantifier after '$'", at: atomStart) }
                    if quantifiers > 0 { throw failure("two quantifiers in a row") }
                    item = try quantified(item)
                    quantifiers += 1
                    if peek == "?" { index += 1 }  // lazy: no difference for a yes/no match
                }
                items.append(item)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        mutating func quantified(_ item: Node) throws(Failure) -> Node {
            let at = index
            let q = text[index]
            index += 1
            switch q {
            case "*": return .repeated(item, min: 0, max: nil)
            case "+": return .repeated(item, min: 1, max: nil)
            case "?": return .repeated(item, min: 0, max: 1)
            default:
                let min = try number()
                var max: Int? = min
                if peek == "," {
                    index += 1
                    max = peek == "}" ? nil : try number()
                }
                guard peek == "}" else { throw failure("a '{' that is not a repetition like {2} or {1,3} (write \\{ for the character)", at: at) }
                index += 1
                if let max, max < min { throw failure("a repetition {\(min),\(max)} whose maximum is below its minimum", at: at) }
                return .repeated(item, min: min, max: max)
            }
        }

        mutating func number() throws(Failure) -> Int {
            var value = 0
            var digits = 0
            while let c = peek, ("0"..."9").contains(c) {
                value = value * 10 + Int(c.value - 0x30)
                digits += 1
                index += 1
                if value > 1000 { throw failure("a repetition count over 1000") }
            }
            if digits == 0 { throw failure("a '{' that is not a repetition like {2} or {1,3} (write \\{ for the character)") }
            return value
        }

        mutating func atom() throws(Failure) -> Node {
            let at = index
            let c = text[index]
            index += 1
            switch c {
            case "(":
                if peek == "?" {
                    guard index + 1 < text.count, text[index + 1] == ":" else {
                        throw failure("'(?' groups other than '(?:' (look-around, flags, names) are not supported", at: at)
                    }
                    index += 2
                }
                depth += 1
                if depth > 100 { throw failure("groups nested more than 100 deep", at: at) }
                let inner = try alternatives()
                guard peek == ")" else { throw failure("missing ')'", at: at) }
                index += 1
                depth -= 1
                return inner
            case ")": throw failure("unmatched ')'", at: at)
            case "*", "+", "?": throw failure("'\(c)' has nothing to repeat", at: at)
            case "{": throw failure("'{' has nothing to repeat (write \\{ for the character)", at: at)
            case "[": return .set(try bracket(at: at))
            case ".": return .set(.any)
            case "^": return .start
            case "$": return .end
            case "\\": return .set(try escape(inBracket: false))
            default: return .set(.of([c.value...c.value]))
            }
        }

        /// After a backslash: a class, a control character or an escaped punctuation character.
        mutating func escape(inBracket: Bool) throws(Failure) -> CharacterSet {
            let at = index - 1
            guard let c = peek else { throw failure("the pattern ends with '\\'", at: at) }
            index += 1
            switch c {
            case "d": return .digit
            case "D": return .of(CharacterSet.digit.ranges, negated: true)
            case "w": return .word
            case "W": return .of(CharacterSet.word.ranges, negated: true)
            case "s": return .space
            case "S": return .of(CharacterSet.space.ranges, negated: true)
            case "n": return .of([0x0A...0x0A])
            case "t": return .of([0x09...0x09])
            case "r": return .of([0x0D...0x0D])
            case "f": return .of([0x0C...0x0C])
            case "v": return .of([0x0B...0x0B])
            default:
                if c.isASCII, !c.properties.isAlphabetic, !("0"..."9").contains(c) { return .of([c.value...c.value]) }
                if ("1"..."9").contains(c) { throw failure("back-references (\\\(c)) are not supported", at: at) }
                if c == "b" || c == "B" { throw failure("word boundaries (\\\(c)) are not supported", at: at) }
                throw failure("the escape '\\\(c)' is not supported", at: at)
            }
        }

        /// `[...]` after its '['.
        mutating func bracket(at: Int) throws(Failure) -> CharacterSet {
            var set = CharacterSet()
            if peek == "^" {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard let c = peek else { throw failure("missing ']'", at: at) }
                if c == "]" && !first {
                    index += 1
                    return set
                }
                first = false
                if c == "[", index + 1 < text.count, text[index + 1] == ":" {
                    set.ranges += try posixClass()
                    continue
                }
                let low: UInt32
                index += 1
                if c == "\\" {
                    let escaped = try escape(inBracket: true)
                    guard escaped.ranges.count == 1, !escaped.negated, escaped.ranges[0].count == 1 else {
                        if escaped.negated { throw failure("negated classes (\\D \\W \\S) inside [...] are not supported; use [^...]") }
                        set.ranges += escaped.ranges
                        continue
                    }
                    low = escaped.ranges[0].lowerBound
                } else {
                    low = c.value
                }
                if peek == "-", index + 1 < text.count, text[index + 1] != "]" {
                    index += 1
                    let h = text[index]
                    index += 1
                    var high = h.value
                    if h == "\\" {
                        let escaped = try escape(inBracket: true)
                        guard escaped.ranges.count == 1, !escaped.negated, escaped.ranges[0].count == 1 else {
                            throw failure("a range ending in a class")
                        }
                        high = escaped.ranges[0].lowerBound
                    } else if h == "[" && peek == ":" {
                        throw failure("a range ending in a class")
                    }
                    guard low <= high else { throw failure("a range whose end is below its start") }
                    set.ranges.append(low...high)
                } else {
                    set.ranges.append(low...low)
                }
            }
        }

        /// `[:name:]` inside a bracket.
        mutating func posixClass() throws(Failure) -> [ClosedRange<UInt32>] {
            let at = index
            guard let close = (index + 2..<text.count).first(where: { text[$0] == ":" && $0 + 1 < text.count && text[$0 + 1] == "]" }) else {
                throw failure("missing ':]'", at: at)
            }
            let name = String(String.UnicodeScalarView(text[(index + 2)..<close]))
            index = close + 2
            switch name {
            case "alpha": return [0x41...0x5A, 0x61...0x7A]
            case "digit": return CharacterSet.digit.ranges
            case "alnum": return [0x30...0x39, 0x41...0x5A, 0x61...0x7A]
            case "upper": return [0x41...0x5A]
            case "lower": return [0x61...0x7A]
            case "space": return CharacterSet.space.ranges
            case "blank": return [0x09...0x09, 0x20...0x20]
            case "punct": return [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
            case "xdigit": return [0x30...0x39, 0x41...0x46, 0x61...0x66]
            case "cntrl": return [0x00...0x1F, 0x7F...0x7F]
            case "print": return [0x20...0x7E]
            case "graph": return [0x21...0x7E]
            default: throw failure("unknown class [:\(name):]", at: at)
            }
        }
    }

    // MARK: Compiling

    struct Compiler {
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction, at offset: Int) throws(Failure) {
            guard program.count < ParamPattern.maxSize else {
                throw Failure(message: "the pattern is too large once its repetitions are expanded (over \(ParamPattern.maxSize) steps)",
                              offset: offset)
            }
            program.append(instruction)
        }

        mutating func emit(_ node: Node, at offset: Int) throws(Failure) {
            switch node {
            case .set(let set): try append(.read(set), at: offset)
            case .start: try append(.start, at: offset)
            case .end: try append(.end, at: offset)
            case .sequence(let items): for item in items { try emit(item, at: offset) }
            case .alternatives(let options):
                var jumps: [Int] = []
                for (n, option) in options.enumerated() {
                    if n < options.count - 1 {
                        let split = program.count
                        try append(.split(split + 1, -1), at: offset)
                        try emit(option, at: offset)
                        jumps.append(program.count)
                        try append(.jump(-1), at: offset)
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(option, at: offset)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repeated(let item, let min, let max):
                for _ in 0..<min { try emit(item, at: offset) }
                if let max {
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        try append(.split(program.count + 1, -1), at: offset)
                        try emit(item, at: offset)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    let loop = program.count
                    try append(.split(loop + 1, -1), at: offset)
                    try emit(item, at: offset)
                    try append(.jump(loop), at: offset)
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
