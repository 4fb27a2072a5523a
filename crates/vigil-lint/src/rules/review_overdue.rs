//! `review-overdue`: a voice manifest whose last security review is missing or old.
//!
//! ## What it finds
//! A voice manifest without `last_reviewed` (top level or under `security`), or whose date
//! (`YYYY-MM-DD`) is older than `[lint] review_interval` (default: a quarter).
//!
//! ## Why it matters
//! The design ends its checklist with regular security reviews, and the voice lab's compliance
//! list asks for quarterly access reviews; a date in the manifest makes that checkable.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "review-overdue",
    family: Family::Manifest,
    severity: Severity::Note,
    summary: "The manifest records no security review, or the last one is older than the review interval",
    fix: "Review the manifest and its servers, then set \"security\": {\"last_reviewed\": \"YYYY-MM-DD\"}",
    check: Check::File(check),
    examples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {}}, "security": {"last_reviewed": «"2020-01-15"}}"#),
        fx("voice-manifest.json", "«{\"mcp\": {\"servers\": {}}}"),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {}}, "security": {"last_reviewed": «"2999-01-01"}}"#),
    ],
    counterexamples: &[fx("voice-manifest.json", r#"{"mcp": {"servers": {}}, "security": {"last_reviewed": "{today}"}}"#)],
};

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub(crate) fn days(date: &str) -> Option<i64> {
    let d = date.get(..10)?;
    let mut it = d.split('-');
    let (y, m, day): (i64, i64, i64) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today, in days since 1970-01-01 (UTC).
pub(crate) fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if cx.doc.kind != Kind::VoiceManifest {
        return;
    }
    let root = &cx.doc.root;
    let found = root
        .get_loose(&["last_reviewed", "reviewed_at", "last_security_review"])
        .map(|m| (&m.value, m.key.clone()))
        .or_else(|| {
            root.get("security").and_then(|s| {
                s.get_loose(&["last_reviewed", "reviewed_at", "last_security_review"])
                    .map(|m| (&m.value, format!("security.{}", m.key)))
            })
        });
    let Some((node, key)) = found else {
        out.at(
            root.span,
            "security.last_reviewed",
            "the manifest records no security review",
        );
        return;
    };
    let Some(d) = node.as_str().and_then(days) else {
        out.at(node.span, key, "last_reviewed is not a YYYY-MM-DD date");
        return;
    };
    let max = (cx.settings.review_interval.as_secs() / 86_400) as i64;
    let age = today() - d;
    // A date ahead of today (a day of time zones aside) would silence the rule forever.
    if age < -1 {
        out.at(node.span, key, "last_reviewed is in the future");
        return;
    }
    if age > max {
        out.at(
            node.span,
            key,
            format!("the last security review was {age} days ago (interval: {max} days)"),
        );
    }
}
