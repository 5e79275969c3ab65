import Testing

@testable import RunnerSOPS

@Suite("YAML store (yaml.v3-compatible reading and writing)")
struct YAMLStoreTests {
    private func emit(_ items: [SOPSItem], indent: Int = 4) -> String {
        YAMLStore.emit([items], indent: indent)
    }

    @Test("string quoting follows yaml.v3", arguments: [
        ("hello world", "v: hello world\n"), ("true", "v: \"true\"\n"), ("yes", "v: \"yes\"\n"), ("123", "v: \"123\"\n"),
        ("1.5", "v: \"1.5\"\n"), ("", "v: \"\"\n"), ("null", "v: \"null\"\n"), ("~", "v: \"~\"\n"), ("a: b", "v: 'a: b'\n"),
        ("- x", "v: '- x'\n"), ("#x", "v: '#x'\n"), (" lead", "v: ' lead'\n"), ("trail ", "v: 'trail '\n"), ("it's", "v: it's\n"),
        ("@x", "v: '@x'\n"), ("tab\there", "v: \"tab\\there\"\n"), ("2001-12-14", "v: \"2001-12-14\"\n"), ("0x1F", "v: \"0x1F\"\n"),
        ("1_000", "v: \"1_000\"\n"), ("12:30", "v: \"12:30\"\n"), ("<<", "v: \"<<\"\n"), ("a#b", "v: a#b\n"), ("a #b", "v: 'a #b'\n"),
        ("line1\nline2", "v: |-\n    line1\n    line2\n"), ("line1\n", "v: |\n    line1\n"), ("line1\n\n", "v: |+\n    line1\n\n"),
        (" lead\nx", "v: |4-\n     lead\n    x\n"), ("ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]", "v: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n"),
    ])
    func quoting(value: String, expected: String) {
        #expect(emit([.pair("v", .string(value))]) == expected)
    }

