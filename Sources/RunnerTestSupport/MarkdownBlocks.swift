import Foundation

/// A fenced block of a Markdown file: its info string (```` ```yaml run ```` has `yaml run`),
/// its text and the line of its opening fence.
public struct MarkdownBlock: Sendable {
    public let info: String
    public let text: String
    public let line: Int

    /// The fenced blocks of `file`, in order; none when it cannot be read.
    public static func all(in file: String) -> [MarkdownBlock] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        var out: [MarkdownBlock] = []
        var current: (info: String, lines: [String], line: Int)?
        for (i, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if let c = current {
                    out.append(MarkdownBlock(info: c.info, text: c.lines.joined(separator: "\n") + "\n", line: c.line))
                    current = nil
                } else {
                    current = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), [], i + 1)
                }
            } else if current != nil {
                current!.lines.append(line)
            }
        }
        return out
    }
}
