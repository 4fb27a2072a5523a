//! `duplicate-server`: one server name given twice in one list of servers.
//!
//! ## What it finds
//! `{"mcpServers": {"fs": {…}, "fs": {…}}}` (JSON readers keep the last one), and two entries of
//! a Continue list with the same `name`.
//!
//! ## Why it matters
//! The client starts only one of them, silently: the definition a reviewer reads (the first)
//! may not be the one that runs (the last), so a pinned, reviewed server can be replaced by a
//! later line in the same file.

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "duplicate-server",
    family: Family::Launchers,
    severity: Severity::Error,
    summary: "A server name is defined twice in one file (clients keep only one, silently)",
    fix: "Keep one definition of the server (rename the other if both are wanted)",
    check: Check::File(check),
    examples: &[
        fx(
            ".mcp.json",
            r#"{"mcpServers": {"fs": {"command": "node", "args": ["build/index.js"]},
  "fs": «{"command": "node", "args": ["other/index.js"]}}}"#,
        ),
        fx(
            ".continue/mcpServers/x.yaml",
            "name: X\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: fs\n    command: node\n    args: [a.js]\n  - «name: fs\n    command: node\n    args: [b.js]\n",
        ),
    ],
    counterexamples: &[fx(
        ".mcp.json",
        r#"{"mcpServers": {"fs": {"command": "node", "args": ["build/index.js"]}, "fs2": {"command": "node", "args": ["build/index.js"]}},
  "other": {"fs": {"command": "node"}}}"#,
    )],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    // The first server of each name under each parent, found in one pass (a file with tens of
    // thousands of servers stays linear).
    let mut firsts: std::collections::HashMap<(&[String], &str), usize> =
        std::collections::HashMap::with_capacity(cx.servers.len());
    for (i, s) in cx.servers.iter().enumerate() {
        let parent = &s.key.0[..s.key.0.len().saturating_sub(1)];
        let first = *firsts.entry((parent, s.name.as_str())).or_insert(i);
        if first != i {
            let first = &cx.servers[first];
            let (line, _) = cx.doc.lines.position(first.node.span.start);
            out.at(
                s.node.span,
                s.key.clone(),
                format!(
                    "`{}` is defined again here (first on line {line}): clients keep only one, silently",
                    s.name
                ),
            );
        }
    }
}
