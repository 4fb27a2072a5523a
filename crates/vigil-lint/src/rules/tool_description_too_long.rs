//! `tool-description-too-long`: a tool description over the length bound.
//!
//! ## What it finds
//! A tool `description` longer than `[lint] max_description` characters (default 2048).
//!
//! ## Why it matters
//! Honest tools describe themselves in a few sentences; long descriptions are where injected
//! instructions hide, and they cost context on every request.

use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "tool-description-too-long",
    family: Family::ToolPoisoning,
    severity: Severity::Warning,
    summary: "A tool description is longer than [lint] max_description",
    fix: "Read the description in full; shorten it, or raise [lint] max_description if it is honest",
    check: Check::File(check),
    examples: &[fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"{alpha:2100}\", \"inputSchema\": {\"type\": \"object\"}}]}")],
    counterexamples: &[fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": \"{alpha:2000}\", \"inputSchema\": {\"type\": \"object\"}}]}")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for t in cx.tools {
        // The tool's own description, and every description inside it (a property of its
        // input or output schema is read by the model too).
        let strings = super::common::tool_strings(t);
        for (key, d) in strings.iter() {
            if !key.ends_with_key("description") {
                continue;
            }
            let n = d.as_str().map_or(0, |s| s.chars().count());
            if n > cx.settings.max_description {
                out.at(
                    d.span,
                    key,
                    format!(
                        "tool `{}` has a {n}-character description in `{key}` (limit {})",
                        t.name, cx.settings.max_description
                    ),
                );
            }
        }
    }
}
