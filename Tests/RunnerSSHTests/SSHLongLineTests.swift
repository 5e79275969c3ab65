import Foundation
import RunnerCore
import RunnerSSH
import RunnerTestSupport
import Synchronization
import Testing

/// Output lines of 64 KiB and more over SSH (issue 10, item 1): the same pieces as locally,
/// bounded memory, bytes intact.
@Suite("SSH long lines", .serialized)
struct SSHLongLineTests {
    /// `count` bytes of 1- to 4-byte characters, so piece boundaries fall inside each kind.
    private func mixedLine(_ count: Int) -> [UInt8] {
        let pattern = Array("aé€😀bc".utf8)
        var bytes: [UInt8] = []
        while bytes.count + pattern.count <= count { bytes += pattern }
        return bytes + [UInt8](repeating: UInt8(ascii: "z"), count: count - bytes.count)
    }

    /// The lines of `stream`, joined from their pieces, checking each piece on the way.
    private func lines(_ pieces: [OutputLine], _ stream: RunnerCore.OutputStream) -> [String] {
        var joiner = LineJoiner<RunnerCore.OutputStream>()
        var out: [String] = []
        for piece in pieces where piece.stream == stream {
            #expect(piece.text.utf8.count <= LineSplitter.defaultPieceLength)
            #expect(!piece.text.contains("\u{FFFD}"), "a piece was cut inside a character")
            if let line = joiner.add(piece.text, continues: piece.continues, for: stream) { out.append(line.text) }
        }
        #expect(!joiner.isOpen(stream), "the last piece says the line continues")
        return out
    }

    @Test func linesOf64KiBTo16MiBArriveIntact() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let target = try await connect(server)
        let shared = try sharedDirectory()
        for size in [65535, 65536, 65537, 1 << 20, 16 << 20] {
            let file = "\(shared)/line-\(size)"
            let line = mixedLine(size)
            try Data(line + Array("\nafter\n".utf8)).write(to: URL(fileURLWithPath: file))
            chmod(file, 0o644)
            let text = String(decoding: line, as: UTF8.self)
            let pieces = Mutex<[OutputLine]>([])
            let result = try await target.run(Command(.shell("cat \(file); cat \(file) >&2; echo end"))) { piece in
                pieces.withLock { $0.append(piece) }
            }
            #expect(result.exitCode == 0)
            let all = pieces.withLock { $0 }
            #expect(lines(all, .stdout) == [text, "after", "end"], "size \(size)")
            #expect(lines(all, .stderr) == [text, "after"], "size \(size)")
            #expect(result.stdout.hasSuffix("after\nend") && !result.stdout.contains("\u{FFFD}"))
            #expect(result.stdoutTruncated == (size + 11 > 1 << 20))
            try FileManager.default.removeItem(atPath: file)
        }
    }

    @Test func theRepro64KiBOfZerosThroughAPipelineRunsFinally() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - id: zeros
                on: web
                run: "head -c 65536 /dev/zero | tr '\\\\0' a"
              - id: big
                on: web
                run: "head -c 16777216 /dev/zero | tr '\\\\0' b"
            finally:
              - { on: web, run: echo finally-ran }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .succeeded, "\(log.transcript.prefix(2000))")
        let output = log.output(on: "web")
        #expect(output.last == "finally-ran")
        #expect(output.dropLast().joined() == String(repeating: "a", count: 65536) + String(repeating: "b", count: 16 << 20))
        #expect(output.count == 1 + 256 + 1)  // 64 KiB whole, 16 MiB in 256 pieces, finally
    }
}

@Suite("SSH command size", .serialized)
struct SSHCommandSizeTests {
    /// Issue 10: a value over 128 KiB failed without saying which; over SSH the whole command
    /// line (values included) is one argument of the remote shell.
    @Test func aValueOver128KiBIsNamed() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let target = try await connect(server)
        let big = String(repeating: "v", count: 130 << 10)
        let error = await #expect(throws: TargetError.self) {
            try await target.run(Command(.shell("echo \"$RUNNER_VALUE_1\" | wc -c"), environment: ["RUNNER_VALUE_1": big])) { _ in }
        }
        let message = error?.message ?? ""
        #expect(message.contains("${{ }} expression number 1") && message.contains("130 KiB") && message.contains("stdin"), "\(message)")
        // Just under the limit still runs.
        let fits = String(repeating: "v", count: 120 << 10)
        let result = try await target.run(Command(.shell("printf %s \"$RUNNER_VALUE_1\" | wc -c"), environment: ["RUNNER_VALUE_1": fits])) { _ in }
        #expect(result.stdout.trimmingCharacters(in: .whitespaces) == String(120 << 10))
    }
}
