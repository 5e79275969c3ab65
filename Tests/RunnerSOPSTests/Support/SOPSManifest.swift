import Foundation
import Testing

@testable import RunnerSOPS

/// `fixtures/sops/manifest.json`.
struct SOPSManifest: Decodable {
    struct Expected: Decodable, Sendable {
        var file: String
        var compare: String
    }

    /// An asserted value: a string, number, bool, or a list of those.
    enum AssertValue: Decodable, Sendable {
        case scalar(String)
        case list([AssertValue])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .scalar(text)
            } else if let bool = try? container.decode(Bool.self) {
                self = .scalar(bool ? "true" : "false")
            } else if let int = try? container.decode(Int.self) {
                self = .scalar(String(int))
            } else if let double = try? container.decode(Double.self) {
                self = .scalar(String(double))
            } else {
                self = .list(try container.decode([AssertValue].self))
            }
        }

        /// (path suffix, text) pairs, list elements under their index.
        var leaves: [([String], String)] {
            switch self {
            case .scalar(let text): [([], text)]
            case .list(let items): items.enumerated().flatMap { index, item in item.leaves.map { ([String(index)] + $0.0, $0.1) } }
            }
        }
    }

    struct Assert: Decodable, Sendable {
        var path: [String]
        var value: AssertValue
    }

    struct LineAssert: Decodable, Sendable {
        var line: String
    }

    struct Fixture: Decodable, CustomTestStringConvertible, Sendable {
        var file: String
        var input_type: String
        var output_type: String?
        var identities: [String]?
        var pgp_keys: [String]?
        var expected: Expected?
        var asserts: [Assert]?
        var output_line_asserts: [LineAssert]?
        var expect_error: Int32?

        var testDescription: String {
            expect_error.map { "\(file) (expect exit \($0), identities \(identities ?? []))" } ?? file
        }

        var inputFormat: SOPSFormat { SOPSFormat(rawValue: input_type) ?? .binary }
        var outputFormat: SOPSFormat { output_type.flatMap(SOPSFormat.init(rawValue:)) ?? inputFormat }

        /// The fixture's age identities, from its key files.
        func loadIdentities() throws -> [AgeIdentity] {
            try (identities ?? []).flatMap { path -> [AgeIdentity] in
                try AgeKeyFile.parse(try Fixtures.text("sops/" + path), source: path)
            }
        }
    }

    var fixtures: [Fixture]

    static let shared: SOPSManifest? = {
        guard Fixtures.exist, let data = try? Data(contentsOf: Fixtures.url("sops/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(SOPSManifest.self, from: data)
    }()

    static var all: [Fixture] { shared?.fixtures ?? [] }
    static var positive: [Fixture] { all.filter { $0.expect_error == nil && $0.identities != nil } }
    static var negative: [Fixture] { all.filter { $0.expect_error != nil } }
    static var pgpOnly: [Fixture] { all.filter { $0.pgp_keys != nil } }
}
