/// Path arithmetic on strings. (Foundation's NSString path methods crash on some inputs on Linux,
/// e.g. `deletingLastPathComponent` of ".", and runner only needs these three.)
public enum Paths {
    /// The directory part: `pipelines/deploy.yml` → `pipelines`, `deploy.yml` → `.`, `/deploy.yml` → `/`.
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        let dir = trimmed[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }

    /// The last component: `pipelines/deploy.yml` → `deploy.yml`.
    public static func fileName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `dir` + `/` + `name`, without doubling slashes.
    public static func join(_ dir: String, _ name: String) -> String {
        if dir == "." { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
