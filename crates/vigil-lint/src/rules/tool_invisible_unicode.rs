//! `tool-invisible-unicode`: characters a person cannot see in a tool's text.
//!
//! ## What it finds
//! Zero-width characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+180E), bidirectional controls
//! (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069, U+061C) and tag characters
//! (U+E0000–U+E007F) anywhere in a tool's name, title, description or schema.
//!
//! ## Why it matters
//! The model reads them and the user reviewing the tool does not: tag characters can spell out
//! whole hidden instructions, bidi controls make text read differently than it is.

use super::common::tool_strings;
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "tool-invisible-unicode",
    family: Family::ToolPoisoning,
    severity: Severity::Error,
    summary: "A tool's text holds invisible Unicode (zero-width, bidi controls, tag characters)",
    fix: "Remove the invisible characters; do not use a server that ships them",
    check: Check::File(check),
    examples: &[fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"Adds two numbers.\u{200b}\u{e0049}\u{e0067}\u{e006e}\", \"inputSchema\": {\"type\": \"object\"}}]}")],
    counterexamples: &[fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": \"Adds two numbers — café, naïve, 日本語.\", \"inputSchema\": {\"type\": \"object\"}}]}")],
};

/// Whether a character is invisible in the sense of this rule.
pub(crate) fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xFEFF | 0x180E
        | 0x061C | 0xE0000..=0xE007F)
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for t in cx.tools {
        for (key, node) in tool_strings(t) {
            let Some(s) = node.as_str() else { continue };
            let found: Vec<char> = s.chars().filter(|c| invisible(*c)).collect();
            if let Some(first) = found.first() {
                let tags = found.iter().filter(|c| (**c as u32) >= 0xE0000).count();
                let extra = if tags > 0 {
                    format!(", {tags} of them tag characters")
                } else {
                    String::new()
                };
                out.at(
                    node.span,
                    &key,
                    format!(
                    "tool `{}` has {} invisible character(s) in `{key}` (first U+{:04X}{extra})",
                    t.name, found.len(), *first as u32
                ),
                );
            }
        }
    }
}
