//! `filesystem-root-too-broad`: a filesystem server given `/`, `~` or a home directory.
//!
//! ## What it finds
//! A filesystem server (`server-filesystem`, `mcp-server-filesystem`, or a server named
//! `filesystem`) whose allowed directory is `/`, `~`, `$HOME`, `%USERPROFILE%`, `/root`,
//! `/home/<user>`, `/Users/<user>` or `C:\Users\<user>`.
//!
//! ## Why it matters
//! The model (and every prompt injection it reads) can then read SSH keys, `.env` files and
//! browser profiles; give it the project folder it works on.

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "filesystem-root-too-broad",
    family: Family::Launchers,
    severity: Severity::Error,
    summary: "A filesystem server may read the whole disk or a whole home directory",
    fix:
        "Give the filesystem server only the project folders it needs (e.g. /home/me/projects/bot)",
    check: Check::File(check),
    examples: &[
        fx(
            "claude_desktop_config.json",
            r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"/Users/username", «"/"]}}}"#,
        ),
        fx(
            "/h/.config/zed/settings.json",
            r#"{"context_servers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", «"~"]}}}"#,
        ),
    ],
    counterexamples: &[fx(
        "claude_desktop_config.json",
        r#"{"mcpServers": {"filesystem": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/Users/username/Desktop", "/srv/bot/data"]}}}"#,
    )],
};

/// Whether a path is the root, a home directory or every home directory.
pub(crate) fn too_broad(p: &str) -> bool {
    let t = p.trim().trim_end_matches(['/', '\\']);
    if t.is_empty() {
        return !p.trim().is_empty(); // "/" or "\"
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
    matches!(parts.as_slice(), ["home", _] | ["users", _])
        || matches!(parts.as_slice(), ["c:", "users", _])
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        let pkg = s.argv.iter().position(|(a, _)| {
            let a = a.to_ascii_lowercase();
            a.contains("server-filesystem")
                || a.contains("filesystem-mcp")
                || a.contains("mcp-filesystem")
        });
        let named = s.name.to_ascii_lowercase().contains("filesystem");
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
