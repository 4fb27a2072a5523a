//! `privacy-policy-missing`: no https link to a privacy policy.
//!
//! ## What it finds
//! A `privacy` block without `privacy_policy`, or whose `privacy_policy` is not an `https://`
//! URL.
//!
//! ## Why it matters
//! The design's checklist asks for a linked privacy policy; a client can only show a link it
//! is given, over a connection no one can alter.

use super::common::parse_url;
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "privacy-policy-missing",
    family: Family::Manifest,
    severity: Severity::Warning,
    summary: "The privacy block has no https:// privacy_policy URL",
    fix: "Add \"privacy_policy\": \"https://your.site/privacy\"",
    check: Check::File(check),
    examples: &[
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {}}, "privacy": «{"data_retention": "30 days", "recording_consent": true, "pii_handling": "encrypt"}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {}}, "privacy": {"data_retention": "30 days", "recording_consent": true, "pii_handling": "encrypt", "privacy_policy": «"see website"}}"#,
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
    match p.get_loose(&["privacy_policy", "privacy_policy_url"]) {
        None => out.at(
            p.span,
            "privacy.privacy_policy",
            "the privacy block has no privacy_policy",
        ),
        Some(m) => {
            let ok = m
                .value
                .as_str()
                .and_then(parse_url)
                .is_some_and(|u| u.scheme() == "https");
            if !ok {
                out.at(
                    m.value.span,
                    "privacy.privacy_policy",
                    "privacy_policy is not an https:// URL",
                );
            }
        }
    }
}
