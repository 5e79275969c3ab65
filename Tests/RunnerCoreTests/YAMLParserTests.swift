import Testing

import RunnerCore

/// Parses `text` as `test.yml`.
private func parse(_ text: String, limits: YAMLLimits = .default) throws(InvalidInput) -> YAMLNode? {
    try YAMLParser.parse(Array(text.utf8), file: "test.yml", limits: limits)
}

/// The single diagnostic parsing fails with, or nil (and a recorded issue) when parsing succeeds.
private func failure(
    _ bytes: [UInt8], file: String = "test.yml", limits: YAMLLimits = .default,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    do {
        _ = try YAMLParser.parse(bytes, file: file, limits: limits)
        Issue.record("expected parsing to fail", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.diagnostics.count == 1, sourceLocation: sourceLocation)
        return error.diagnostics.first
    }
}

private func failure(
    _ text: String, limits: YAMLLimits = .default, sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    failure(Array(text.utf8), limits: limits, sourceLocation: sourceLocation)
}

private func at(_ line: Int, _ column: Int, file: String = "test.yml") -> RunnerCore.SourceLocation {
    RunnerCore.SourceLocation(file: file, line: line, column: column)
}

@Suite("YAML parser")
struct YAMLParserTests {
    // MARK: Documents

    @Test("no document: empty file, blank lines, only comments", arguments: ["", "\n\n", "# just a comment\n  # another\n"])
    func noDocument(text: String) throws {
        #expect(try parse(text) == nil)
    }

    @Test func explicitEmptyDocumentIsNull() throws {
        let node = try #require(try parse("---\n"))
        #expect(node.value == .null)
    }

    @Test func documentMarkersAroundOneDocument() throws {
        let node = try #require(try parse("%YAML 1.2\n---\na: 1\n...\n"))
        #expect(node.value == ["a": 1])
    }

    @Test func twoDocumentsAreAnError() {
        let diagnostic = failure("a: 1\n---\nb: 2\n")
        #expect(diagnostic?.message.hasPrefix("expected one YAML document") == true)
        #expect(diagnostic?.location == at(2, 1))
    }

    @Test func fileNameIsUsedVerbatim() throws {
        let file = "../some dir/deploy.yml"
        let node = try #require(try YAMLParser.parse(Array("x: 1".utf8), file: file))
        #expect(node.location == at(1, 1, file: file))
        #expect(failure(Array("x: [".utf8), file: file)?.location?.file == file)
    }

    // MARK: Structure and locations

