/// The secret parts of a location such as a restic repository (a `ParameterSpec` with
/// `urlCredentials`).
///
/// A location (`/srv/backups/repo`, `sftp:backup@host:/repo`, `s3:https://host/bucket/path`) is
/// not a secret: error messages must be able to say which one is missing. Only the credentials
/// a URL can carry are: the password of `user:password@` (`rest:https://user:password@host/`), a
/// token given alone as `token@`, and the values of query parameters. A location that is secret
/// as a whole comes from a secret (`${{ secrets.repo }}`), which is masked everywhere anyway.
///
/// ```swift
/// URLCredentials.parts(of: "rest:https://backup:hunter2@host/repo")  // ["hunter2"]
/// ```
public enum URLCredentials {
    /// The substrings of `repository` to mask (empty when it carries no credentials). Pure.
    public static func parts(of repository: String) -> [String] {
        var out: [String] = []
        if let scheme = repository.range(of: "://") {
            let rest = repository[scheme.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    out.append(String(userinfo[userinfo.index(after: colon)...]))
                } else {
                    out.append(String(userinfo))
                }
            }
        }
        if let query = repository.firstIndex(of: "?") {
            let text = repository[repository.index(after: query)...].prefix { $0 != "#" }
            for pair in text.split(separator: "&") {
                if let equals = pair.firstIndex(of: "=") { out.append(String(pair[pair.index(after: equals)...])) }
            }
        }
        return out.filter { !$0.isEmpty }
    }
}
