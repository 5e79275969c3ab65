/// Words and commands: what a value in a word means to the program that reads it.
extension ShellContext {
    /// Why a value in the current word of the innermost command frame is not data, or nil.
    func wordTaint() -> String? {
        let frame = stack[stack.count - 1]
        if let taint = frame.taint { return taint }
        if frame.bracket { return Self.doubleBracket }
        if frame.heredocNext != nil { return "in a heredoc delimiter" }
        if frame.kind == .arrayLiteral {
            return frame.word?.text.hasPrefix("[") == true ? "in an array subscript, which bash evaluates as arithmetic" : nil
        }
        if frame.redirect || frame.caseWords > 0 || frame.cases.last == true { return nil }
        if let word = frame.word, ShellWord.isAssignment(word.literalPrefix), let reason = assignmentRefusal(word.literalPrefix) {
            return reason
        }
        let command = Array(frame.words.drop { ShellWord.isAssignment($0.literalPrefix) })
        // Still in the leading assignments (`PORT=…`), or the command word (judged when complete).
        if command.isEmpty { return nil }
        return Self.argumentRefusal(command + [frame.word ?? ShellWord()], at: command.count)
    }

    /// Why a value assigned by `text` (`NAME=…`, as a command's prefix, a `declare` or `env`
    /// argument) is code: the name has the integer attribute, or the shell or a program evaluates
    /// the variable or runs what it names.
    func assignmentRefusal(_ text: String) -> String? {
        var name = Substring(text.prefix { $0 != "=" })
        if name.hasSuffix("+") { name = name.dropLast() }
        if let bracket = name.firstIndex(of: "[") { name = name[..<bracket] }
        if integerNames.contains(String(name)) {
            return "`\(name)` has the integer attribute (`declare -i`), so bash evaluates what is assigned to it as arithmetic, where `a[$(cmd)]` runs cmd"
        }
        if ShellCommandRule.isCodeVariable(String(name)) {
            return "`\(name)` is a variable that the shell or a program reads as code or uses to choose what runs (`PS4`, `PATH`, `LD_PRELOAD`, `GIT_SSH_COMMAND`…)"
        }
        return nil
    }

    /// Why a value in element `index` of an argv list (a plugin's list form: no shell between,
    /// but the program may be one, `[sh, -c, …]`) is not data. The same rules as a `run:` command.
    static func argvRefusal(_ words: [ShellWord], at index: Int) -> String? {
        if index == 0 { return "it would name the program that runs" }
        let prefix = words[index].literalPrefix
        if ShellWord.isAssignment(prefix), ShellContext().assignmentRefusal(prefix) != nil,
           case .rule(_, .wrapper, _) = ShellCommandRule.governing(words, index) {
            return "it is assigned to a variable that a program reads as code or uses to choose what runs"
        }
        return argumentRefusal(words, at: index)
    }

    /// Why a value in `words[index]` (an argument) is not data for the program reading it.
    static func argumentRefusal(_ words: [ShellWord], at index: Int) -> String? {
        switch ShellCommandRule.governing(words, index) {
        case .data: return nil
        case .refused(let reason): return reason
        case .rule(let p, let rule, let program):
            return rule.refusal(Array(words[(p + 1)...]), at: index - p - 1, program: program)
        }
    }

    /// The current word is complete.
    mutating func endWord() {
        let top = stack.count - 1
        guard let word = stack[top].word else { return }
        stack[top].word = nil
        if let stripTabs = stack[top].heredocNext {
            stack[top].heredocNext = nil
            let delimiter = String(word.text.filter { $0 != ShellWord.unknown })
            stack[top].heredocs.append(Heredoc(delimiter: delimiter, stripTabs: stripTabs, quoted: word.quoted))
            if word.dynamic { lose("a heredoc delimiter with an expansion") }
            return
        }
        if stack[top].redirect {
            stack[top].redirect = false
            if stack[top].inputRedirect { stack[top].inputValues += word.values }
            return
        }
        if stack[top].kind == .arrayLiteral { return }
        if stack[top].bracket {
            if word.text == "]]", !word.quoted { stack[top].bracket = false }
            return
        }
        if stack[top].caseWords > 0 {
            stack[top].caseWords -= 1
            if stack[top].caseWords == 0 {
                if word.text == "in" { stack[top].cases.append(true) } else { lose("`case` without `in`") }
            }
            return
        }
        if stack[top].cases.last == true {
            if word.text == "esac", !word.quoted {
                stack[top].cases.removeLast()
                endCompound()
            }
            return
        }
        if stack[top].words.isEmpty, !word.quoted {
            switch word.text {
            case "{":
                push(.group, taint: stack[top].taint)
                return
            case "}" where stack[top].kind == .group:
                endCommand(pipe: false)
                close()
                return
            case "if", "while", "until", "for", "select":
                stack[top].compounds.append([])
                return
            case "fi", "done":
                endCompound()
                return
            case "then", "else", "elif", "do", "}", "!", "time", "function":
                return
            case "esac":
                if !stack[top].cases.isEmpty { stack[top].cases.removeLast() }
                endCompound()
                return
            case "case":
                stack[top].caseWords = 2
                stack[top].compounds.append([])
                return
            case "[[":
                stack[top].bracket = true
                return
            default: break
            }
        }
        let before = stack[top].words
        stack[top].words.append(word)
        guard !word.values.isEmpty else { return }
        let command = before.drop { ShellWord.isAssignment($0.literalPrefix) }
        let isCommandWord = command.isEmpty && !ShellWord.isAssignment(word.literalPrefix)
        let isSourcedFile = command.count == 1 && [".", "source"].contains(command[command.startIndex].text)
        if (isCommandWord || isSourcedFile), !word.literalSuffix.contains("/") {
            refuse(word.values, "it would name the program that runs (a value may end in a directory: `${{ vars.dir }}/deploy.sh`)")
        }
    }

