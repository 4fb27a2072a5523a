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

use super::common::{tool_property_names, tool_strings};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "tool-invisible-unicode",
    family: Family::ToolPoisoning,
    severity: Severity::Error,
    summary: "A tool's text holds invisible Unicode (zero-width, bidi controls, tag characters)",
    fix: "Remove the invisible characters; do not use a server that ships them",
    check: Check::File(check),
    examples: &[
        fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"Adds two numbers.\u{200b}\u{e0049}\u{e0067}\u{e006e}\", \"inputSchema\": {\"type\": \"object\"}}]}"),
        fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"Adds. \u{1f600}\u{e0159}\u{e0157}\u{e015e}\u{e015f}\", \"inputSchema\": {\"type\": \"object\"}}]}"),
        fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"Adds\u{ad} two\u{3164}numbers\u{2800}.\", \"inputSchema\": {\"type\": \"object\"}}]}"),
        fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": «\"Adds a\u{fe0f}\u{fe0e} two.\", \"inputSchema\": {\"type\": \"object\"}}]}"),
        // A property name is read by the model too.
        fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": \"Adds.\", \"inputSchema\": {\"type\": \"object\", \"properties\": {«\"a\u{200b}\u{e0069}\u{e0067}\": {\"type\": \"string\"}}}}]}"),
    ],
    counterexamples: &[fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": \"Adds.\", \"inputSchema\": {\"type\": \"object\", \"properties\": {\"café_名前\": {\"type\": \"string\"}}}}]}"), fx("tools.json", "{\"tools\": [{\"name\": \"add\", \"description\": \"Adds two numbers — café, naïve, 日本語. \u{26a0}\u{fe0f} Destructive.\", \"inputSchema\": {\"type\": \"object\"}}]}")],
};

/// Whether a character is invisible in the sense of this rule: Unicode's default-ignorable
/// code points (zero width, bidi controls, soft hyphen, Hangul fillers, variation selectors
/// including the supplement U+E0100–E01EF that "variation-selector smuggling" encodes bytes
/// in, tag characters) plus the blanks that render as nothing (U+2800, U+FFF9–FFFB).
pub(crate) fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x2800 | 0x3164
        | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// A single emoji presentation selector (U+FE0E/U+FE0F) right after a symbol or emoji is how
/// emoji are written (`⚠️`), not hiding anything.
fn emoji_selector(prev: Option<char>, c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}')
        && prev.is_some_and(|p| {
            matches!(p as u32,
                0x23 | 0x2A | 0x30..=0x39 | 0xA9 | 0xAE | 0x2000..=0x2BFF | 0x3030 | 0x303D
                | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF)
        })
}

/// The invisible characters of `s`, emoji presentation selectors excepted.
pub(crate) fn invisible_in(s: &str) -> Vec<char> {
    let mut prev = None;
    let mut found = Vec::new();
    for c in s.chars() {
        if invisible(c) && !emoji_selector(prev, c) {
            found.push(c);
        }
        prev = Some(c);
    }
    found
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for t in cx.tools {
        let strings = tool_strings(t);
        for (key, node) in strings.iter() {
            let Some(s) = node.as_str() else { continue };
            let found = invisible_in(s);
            if let Some(first) = found.first() {
                let tags = found
                    .iter()
                    .filter(|c| (0xE0000..=0xE007F).contains(&(**c as u32)))
                    .count();
                let selectors = found
                    .iter()
                    .filter(|c| matches!(**c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF))
                    .count();
                let mut extra = String::new();
                if tags > 0 {
                    extra.push_str(&format!(", {tags} of them tag characters"));
                }
                if selectors > 0 {
                    extra.push_str(&format!(", {selectors} of them variation selectors"));
                }
                out.at(
                    node.span,
                    key,
                    format!(
                    "tool `{}` has {} invisible character(s) in `{key}` (first U+{:04X}{extra})",
                    t.name, found.len(), *first as u32
                ),
                );
            }
        }
        for p in tool_property_names(t) {
            let (name, span) = (p.name, p.span);
            let found = invisible_in(name);
            if let Some(first) = found.first() {
                let key = p.key(t);
                out.at(
                    span,
                    &key,
                    format!(
                        "tool `{}` has {} invisible character(s) in the name of property `{key}` (first U+{:04X})",
                        t.name,
                        found.len(),
                        *first as u32
                    ),
                );
            }
        }
    }
}
