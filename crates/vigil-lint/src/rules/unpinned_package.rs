//! `unpinned-package`: a server started from a package registry without an exact version.
//!
//! ## What it finds
//! `npx -y pkg`, `pkg@latest`, `pkg@^1`, `bunx`/`pnpm dlx`/`npm exec` likewise, `uvx pkg`,
//! `pipx run pkg` and `uv tool run pkg` without `==1.2.3` (or `@1.2.3`).
//!
//! ## Why it matters
//! Every start downloads whatever the registry serves that day: one compromised release (or a
//! new owner) runs with the user's files and tokens.

use super::common::{is_pinned, launched_package};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "unpinned-package",
    family: Family::Launchers,
    severity: Severity::Warning,
    summary: "A server runs a registry package without an exact version",
    fix: "Pin the version: npx -y pkg@1.2.3, uvx pkg==1.2.3",
    check: Check::File(check),
    examples: &[
        fx("claude_desktop_config.json", r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", «"@modelcontextprotocol/server-filesystem", "/srv/data"]}}}"#),
        fx(".continue/mcpServers/pw.yaml", "name: Playwright\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: Browser\n    command: npx\n    args:\n      - «\"@playwright/mcp@latest\"\n"),
        fx(".mcp.json", r#"{"mcpServers": {"fetch": {"command": "uvx", "args": [«"mcp-server-fetch"]}}}"#),
    ],
    counterexamples: &[
        fx("claude_desktop_config.json", r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/data"]},
  "fetch": {"command": "uvx", "args": ["mcp-server-fetch==2025.4.7"]}, "local": {"command": "node", "args": ["build/index.js"]}}}"#),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        let Some((i, spec, npm)) = launched_package(&s.argv) else {
            continue;
        };
        if spec.starts_with("git+")
            || spec.starts_with("github:")
            || spec.contains("://")
            || spec.starts_with('.')
            || spec.starts_with('/')
        {
            continue; // unpinned-git-source's, or a local path
        }
        if !is_pinned(&spec, npm) {
            let node = s.argv[i].1;
            out.at(
                node.span,
                s.launch_key.join("args"),
                format!("`{}` runs `{spec}` without an exact version", s.name),
            );
        }
    }
}