    /// `declare -i n`, `local -ri n=1`: remembers `n`, whose later assignments bash evaluates.
    mutating func noteIntegerNames(_ command: [ShellWord]) {
        guard let first = command.first, case .declaration? = ShellCommandRule.rule(for: first.text) else { return }
        let args = command.dropFirst()
        guard args.contains(where: { $0.dynamic || (ShellCommandRule.isOption($0.text) && $0.text.contains("i")) }) else { return }
        for arg in args where !ShellCommandRule.isOption(arg.text) {
            var name = Substring(arg.literalPrefix.prefix { $0 != "=" })
            if name.hasSuffix("+") { name = name.dropLast() }
            if let bracket = name.firstIndex(of: "[") { name = name[..<bracket] }
            if ShellQuote.isVariableName(String(name)) { integerNames.insert(String(name)) }
        }
    }

    /// A compound command (`for … done`) ended: its values belong to the command it is part of,
    /// so `done | sh` sees them.
    mutating func endCompound() {
        let top = stack.count - 1
        guard let values = stack[top].compounds.popLast() else { return }
        stack[top].groupValues += values
    }

    /// The current simple command is complete (`;`, `&&`, newline, `|` when `pipe`).
    mutating func endCommand(pipe: Bool) {
        let top = stack.count - 1
        endWord()
        let words = stack[top].words
        let command = Array(words.drop { ShellWord.isAssignment($0.literalPrefix) })
        if let first = command.first, !first.dynamic, first.text == "[" || first.text == "test" {
            var args = Array(command.dropFirst())
            if first.text == "[", args.last?.text == "]" { args.removeLast() }
            for (k, arg) in args.enumerated() where !arg.values.isEmpty {
                if let reason = ShellCommandRule.testRefusal(args, at: k) { refuse(arg.values, reason) }
            }
        }
        noteIntegerNames(command)
        let values = words.flatMap(\.values) + stack[top].groupValues
        stack[top].groupValues = []
        let reader = ShellCommandRule.codeReader(command)
        if let reader { refuse(stack[top].inputValues, "it is the input of \(reader)") }
        stack[top].inputValues = []
        // A heredoc body is data only for a program known to read its input as data.
        let consumer = reader ?? ShellCommandRule.inputConsumer(command)
        if stack[top].afterPipe, let reader {
            refuse(stack[top].pipeline, "it is piped into \(reader)")
        }
        if stack[top].afterPipe, let consumer {
            stack[top].pipeTaint = stack[top].pipeTaint ?? "its text is piped into \(consumer), which may read it as a program"
        }
        for h in stack[top].heredocs.indices where !stack[top].heredocs[h].decided {
            stack[top].heredocs[h].decided = true
            stack[top].heredocs[h].taint = consumer.map {
                "the heredoc is the input of \($0), which may read it as a program (only \(ShellCommandRule.inputDataReaderList) are known to read it as data)"
            }
        }
        if let pipeTaint = stack[top].pipeTaint {
            for h in stack[top].heredocs.indices where stack[top].heredocs[h].taint == nil { stack[top].heredocs[h].taint = pipeTaint }
        }
        for k in stack[top].compounds.indices { stack[top].compounds[k] += values }
        if pipe {
            stack[top].pipeline += values
            stack[top].afterPipe = true
        } else {
            stack[top].pipeline = []
            stack[top].afterPipe = false
            stack[top].pipeTaint = nil
        }
        stack[top].words = []
        stack[top].redirect = false
    }
}
