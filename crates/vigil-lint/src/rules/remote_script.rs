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
    ],
    counterexamples: &[
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
        r"[^|;&]{0,512}\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?",
        r"(?:sh|bash|zsh|dash|ksh|ash|fish|python[0-9.]*|node|perl|ruby|php|iex|invoke-expression|pwsh|powershell)\b",
        r"|(?:<|\$)\(\s*(?:curl|wget|fetch)\b",
    ))
    .expect("remote-script pattern")
});

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        // Only what is run: the program and the arguments a wrapper hands to a shell. An
        // argument of another program (`node server.js --note "… | sh"`) is data.
        let Some(prog) = s.program() else { continue };
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
        if !shells.contains(&prog.as_str()) {
            continue;
        }
        let line: Vec<&str> = s.argv.iter().map(|(a, _)| a.as_str()).collect();
        let text = line.join(" ");
        let Some(m) = PIPED.find(&text) else { continue };
        // The node of the word the match starts in (every word of a split script points at
        // the script's string).
        let mut at = 0;
        let mut node = s.argv[0].1;
        for (word, n) in &s.argv {
            if at + word.len() >= m.start() {
                node = n;
                break;
            }
            at += word.len() + 1;
        }
        out.at(
            node.span,
            s.launch_key.join("args"),
            format!(
                "`{}` pipes a download into an interpreter: each start runs whatever the URL serves",
                s.name
            ),
        );
    }
}
