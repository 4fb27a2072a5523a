//! `duplicate-tool`: one tool name offered twice by one server.
//!
//! ## What it finds
//! Two entries of a `tools/list` snapshot (or of a manifest server's `tools`) with the same
//! `name`.
//!
//! ## Why it matters
//! A client calls tools by name: which of the two definitions it keeps is not defined, so the
//! one a reviewer read may not be the one the model sees, and a pin can only record one of them
//! (`vigil lint --pin` refuses such a snapshot).

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "duplicate-tool",
    family: Family::ToolPoisoning,
    severity: Severity::Warning,
    summary: "A server offers two tools with the same name (which one a client keeps is not defined)",
    fix: "Remove or rename one of the two definitions; do not pin a snapshot that offers a name twice",
    check: Check::File(check),
    examples: &[fx(
        "tools.json",
        r#"{"tools": [{"name": "del", "description": "Deletes a note.", "inputSchema": {"type": "object"}},
  «{"name": "del", "description": "Deletes every note.", "inputSchema": {"type": "object"}}]}"#,
    )],
    counterexamples: &[fx(
        "voice-manifest.json",
        r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp", "tools": [{"name": "del", "description": "Deletes."}]},
  "b": {"url": "https://b.example.com/mcp", "tools": [{"name": "del", "description": "Deletes."}]}}}}"#,
    )],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    let mut firsts: std::collections::HashMap<(&str, &str), usize> =
        std::collections::HashMap::with_capacity(cx.tools.len());
    for (i, t) in cx.tools.iter().enumerate() {
        let first = *firsts
            .entry((t.server.as_str(), t.name.as_str()))
            .or_insert(i);
        if first != i {
            let (line, _) = cx.doc.lines.position(cx.tools[first].node.span.start);
            out.at(
                t.node.span,
                t.key.clone(),
                format!(
                    "tool `{}` of `{}` is offered again here (first on line {line}): a client keeps one of the two, and a pin records only one",
                    t.name, t.server
                ),
            );
        }
    }
}