    @Test func scalarsCollectionsAndIndentation() {
        let items: [SOPSItem] = [
            .pair("int", .int(-3)), .pair("float", .float(1234568000)), .pair("whole", .float(7)), .pair("small", .float(0.0001)),
            .pair("bool", .bool(false)), .pair("null", .null), .pair("empty_list", .list([])), .pair("empty_map", .map([])),
            .pair("list", .list([.string("a"), .map([.pair("k", .string("v")), .pair("k2", .list([.int(1)]))]), .list([.int(2)])])),
            .pair("true", .string("key that looks like a bool")),
        ]
        #expect(emit(items) == """
            int: -3
            float: 1.234568e+09
            whole: 7
            small: 0.0001
            bool: false
            "null": null
            empty_list: []
            empty_map: {}
            list:
                - a
                - k: v
                  k2:
                    - 1
                - - 2
            "true": key that looks like a bool

            """)
        #expect(emit([.pair("a", .map([.pair("b", .list([.string("c")]))]))], indent: 2) == "a:\n  b:\n    - c\n")
    }

    @Test func commentsArePlacedLikeYAMLv3() throws {
        let source = """
            # head of the document
            a: 1 # inline on a
            b:
                # head of c
                c: 2
                d:
                    - x # inline on x
                    # between items
                    - "y"
                # foot of b
            # head of e
            e: |
                # not a comment, a line of the block
                text
            f: "quoted # not a comment"
            g: 'single # not a comment'
            # foot of the document

            """
        let branches = try YAMLStore.load(Array(source.utf8))
        let items = try #require(branches.first)
        #expect(items.first == .comment(SOPSComment(text: " head of the document")))
        #expect(items[1] == .comment(SOPSComment(text: " inline on a", inline: true)))
        guard case .pair("b", .map(let b)) = items[3] else { Issue.record("b is not a map"); return }
        #expect(b.first == .comment(SOPSComment(text: " head of c")))
        #expect(b.last == .comment(SOPSComment(text: " foot of b")))
        guard case .pair("d", .list(let d)) = b[2] else { Issue.record("d is not a list"); return }
        #expect(d == [
            .comment(SOPSComment(text: " inline on x", inline: true)), .string("x"), .comment(SOPSComment(text: " between items")), .string("y"),
        ])
        #expect(items.contains(.pair("e", .string("# not a comment, a line of the block\ntext\n"))))
        #expect(items.contains(.pair("f", .string("quoted # not a comment"))))
        #expect(items.last == .comment(SOPSComment(text: " foot of the document")))
        let comments = items.filter { if case .comment = $0 { true } else { false } }
        #expect(comments.count == 4)

        // Written back the way yaml.v3 writes these comments (and "y", a YAML 1.1 bool, quoted).
        #expect(YAMLStore.emit(branches) == """
            # head of the document
            a: 1 # inline on a
            b:
                # head of c
                c: 2
                d:
                    - x # inline on x
                    # between items
                    - "y"
                # foot of b
            # head of e
            e: |
                # not a comment, a line of the block
                text
            f: 'quoted # not a comment'
            g: 'single # not a comment'
            # foot of the document

            """)
    }

    @Test func crlfAndMultipleDocuments() throws {
        let branches = try YAMLStore.load(Array("a: 1\r\n# c\r\nb: x\r\n---\r\nc: 2\r\n".utf8))
        #expect(branches.count == 2)
        #expect(branches[0] == [.pair("a", .int(1)), .comment(SOPSComment(text: " c")), .pair("b", .string("x"))])
        #expect(branches[1] == [.pair("c", .int(2))])
    }

    @Test("plain scalars are typed like yaml.v3", arguments: [
        ("017", SOPSValue.int(15)), ("08", .float(8)), ("0b101", .int(5)), ("0x1F", .int(31)), ("1e3", .float(1000)), (".5", .float(0.5)),
        ("+5", .int(5)), ("1_000", .int(1000)), ("yes", .string("yes")), ("True", .bool(true)), ("NULL", .null), ("~", .null),
        ("2001-12-14", .time("2001-12-14T00:00:00Z")), ("2006-01-02T15:04:05+07:06", .time("2006-01-02T15:04:05+07:06")),
        ("2006-1-2 3:04:05.500", .time("2006-01-02T03:04:05.5Z")), ("3.7.1", .string("3.7.1")), (".inf", .float(.infinity)),
        ("99999999999999999999", .float(1e20)), ("18446744073709551615", .string("18446744073709551615")), ("-.inf", .float(-.infinity)),
    ])
    func resolve(text: String, expected: SOPSValue) {
        #expect(GoYAMLResolve.resolvePlain(text) == expected)
    }

    @Test func nonStringKeysAndSequenceDocumentsAreRefused() {
        #expect(throws: SOPSError.self) { try YAMLStore.load(Array("1: a\n".utf8)) }
        #expect(throws: SOPSError.self) { try YAMLStore.load(Array("- a\n".utf8)) }
        #expect(throws: SOPSError.self) { try YAMLStore.load(Array("a: 1\na: 2\n".utf8)) }
        #expect((try? YAMLStore.load(Array("\"1\": a\n".utf8))) == [[.pair("1", .string("a"))]])
    }
}

@Suite("Go number formatting")
struct GoFloatTests {
    @Test(arguments: [
        (1234568000.0, "f", "1234568000"), (1234568000.0, "g", "1.234568e+09"), (7.0, "f", "7"), (0.1, "f", "0.1"),
        (1e21, "f", "1000000000000000000000"), (1e-7, "f", "0.0000001"), (1e6, "g", "1e+06"), (100000.0, "g", "100000"),
        (0.0001, "g", "0.0001"), (0.00001, "g", "1e-05"), (-0.0, "f", "-0"), (3.14, "G", "3.14"), (1e21, "G", "1E+21"),
        (Double.leastNonzeroMagnitude, "g", "5e-324"), (1.7976931348623157e308, "g", "1.7976931348623157e+308"), (0.0, "e", "0e+00"), (123.456, "e", "1.23456e+02"),
    ])
    func format(value: Double, format: String, expected: String) {
        #expect(GoFloat.format(value, Character(format)) == expected)
    }

    @Test func spellings() {
        #expect(GoFloat.json(1e21) == "1e+21")
        #expect(GoFloat.json(1e-7) == "1e-7")
        #expect(GoFloat.json(0.000001) == "0.000001")
        #expect(GoFloat.json(7) == "7")
        #expect(GoFloat.json(.nan) == nil)
        #expect(GoFloat.dotenv(7) == "7.0")
        #expect(GoFloat.dotenv(1e21) == "1E+21")
        #expect(GoFloat.dotenv(0.5) == "0.5")
        #expect(GoFloat.yaml(.infinity) == ".inf")
        #expect(GoFloat.yaml(7) == "7")
    }
}

@Suite("ENC[...] values")
struct SOPSValueTests {
    @Test func parsingIsGreedyLikeSops() throws {
        let value = try #require(SOPSEncryptedValue.parse("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str] trailing]"))
        #expect(value.data == [0x61] && value.iv == [0x62] && value.tag == [0x63])
        #expect(value.type == "str] trailing")
        #expect(SOPSEncryptedValue.parse("ENC[AES256_GCM,data:,iv:Yg==,tag:Yw==,type:str]") == nil)
        #expect(SOPSEncryptedValue.parse("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:]") == nil)
        #expect(SOPSEncryptedValue.parse("ENC[AES256_GCM,data:Y!==,iv:Yg==,tag:Yw==,type:str]") == nil)
        #expect(SOPSEncryptedValue.parse("enc[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]") == nil)
    }

    @Test func thirtyTwoByteIVRoundTrip() throws {
        let key = Bytes.random(32)
        for value in [SOPSValue.string("x"), .int(-42), .float(2.5), .bool(true), .comment(SOPSComment(text: " c")), .time("2024-01-01T00:00:00Z")] {
            let encrypted = try SOPSCipher.encrypt(value, key: key, aad: "a:b:")
            let text: String
            switch encrypted {
            case .string(let s): text = s
            case .comment(let c): text = c.text
            default: Issue.record("not encrypted: \(value)"); continue
            }
            #expect(try #require(SOPSEncryptedValue.parse(text)).iv.count == 32)
            #expect(SOPSCipher.decrypt(text, key: key, aad: "a:b:") == value)
            #expect(SOPSCipher.decrypt(text, key: key, aad: "a:c:") == nil)
        }
        #expect(try SOPSCipher.encrypt(.string(""), key: key, aad: "x:") == .string(""))
    }

    @Test func shamirCombinesHashiCorpShares() {
        // Two shares of a 2-of-3 split of [0x42, 0x13] over GF(2^8) with f(x) = s + a·x.
        let secret: [UInt8] = [0x42, 0x13]
        let slopes: [UInt8] = [0x07, 0xA1]
        func share(_ x: UInt8) -> [UInt8] { zip(secret, slopes).map { $0 ^ Shamir.multiply($1, x) } + [x] }
        #expect(Shamir.combine([share(1), share(2)]) == secret)
        #expect(Shamir.combine([share(3), share(200)]) == secret)
        #expect(Shamir.combine([share(3), share(3)]) == nil)
    }
}
