//! `privacy-block-missing`: a voice manifest without a `privacy` block.
//!
//! ## What it finds
//! A voice manifest with no top-level `privacy` object.
//!
//! ## Why it matters
//! Voice clients show users what happens to their recordings from this block
//! (`data_retention`, `recording_consent`, `pii_handling`, `privacy_policy`); without it they
//! cannot, and the design's "privacy policy linked" item fails.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "privacy-block-missing",
    family: Family::Manifest,
    severity: Severity::Warning,
    summary: "A voice manifest has no privacy block",
    fix: "Add \"privacy\": {\"data_retention\", \"recording_consent\": true, \"pii_handling\", \"privacy_policy\": \"https://…\"}",
    check: Check::File(check),
    examples: &[fx("voice-manifest.json", "«{\"name\": \"bot\", \"mcp\": {\"servers\": {}}}")],
    counterexamples: &[fx("voice-manifest.json", r#"{"name": "bot", "mcp": {"servers": {}}, "privacy": {"data_retention": "30 days", "recording_consent": true, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#)],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if cx.doc.kind == Kind::VoiceManifest
        && cx.doc.root.get("privacy").is_none_or(|p| !p.is_object())
    {
        out.at(
            cx.doc.root.span,
            "privacy",
            "the manifest has no privacy block",
        );
    }
}
