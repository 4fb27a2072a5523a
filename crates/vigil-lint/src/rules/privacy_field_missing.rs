//! `privacy-field-missing`: a manifest's privacy block without `data_retention` or
//! `pii_handling`.
//!
//! ## What it finds
//! A `privacy` block that lacks `data_retention` or `pii_handling` (or leaves one empty).
//!
//! ## Why it matters
//! Users (and regulators) need to know how long recordings are kept and how personal data is
//! handled before they speak to the bot.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "privacy-field-missing",
    family: Family::Manifest,
    severity: Severity::Warning,
    summary: "The privacy block lacks data_retention or pii_handling",
    fix: "Say how long voice data is kept (data_retention) and how personal data is handled (pii_handling)",
    check: Check::File(check),
    examples: &[fx("voice-manifest.json", r#"{"mcp": {"servers": {}}, "privacy": «{"recording_consent": true, "privacy_policy": "https://example.com/privacy"}}"#)],
    counterexamples: &[fx("voice-manifest.json", r#"{"mcp": {"servers": {}}, "privacy": {"data_retention": "Voice data retained for 30 days", "recording_consent": true, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}}"#)],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if cx.doc.kind != Kind::VoiceManifest {
        return;
    }
    let Some(p) = cx.doc.root.get("privacy").filter(|p| p.is_object()) else {
        return;
    };
    let missing: Vec<&str> = ["data_retention", "pii_handling"]
        .into_iter()
        .filter(|f| {
            p.get_loose(&[f])
                .and_then(|m| m.value.scalar_text())
                .is_none_or(|t| t.trim().is_empty())
        })
        .collect();
    if !missing.is_empty() {
        out.at(
            p.span,
            "privacy",
            format!("the privacy block lacks {}", missing.join(" and ")),
        );
    }
}