    @Test func locationsAreOneBased() throws {
        let node = try #require(
            try parse(
                """
                # comment
                name: web
                steps:
                  - run: make
                    retry: 3
                  - "quoted"
                """))
        #expect(node.location == at(2, 1))
        let pairs = try #require(node.mapping)
        #expect(pairs.map { $0.key.scalar?.text } == ["name", "steps"])
        #expect(pairs[0].key.location == at(2, 1))
        #expect(pairs[0].value.location == at(2, 7))
        let steps = try #require(node["steps"]?.sequence)
        #expect(steps.count == 2)
        #expect(steps[0].location == at(4, 5))
        #expect(steps[0]["retry"]?.location == at(5, 12))
        #expect(steps[1].location == at(6, 5))
        #expect(steps[1].scalar == YAMLScalar("quoted", style: .doubleQuoted))
    }

    @Test func conveniences() throws {
        let node = try #require(try parse("a: [1, 2]\nb: {c: d}\n"))
        #expect(node.scalar == nil && node.sequence == nil)
        #expect(node["a"]?.sequence?.count == 2)
        #expect(node["b"]?["c"]?.scalar?.text == "d")
        #expect(node["missing"] == nil)
        #expect(node["a"]?["x"] == nil)
    }

    @Test func valueOfCollections() throws {
        let node = try #require(try parse("list: [1, two, {three: 3.0}]\nmap: {}\nempty:\n"))
        #expect(node.value == ["list": [1, "two", ["three": 3.0]], "map": [:], "empty": nil])
    }

    // MARK: Scalars

    @Test(
        "plain scalars resolve with the YAML 1.2 core schema",
        arguments: [
            ("null", Value.null), ("Null", .null), ("NULL", .null), ("~", .null), ("", .null),
            ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)), ("false", .bool(false)),
            ("FALSE", .bool(false)),
            ("0", .int(0)), ("42", .int(42)), ("-17", .int(-17)), ("+8", .int(8)), ("0x1F", .int(31)),
            ("0xff", .int(255)), ("0o17", .int(15)), ("007", .int(7)),
            ("1.5", .double(1.5)), ("-0.25", .double(-0.25)), (".5", .double(0.5)), ("1.", .double(1)),
            ("1e3", .double(1000)), ("6.02E+23", .double(6.02e23)), (".inf", .double(.infinity)),
            ("-.Inf", .double(-.infinity)), ("+.INF", .double(.infinity)),
            ("yes", .string("yes")), ("no", .string("no")), ("on", .string("on")), ("off", .string("off")),
            ("y", .string("y")), ("tRUE", .string("tRUE")), ("nul", .string("nul")), ("0x", .string("0x")),
            ("0o8", .string("0o8")), ("0b101", .string("0b101")), ("1_000", .string("1_000")),
            ("1.2.3", .string("1.2.3")), ("e3", .string("e3")), ("1e", .string("1e")), (".", .string(".")),
            ("-x", .string("-x")), ("12:30", .string("12:30")), ("2024-01-01", .string("2024-01-01")),
            ("inf", .string("inf")), ("hello world", .string("hello world")),
        ])
    func coreSchema(text: String, expected: Value) throws {
        let node = try #require(try parse("v: \(text)\n"))
        #expect(node["v"]?.value == expected)
    }

    @Test func nanIsADouble() throws {
        for text in [".nan", ".NaN", ".NAN"] {
            let value = try #require(try parse(text)).value
            #expect(value.doubleValue?.isNaN == true)
        }
    }

    @Test func hugeDecimalBecomesADouble() throws {
        #expect(try parse("123456789012345678901234567890")?.value == .double(1.2345678901234568e29))
    }

    @Test func quotedAndBlockScalarsAreStrings() throws {
        let node = try #require(
            try parse(
                """
                single: 'true'
                double: "42"
                escaped: "tab\\there \\u00e9"
                empty: ""
                literal: |
                  line one
                  line two
                folded: >
                  one
                  two
                """))
        #expect(node["single"]?.scalar == YAMLScalar("true", style: .singleQuoted))
        #expect(node["double"]?.value == "42")
        #expect(node["double"]?.scalar?.style == .doubleQuoted)
        #expect(node["escaped"]?.value == "tab\there é")
        #expect(node["empty"]?.value == "")
        #expect(node["literal"]?.scalar == YAMLScalar("line one\nline two\n", style: .literal))
        #expect(node["folded"]?.scalar == YAMLScalar("one two", style: .folded))  // last line: no newline to keep
    }

    @Test func explicitTagsAreHonoured() throws {
        let node = try #require(
            try parse(
                """
                str: !!str 123
                bool: !!str true
                int: !!int "12"
                float: !!float 3
                yes: !!bool TRUE
                nothing: !!null ""
                local: !custom 5
                nonSpecific: ! 12
                """))
        #expect(node["str"]?.value == "123")
        #expect(node["str"]?.scalar?.tag == "tag:yaml.org,2002:str")
        #expect(node["bool"]?.value == "true")
        #expect(node["int"]?.value == 12)
        #expect(node["float"]?.value == .double(3))
        #expect(node["yes"]?.value == true)
        #expect(node["nothing"]?.value == .null)
        #expect(node["local"]?.scalar?.tag == "!custom")
        #expect(node["local"]?.value == "5")
        #expect(node["nonSpecific"]?.value == "12")
        #expect(try parse("[!!seq [1], !!map {a: 1}]")?.value == [[1], ["a": 1]])
    }

    @Test func scalarNotMatchingItsTagIsAnError() {
        let diagnostic = failure("a: 1\nb: !!int twelve\n")
        #expect(diagnostic?.message == "'twelve' is not a valid !!int")
        #expect(diagnostic?.location == at(2, 4))
        #expect(failure("!!bool yes")?.message == "'yes' is not a valid !!bool")
        #expect(failure("x: !!float abc")?.location == at(1, 4))
    }

    @Test func collectionWithAScalarTagIsAnError() {
        let diagnostic = failure("a:\n  b: !!str [1, 2]\n")
        #expect(diagnostic?.message == "tag '!!str' cannot be applied to a list")
        #expect(diagnostic?.location == at(2, 6))
        #expect(failure("!!seq {a: 1}")?.message == "tag '!!seq' cannot be applied to a map")
        #expect(failure("!!map x")?.message == "'x' is not a valid !!map")
    }

    // MARK: Syntax errors

    @Test func badIndentation() {
        let diagnostic = failure("a:\n  b: 1\n c: 2\n")
        #expect(diagnostic?.message.hasPrefix("did not find expected key") == true)
        #expect(diagnostic?.message.contains("block mapping that started at line 1, column 1") == true)
        #expect(diagnostic?.location == at(3, 2))
    }

    @Test func unclosedQuote() {
        let diagnostic = failure("name: web\ncmd: \"echo hi\nnext: 1\n")
        #expect(diagnostic?.message.hasPrefix("found unexpected end of stream") == true)
        #expect(diagnostic?.message.contains("quoted scalar that started at line 2, column 6") == true)
        #expect(diagnostic?.location == at(4, 1))
    }

    @Test func tabIndentation() {
        let diagnostic = failure("steps:\n\t- run: make\n")
        #expect(diagnostic?.message == "found character that cannot start any token (a tab: YAML indents with spaces only)")
        #expect(diagnostic?.location == at(2, 1))
    }

    @Test func otherSyntaxErrors() {
        let nested = failure("a: b: c\n")
        #expect(nested?.message == "mapping values are not allowed in this context")
        #expect(nested?.location == at(1, 5))
        let flow = failure("list: [1, 2\nnext: 3\n")
        #expect(flow?.message.hasPrefix("did not find expected ',' or ']'") == true)
        #expect(flow?.message.contains("flow sequence that started at line 1, column 7") == true)
        #expect(flow?.location == at(2, 5))
        let indicator = failure("x: @y\n")
        #expect(indicator?.message == "found character that cannot start any token (while scanning for the next token)")
        #expect(indicator?.location == at(1, 4))
    }

    @Test func columnsCountCharactersNotBytes() {
        #expect(failure("é: ü: x\n")?.location == at(1, 5))
    }

    // MARK: Keys

    @Test func duplicateKeyIsAnErrorAtTheSecondKey() {
        let diagnostic = failure("# header\n\nname: a\nimage: b\nname: c\n")
        #expect(diagnostic?.message == "duplicate key 'name' (first defined at line 3)")
        #expect(diagnostic?.location == at(5, 1))
    }

    @Test func duplicateKeysInNestedAndFlowMappings() {
        #expect(failure("a:\n  x: 1\n  y: 2\n  x: 3\n")?.location == at(4, 3))
        let flow = failure("{a: 1, b: 2, a: 3}")
        #expect(flow?.message == "duplicate key 'a' (first defined at line 1)")
        #expect(flow?.location == at(1, 14))
        // Keys are compared as written, whatever their quoting.
        #expect(failure("a: 1\n'a': 2\n")?.location == at(2, 1))
        // An aliased key is reported where the alias is.
        #expect(failure("k: &k a\nm: {a: 1, *k : 2}\n")?.location == at(2, 11))
    }

    @Test func sameKeyInDifferentMappingsIsFine() throws {
        #expect(try parse("- name: a\n- name: b\n")?.value == [["name": "a"], ["name": "b"]])
    }

    @Test func complexKeysAreAnError() {
        let sequenceKey = failure("ok: 1\n? [a, b]\n: c\n")
        #expect(sequenceKey?.message == "mapping keys must be scalars, found a list")
        #expect(sequenceKey?.location == at(2, 3))
        #expect(failure("{a: 1}: x\n")?.message == "mapping keys must be scalars, found a map")
        #expect(failure("base: &b [1]\n*b : x\n")?.location == at(2, 1))  // at the alias, not the anchor
    }

    // MARK: Anchors and aliases

    @Test func aliasYieldsACopyOfTheAnchoredNode() throws {
        let node = try #require(
            try parse(
                """
                defaults: &d
                  retry: 3
                  env: [A, B]
                first: *d
                second: *d
                name: &n web
                again: *n
                """))
        #expect(node["first"]?.value == ["retry": 3, "env": ["A", "B"]])
        #expect(node["second"]?.value == node["defaults"]?.value)
        // A copy keeps the locations of the anchored text.
        #expect(node["first"]?.location == node["defaults"]?.location)
        #expect(node["first"]?["retry"]?.location == at(2, 10))
        #expect(node["again"]?.value == "web")
        #expect(node["again"]?.location == at(6, 7))
    }

    @Test func aliasRefersToTheLatestAnchor() throws {
        #expect(try parse("- &a 1\n- *a\n- &a 2\n- *a\n")?.value == [1, 1, 2, 2])
    }

    @Test func undefinedAlias() {
        let diagnostic = failure("a: 1\nb: *missing\n")
        #expect(diagnostic?.message == "undefined alias '*missing'")
        #expect(diagnostic?.location == at(2, 4))
    }

    @Test func recursiveAlias() {
        let diagnostic = failure("a: &a\n  b: *a\n")
        #expect(diagnostic?.message == "alias '*a' refers to a node that contains it")
        #expect(diagnostic?.location == at(2, 6))
    }

    @Test func billionLaughsIsRefused() {
        var lines = [#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        let names = Array("abcdefghi")
        for (previous, name) in zip(names, names.dropFirst()) {
            let refs = Array(repeating: "*\(previous)", count: 9).joined(separator: ",")
            lines.append("\(name): &\(name) [\(refs)]")
        }
        let diagnostic = failure(lines.joined(separator: "\n"))
        #expect(diagnostic?.message == "document expands to more than 100000 nodes (alias bomb?)")
        #expect(diagnostic?.location?.line == 6)
    }

    @Test func nodeLimitCountsAliasExpansions() throws {
        let limits = YAMLLimits(maxNodes: 20)
        // 1 root + 1 key + a 4-node list = 6, then 1 key + 4 expanded nodes per alias.
        let text = "a: &a [1, 2, 3]\nb: *a\nc: *a\n"
        #expect(try parse(text, limits: limits) != nil)  // 6 + 5 + 5 = 16
        #expect(failure(text + "d: *a\n", limits: limits)?.location == at(4, 4))  // 21
    }

    @Test func nodeLimitWithoutAliases() {
        let diagnostic = failure("[1, 2, 3, 4, 5]", limits: YAMLLimits(maxNodes: 4))
        #expect(diagnostic?.message == "document has more than 4 nodes")
        #expect(diagnostic?.location == at(1, 11))
    }

    // MARK: Merge keys

    @Test func mergeKeyExplicitKeysOverride() throws {
        let node = try #require(
            try parse(
                """
                base: &base
                  image: alpine
                  retry: 1
                job:
                  name: build
                  <<: *base
                  retry: 3
                """))
        #expect(node["job"]?.value == ["name": "build", "image": "alpine", "retry": 3])
        #expect(node["job"]?.mapping?.map { $0.key.scalar?.text } == ["name", "image", "retry"])
        #expect(node["job"]?["image"]?.location == at(2, 10))
    }

    @Test func mergeKeyWithAListEarlierSourcesWin() throws {
        let node = try #require(
            try parse(
                """
                a: &a {x: 1, y: 1}
                b: &b {y: 2, z: 2}
                c:
                  <<: [*a, *b, {w: 0}]
                  z: 3
                """))
        #expect(node["c"]?.value == ["x": 1, "y": 1, "z": 3, "w": 0])
    }

    @Test func quotedMergeKeyIsAnOrdinaryKey() throws {
        #expect(try parse("'<<': {a: 1}")?.value == ["<<": ["a": 1]])
    }

    @Test func mergeKeyNeedsMaps() {
        let scalar = failure("a: 1\nb:\n  <<: 5\n")
        #expect(scalar?.message == "merge key '<<' expects a map or a list of maps, found a scalar")
        #expect(scalar?.location == at(3, 7))
        let list = failure("a: &a {x: 1}\nb:\n  <<: [*a, [1]]\n")
        #expect(list?.message == "merge key '<<' expects a map or a list of maps, found a list in the list")
        #expect(list?.location == at(3, 12))
        #expect(failure("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n")?.message == "duplicate key '<<' (first defined at line 3)")
        #expect(failure("s: &s 1\nm:\n  <<: *s\n")?.location == at(3, 7))
    }

    // MARK: Limits and hostile input

    @Test func nestingUpToTheLimitIsFine() throws {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try parse(text) != nil)
    }

    @Test func nestingDeeperThanTheLimit() {
        let text = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let diagnostic = failure(text)
        #expect(diagnostic?.message == "document nests deeper than 64 levels")
        #expect(diagnostic?.location == at(1, 65))
        let block = (0..<4).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x"
        #expect(failure(block, limits: YAMLLimits(maxDepth: 3))?.location == at(4, 7))
    }

    @Test func aliasCannotNestDeeperThanTheLimit() {
        let limits = YAMLLimits(maxDepth: 4)
        let text = "a: &a [[1]]\nb: [*a]\n"  // a's list is 2 deep; at b it would be 1 + 1 + 2
        let diagnostic = failure(text + "c: [[*a]]\n", limits: limits)
        #expect(diagnostic?.message == "alias '*a' makes the document nest deeper than 4 levels")
        #expect(diagnostic?.location == at(3, 6))
    }

    /// The expanded size is every scalar's UTF-8 bytes plus one per node, an alias adding its
    /// anchor's size again.
    @Test func expandedSizeCountsScalarBytesAndNodes() throws {
        // root 1, key a 1+1, scalar 10+1, key b 1+1, list 1 = 17; each *a adds 11: 28, 39, 50.
        let text = "a: &a 0123456789\nb: [*a, *a, *a]\n"
        #expect(try parse(text, limits: YAMLLimits(maxExpandedBytes: 50)) != nil)
        let diagnostic = failure(text, limits: YAMLLimits(maxExpandedBytes: 49))
        #expect(diagnostic?.message == "alias '*a' repeats 11 bytes and makes the document larger than 49 bytes when expanded (alias bomb?)")
        #expect(diagnostic?.location == at(2, 13))
        // Multi-byte characters count in bytes: é is 2.
        #expect(failure("a: &a ééééé\nb: [*a, *a, *a]\n", limits: YAMLLimits(maxExpandedBytes: 49))?.location == at(2, 13))
    }

    /// The issue's reproduction: a 1 MiB scalar aliased 1000 times (and 7 MiB aliased 5000
    /// times) is refused at the alias that passes 16 MiB, instead of composing gigabytes.
    @Test("big scalar aliased many times", arguments: [(1 << 20, 1000, 15), (7 << 20, 5000, 2)])
    func bigScalarAliasedManyTimes(scalarBytes: Int, aliases: Int, failingAlias: Int) {
        var bytes = Array("a: &a ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: scalarBytes) + Array("\nb:\n".utf8)
        for _ in 0..<aliases { bytes += Array("  - *a\n".utf8) }
        let diagnostic = failure(bytes)
        #expect(diagnostic?.message.hasPrefix("alias '*a' repeats \(scalarBytes + 1) bytes and makes the document larger than 16777216 bytes") == true)
        #expect(diagnostic?.location == at(2 + failingAlias, 5))
    }

    /// Nested aliases of big scalars (a billion laughs that stays far below the node limit):
    /// an anchor's size includes the aliases inside it, so the first alias past the limit fails.
    @Test func nestedAliasesOfBigScalars() throws {
        let big = String(repeating: "x", count: 1 << 16)
        let text = """
            a: &a \(big)
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: [*c, *c, *c]
            """
        // a ≈ 64 KiB, b ≈ 640 KiB, c ≈ 6.4 MiB: 7.1 MiB written out, 13.5 MiB after d's first *c.
        let diagnostic = failure(text)
        #expect(diagnostic?.message.hasPrefix("alias '*c' repeats ") == true)
        #expect(diagnostic?.location == at(4, 9))
        // Under a higher limit the same document composes, with every copy in place.
        let node = try #require(try parse(text, limits: YAMLLimits(maxExpandedBytes: 64 << 20)))
        #expect(node["d"]?.sequence?.count == 3)
        #expect(node["d"]?.sequence?.last?.sequence?.last?.sequence?.last?.scalar?.text == big)
    }

    @Test func mergeKeysAreCountedLikeAliases() throws {
        let text = """
            base: &base { image: alpine, command: make }
            one: { <<: *base, name: one }
            two: { <<: *base, name: two }
            """
        let composed = try #require(try parse(text))
        #expect(composed["two"]?.value == ["image": "alpine", "command": "make", "name": "two"])
        // base is 27 (map 1, image 6, alpine 7, command 8, make 5); the second *base ends at 112.
        let diagnostic = failure(text, limits: YAMLLimits(maxExpandedBytes: 100))
        #expect(diagnostic?.message.hasPrefix("alias '*base' repeats 27 bytes") == true)
        #expect(diagnostic?.location == at(3, 12))
    }

    @Test func expandedSizeWithoutAliases() {
        let diagnostic = failure("a: 0123456789\nb: 0123456789\n", limits: YAMLLimits(maxExpandedBytes: 20))
        #expect(diagnostic?.message == "document is larger than 20 bytes when expanded")
        #expect(diagnostic?.location == at(2, 4))
    }

    @Test func fileLargerThanTheLimit() {
        let diagnostic = failure(Array(repeating: UInt8(ascii: "#"), count: 101), limits: YAMLLimits(maxBytes: 100))
        #expect(diagnostic?.message == "file is too large (101 bytes; the limit is 100)")
        #expect(diagnostic?.location == at(1, 1))
    }

    @Test func invalidUTF8() {
        let diagnostic = failure(Array("a: 1\nb: caf".utf8) + [0xE9] + Array(" x\n".utf8))
        #expect(diagnostic?.message == "file is not UTF-8 text (binary?)")
        #expect(diagnostic?.location == at(2, 7))
    }

    @Test func nulByte() {
        let diagnostic = failure(Array("a: 1\nb: x".utf8) + [0] + Array("y\n".utf8))
        #expect(diagnostic?.message.hasPrefix("file is not UTF-8 text (binary?)") == true)
        #expect(diagnostic?.location == at(2, 5))
    }

    @Test func binaryGarbage() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52]
        let diagnostic = failure(png)
        #expect(diagnostic?.message == "file is not UTF-8 text (binary?)")
        #expect(diagnostic?.location == at(1, 1))
        #expect(failure([0xFF, 0xFE, 0x61, 0x00])?.location == at(1, 1))  // UTF-16 is not accepted either
    }

    @Test func controlCharacter() {
        let diagnostic = failure("a: \u{7}bell\n")
        #expect(diagnostic?.message == "character U+0007 is not allowed in YAML (binary file?)")
        #expect(diagnostic?.location == at(1, 4))
    }

    @Test func byteOrderMarkIsAllowed() throws {
        let node = try #require(try YAMLParser.parse([0xEF, 0xBB, 0xBF] + Array("a: 1".utf8), file: "test.yml"))
        #expect(node.value == ["a": 1])
        #expect(node.location == at(1, 1))
        #expect(failure([0xEF, 0xBB, 0xBF] + Array("a: [".utf8))?.location?.line == 2)
    }

    /// Random bytes and random corruptions of valid YAML never crash or hang: they parse or
    /// fail with a located diagnostic.
    @Test func fuzzNeverCrashes() {
        var random = SplitMix64(seed: 42)
        let sample = Array(
            """
            name: &n "deploy"
            steps:
              - run: |
                  make all
                retry: 3
              - {<<: *x, when: [a, 'b', ~]}
            ? key
            : !!str value # comment
            ...
            """.utf8)
        let alphabet = Array("-:?&*!|>'\"[]{},# \n\t%@`<".utf8) + [0, 0xC3, 0xA9, 0xFF]
        for round in 0..<3000 {
            var bytes = sample
            if round % 3 == 0 {
                bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                    let index = Int(random.next() % UInt64(bytes.count))
                    let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                    switch random.next() % 3 {
                    case 0: bytes[index] = byte
                    case 1: bytes.insert(byte, at: index)
                    default: bytes.remove(at: index)
                    }
                }
            }
            do {
                _ = try YAMLParser.parse(bytes, file: "fuzz.yml")
            } catch {
                let location = error.diagnostics.first?.location
                #expect(location?.file == "fuzz.yml")
                #expect((location?.line ?? 0) >= 1 && (location?.column ?? 0) >= 1)
            }
        }
    }
}

/// A small deterministic random number generator for the fuzz test.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
