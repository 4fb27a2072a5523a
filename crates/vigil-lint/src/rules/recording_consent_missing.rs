//! `recording-consent-missing`: a voice manifest that does not declare recording consent.
//!
//! ## What it finds
//! A `privacy` block whose `recording_consent` is absent or not `true`.
//!
//! ## Why it matters
//! Recording a voice without consent is unlawful in many places; the client must know to ask
//! before it records.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "recording-consent-missing",
    family: Family::Manifest,
    severity: Severity::Error,
    summary: "The privacy block does not set recording_consent to true",
    fix: "Set \"recording_consent\": true and have the client ask for consent before recording",
    check: Check::File(check),
    examples: &[
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {}}, "privacy": «{"data_retention": "30 days", "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {}}, "privacy": {"data_retention": "30 days", "recording_consent": «false, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {}}, "privacy": {"data_retention": "30 days", "recording_consent": «"true", "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#,
        ),
    ],
    counterexamples: &[fx(
        "voice-manifest.json",
        r#"{"mcp": {"servers": {}}, "privacy": {"data_retention": "30 days", "recording_consent": true, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#,
    )],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if cx.doc.kind != Kind::VoiceManifest {
        return;
    }
    let Some(p) = cx.doc.root.get("privacy").filter(|p| p.is_object()) else {
        return;
    };
    match p.get_loose(&["recording_consent"]) {
        None => out.at(
            p.span,
            "privacy.recording_consent",
            "the privacy block does not declare recording_consent",
        ),
        // The boolean `true` only: a string "true" is what a strict consumer reads as not set.
        Some(m) if !matches!(m.value.value, crate::node::Value::Bool(true)) => out.at(
            m.value.span,
            "privacy.recording_consent",
            "recording_consent is not the boolean true",
        ),
        Some(_) => {}
    }
}
