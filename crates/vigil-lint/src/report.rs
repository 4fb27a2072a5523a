//! A run's findings as `vigil-report`'s one diagnostics model, so every format (text, JSON,
//! SARIF 2.1.0, CSV, JUnit, Markdown) comes from the workspace's renderers.

use crate::lint::{Finding, InputError};
use crate::rules::{Rule, ALL};
use vigil_report::{Diagnostic, Gap, Location, Report, RuleMeta, Tool};

/// The metadata of a rule, as reports list it.
pub fn meta(r: &Rule, settings: &crate::Settings) -> RuleMeta {
    let sev = settings.severity_of(r.id, r.severity);
    let score = match sev {
        vigil_report::Severity::Error => 8.0,
        vigil_report::Severity::Warning => 5.0,
        vigil_report::Severity::Note => 2.0,
    };
    RuleMeta::new(r.id, r.summary)
        .with_help(r.fix)
        .with_severity(sev)
        .with_tags(vec![r.family.tag().to_owned()])
        .with_security_severity(score)
}

/// The report of a run: every enabled rule, every finding, and a gap per input that could not
/// be linted.
pub fn build(
    findings: &[Finding],
    errors: &[InputError],
    settings: &crate::Settings,
    version: &str,
) -> Report {
    let mut report = Report::new(Tool::new("lint", version));
    report.rules = ALL
        .iter()
        .filter(|r| settings.enabled(r.id))
        .map(|r| meta(r, settings))
        .collect();
    for f in findings {
        let (l, c, el, ec) = f.region;
        let mut loc = if l == 0 && c == 0 {
            if f.path.contains("://") {
                Location::scope(f.path.clone())
            } else {
                Location::file(f.path.clone())
            }
        } else if c == 0 {
            Location::file(f.path.clone()).at_line(l)
        } else {
            Location::file(f.path.clone()).at_span(l, c, el, ec.max(1))
        };
        if let Some(k) = &f.key {
            loc = loc.with_key(k.clone());
        }
        let mut d = Diagnostic::new(f.rule, f.severity, loc, f.message.clone());
        if let Some(s) = &f.secret {
            d = d.with_secret(s.clone());
        }
        for (k, v) in &f.properties {
            d = d.with_property(k.clone(), v.clone());
        }
        report.diagnostics.push(d);
    }
    for e in errors {
        let gap = match e {
            InputError::TooLarge { .. } => Gap::TooLarge,
            InputError::NotRecognized { .. } => Gap::Unsupported,
            _ => Gap::Unreadable,
        };
        // The skip counts agree with the reasons (JSON's `skipped`, SARIF's properties).
        match gap {
            Gap::TooLarge => report.completeness.skipped.too_large += 1,
            Gap::Unreadable => report.completeness.skipped.unreadable += 1,
            _ => {}
        }
        report.completeness.gap(gap, e.to_string());
    }
    report
}
