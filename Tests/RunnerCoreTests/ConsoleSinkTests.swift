import Foundation
import Testing
@testable import RunnerCore

/// What the console prints: joined pieces, shortened long lines, no raw control characters.
@Suite struct ConsoleSinkTests {
    /// Events through a console writing to a file; returns what it printed.
    private func printed(_ events: [Event.Kind], step: StepRef? = StepRef(name: "s"), maxLineBytes: Int = 16 << 10) throws -> String {
        let dir = TempDir()
        let fd = open(dir.path + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let sink = ConsoleSink(out: FileOutput(fd: fd), style: .init(color: false, live: false, maxLineBytes: maxLineBytes))
        for kind in events {
            if case .runStarted = kind { sink.handle(Event(runID: "R", kind: kind)) } else { sink.handle(Event(runID: "R", step: step, kind: kind)) }
        }
        sink.finish()
        close(fd)
        return try String(contentsOfFile: dir.path + "/out", encoding: .utf8)
    }

    @Test func escapeSequencesFromOutputAndParamsAreShownNotSent() throws {
        let text = try printed([
            .runStarted(pipeline: "p", file: "p.yml", params: ["v": "\u{1B}]0;owned\u{07}"], trigger: "cli"),
            .stepStarted,
            .output(OutputLine(.stdout, "a\u{1B}[2Jb\tc\rd\u{9B}31m\u{202E}txt")),
            .log(.warn, "x\u{08}y"),
            .stepFinished(status: .failed, duration: .seconds(1), attempts: 1, exitCode: 1, outputs: [:], error: "bad\u{1B}[0m"),
        ])
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }, "\(text.debugDescription)")
        #expect(!text.unicodeScalars.contains { (0x80..<0xA0).contains($0.value) || $0.value == 0x202E })
        #expect(text.contains(#"v=\x1b]0;owned\x07"#))
        #expect(text.contains(#"a\x1b[2Jb"# + "\tc" + #"\x0dd\u{9b}31m\u{202e}txt"#))
        #expect(text.contains(#"x\x08y"#))
        #expect(text.contains(#"bad\x1b[0m"#))
    }

    @Test func piecesPrintAsOneLineWhateverComesBetween() throws {
        let other = StepRef(name: "other")
        let dir = TempDir()
        let fd = open(dir.path + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let sink = ConsoleSink(out: FileOutput(fd: fd), style: .init(color: false, live: false))
        let step = StepRef(name: "s")
        sink.handle(Event(runID: "R", step: step, kind: .output(OutputLine(.stdout, "first-", continues: true))))
        sink.handle(Event(runID: "R", step: other, kind: .output(OutputLine(.stdout, "between"))))
        sink.handle(Event(runID: "R", step: step, kind: .output(OutputLine(.stderr, "err"))))
        sink.handle(Event(runID: "R", step: step, kind: .output(OutputLine(.stdout, "second-", continues: true))))
        sink.handle(Event(runID: "R", step: step, kind: .output(OutputLine(.stdout, "third"))))
        close(fd)
        let lines = try String(contentsOfFile: dir.path + "/out", encoding: .utf8).split(separator: "\n")
        #expect(lines.map { $0.split(separator: "│ ").last.map(String.init) ?? "" } == ["between", "err", "first-second-third"])
    }

    @Test func longLinesAreShortenedWithAMarker() throws {
        let piece = String(repeating: "é", count: 40)  // 80 bytes
        let text = try printed([
            .output(OutputLine(.stdout, piece, continues: true)),
            .output(OutputLine(.stdout, piece)),
            .output(OutputLine(.stdout, "short")),
        ], maxLineBytes: 101)
        let lines = text.split(separator: "\n").map { String($0.split(separator: "│ ").last ?? "") }
        #expect(lines == [String(repeating: "é", count: 50) + "… [60 bytes cut]", "short"])
    }

    @Test func aLineCutOffByTheEndOfItsStepIsStillShown() throws {
        let text = try printed([
            .stepStarted,
            .output(OutputLine(.stdout, "never-ended", continues: true)),
            .stepFinished(status: .cancelled, duration: .seconds(1), attempts: 1, exitCode: nil, outputs: [:], error: nil),
        ])
        #expect(text.contains("│ never-ended"))
    }
}
