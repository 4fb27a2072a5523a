//! `filesystem-root-too-broad`: a filesystem server given `/`, `~` or a home directory.
//!
//! ## What it finds
//! A filesystem server (`server-filesystem`, `mcp-server-filesystem`, or a server named
//! `filesystem`) whose allowed directory is `/`, `~`, `$HOME`, `%USERPROFILE%`, `/root`,
//! `/home/<user>`, `/Users/<user>`, `C:\Users\<user>`, a system tree (`/etc`, `/var`, `/proc`,
//! `/mnt`, `/media`) or a Windows drive seen from WSL (`/mnt/c`, `/mnt/c/Users/<user>`).
//!
//! ## Why it matters
//! The model (and every prompt injection it reads) can then read SSH keys, `.env` files and
//! browser profiles; give it the project folder it works on.

use super::common::contains_nocase;
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "filesystem-root-too-broad",
    family: Family::Launchers,
    severity: Severity::Error,
    summary: "A filesystem server may read the whole disk, a whole home directory or a system tree",
    fix:
        "Give the filesystem server only the project folders it needs (e.g. /home/me/projects/bot)",
    check: Check::File(check),
    examples: &[
        fx(
            "claude_desktop_config.json",
            r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"/Users/username", «"/", «"/.", «"/Users/me/."]}}}"#,
        ),
        fx(
            "/h/.config/zed/settings.json",
            r#"{"context_servers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"~"]}}}"#,
        ),
        fx(
            "claude_desktop_config.json",
            r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"/Users/alice/../../", «"/home/alice/..", «"/srv/../home/bob/"]}}}"#,
        ),
        fx(
            "claude_desktop_config.json",
            r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"/etc", «"/var/", «"/mnt/c", «"/mnt/c/Users/me"]}}}"#,
        ),
    ],
    counterexamples: &[fx(
        "claude_desktop_config.json",
        r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/Users/username/Desktop", "/srv/bot/data", "/var/lib/bot", "/mnt/data/bot"]}}}"#,
    )],
};

/// Whether a path is the root, a home directory or every home directory.
pub(crate) fn too_broad(p: &str) -> bool {
    let normal = lexically_normal(p.trim());
    let t = normal.trim_end_matches(['/', '\\']);
    if t.is_empty() {
        return !normal.is_empty(); // "/" or "\"
    }
    let l = t.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "~" | "$home"
            | "${home}"
            | "%userprofile%"
            | "/root"
            | "/home"
            | "/users"
            | "c:"
            | "c:\\users"
            | "${env:home}"
            | "${userhome}"
    ) {
        return true;
    }
    let parts: Vec<&str> = l.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    let drive = |d: &str| d.len() == 1 && d.bytes().all(|b| b.is_ascii_alphabetic());
    let rooted = l.starts_with('/');
    matches!(parts.as_slice(), ["home", _] | ["users", _])
        || matches!(parts.as_slice(), ["c:", "users", _])
        // System trees: configuration, keys and other programs' data.
        || (rooted && matches!(parts.as_slice(), ["etc"] | ["var"] | ["proc"] | ["mnt"] | ["media"]))
        // WSL's view of a Windows drive, its users, one user's profile.
        || (rooted
            && matches!(parts.as_slice(), ["mnt", d] | ["mnt", d, "users"] | ["mnt", d, "users", _] if drive(d)))
}

/// `p` with `.` and `..` resolved as text (`/Users/alice/../..` is `/`), `//` collapsed; a
/// path that climbs above its start keeps its root.
fn lexically_normal(p: &str) -> String {
    if !p.contains("..")
        && !p.contains("//")
        && !p.contains("/./")
        && !p.ends_with("/.")
        && !p.contains("\\")
    {
        return p.to_owned();
    }
    let sep = if p.contains('\\') && !p.contains('/') {
        '\\'
    } else {
        '/'
    };
    let rooted = p.starts_with(['/', '\\']);
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts
                    .last()
                    .is_some_and(|l| *l != ".." && !l.ends_with(':'))
                {
                    parts.pop();
                } else if !rooted && parts.is_empty() {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join(&sep.to_string());
    if rooted {
        format!("{sep}{body}")
    } else if body.is_empty() {
        ".".to_owned()
    } else {
        body
    }
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        let pkg = s.argv.iter().position(|(a, _)| {
            contains_nocase(a, "server-filesystem")
                || contains_nocase(a, "filesystem-mcp")
                || contains_nocase(a, "mcp-filesystem")
        });
        let named = contains_nocase(&s.name, "filesystem");
        let start = match (pkg, named) {
            (Some(i), _) => i + 1,
            (None, true) => 1,
            _ => continue,
        };
        for (text, node) in &s.argv[start.min(s.argv.len())..] {
            if !text.starts_with('-') && too_broad(text) {
                out.at(
                    node.span,
                    s.launch_key.join("args"),
                    format!("`{}` may read all of `{text}`", s.name),
                );
            }
        }
    }
}
