//! `unpinned-git-source`: a server installed from a git URL without a commit.
//!
//! ## What it finds
//! `uvx --from git+https://…`, `pip install git+https://…`, `npx github:owner/repo` and
//! `git+https://…#branch` whose reference is not a full commit hash (40 or 64 hex digits: a
//! short hash such as `@aaaaaaa` may just as well be a branch or tag of that name).
//!
//! ## Why it matters
//! A branch or tag can be moved by anyone who can push; only a commit names fixed code.

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "unpinned-git-source",
    family: Family::Launchers,
    severity: Severity::Warning,
    summary: "A server is installed from a git URL without a commit hash",
    fix: "Pin the commit: git+https://host/org/repo@<40-hex commit> (or #<commit> for npm)",
    check: Check::File(check),
    examples: &[
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "uvx", "args": ["--from", «"git+https://github.com/acme/mcp-x", "mcp-x"]}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "uvx", "args": ["--from", «"git+https://github.com/acme/mcp-x@0f3c9a1", "mcp-x"]}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "uvx", "args": ["--from", «"mcp-x @ git+https://github.com/acme/mcp-x", "mcp-x"]}}}"#,
        ),
    ],
    counterexamples: &[fx(
        ".mcp.json",
        r#"{"mcpServers": {"x": {"command": "uvx", "args": ["--from", "git+https://github.com/acme/mcp-x@0f3c9a1b2d4e5f60718293a4b5c6d7e8f9012345", "mcp-x"]},
  "y": {"command": "uvx", "args": ["--from", "mcp-y @ git+https://github.com/acme/mcp-y@0f3c9a1b2d4e5f60718293a4b5c6d7e8f9012345", "mcp-y"]}}}"#,
    )],
};

/// Whether a git source names a commit (a full SHA-1 or SHA-256 hash after `@` or `#`; a short
/// one can also be a branch or tag's name, which git resolves first).
fn has_commit(spec: &str) -> bool {
    let tail = spec.rsplit(['@', '#']).next().unwrap_or("");
    let differs = tail.len() != spec.len();
    differs
        && matches!(tail.len(), 40 | 64)
        && tail.bytes().all(|b| b.is_ascii_hexdigit())
        && !spec.ends_with(".git")
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        for (text, node) in s.argv.iter().skip(1) {
            // A PEP 508 direct reference (`pkg @ git+https://…`, uv's and pip's way of naming
            // a package by its source) is judged by its URL.
            let t = match text.find("git+") {
                Some(i) if i > 0 && text[..i].trim_end().ends_with('@') => &text[i..],
                _ => text.as_str(),
            };
            let git = t.starts_with("git+")
                || t.starts_with("github:")
                || (t.starts_with("https://github.com/") && t.ends_with(".git"));
            if git && !has_commit(t) {
                out.at(
                    node.span,
                    s.launch_key.join("args"),
                    format!("`{}` installs `{t}` without a commit", s.name),
                );
            }
        }
    }
}
