//! Findings as diagnostics: each [`Finding`] becomes a [`vigil_report::Diagnostic`] (secret,
//! fingerprints, commit, entropy), each compiled rule a [`RuleMeta`], and a scan a
//! [`vigil_report::Report`] that any renderer of `vigil-report` writes.

use crate::finding::{Finding, Place};
use crate::ruleset::{Rule, Ruleset};
use vigil_report::{
    Commit, Completeness, Diagnostic, Fingerprints, Format, Location, Report, RuleMeta, Severity,
    Tool,
};

/// GitHub code scanning's `security-severity` of a leaked secret (high).
pub const SECURITY_SEVERITY: f32 = 8.0;

/// The property key of a finding's entropy (its own CSV column and text field).
pub const ENTROPY: &str = "entropy";

/// A rule's metadata: what it finds, and the one-line fix for every leaked secret.
pub fn rule_meta(r: &Rule) -> RuleMeta {
    RuleMeta::new(&r.id, &r.description)
        .with_help(
            "Revoke and rotate the secret first, then remove it from the code (read it from the \
             environment or a secret store); `vigil purge plan` takes it out of git history.",
        )
        .with_tags(r.tags.clone())
        .with_security_severity(SECURITY_SEVERITY)
}

/// One finding as a diagnostic, its content fingerprint the report hash
/// ([`crate::baseline::report_hash`]).
pub fn diagnostic(f: &Finding) -> Diagnostic {
    let hash = crate::baseline::report_hash(&f.rule, &f.file, f.secret.expose_secret());
    diagnostic_with(f, Some(hash))
}

fn diagnostic_with(f: &Finding, content: Option<String>) -> Diagnostic {
    let what = if f.description.is_empty() {
        f.rule.as_str()
    } else {
        f.description.as_str()
    };
    // Metadata is no file: a logical place (`commit <id> author`, `ref <name>`), never a file
    // URI; a secret in a path is the file's whole name, marked `in: path`.
    // Reports count columns as SARIF and editors do, in UTF-16 code units.
    let (column, end_column) = f.columns_utf16.unwrap_or((f.column, f.end_column));
    let location = match f.place {
        None => Location::file(f.outer_file()).at_span(f.line, column, f.end_line, end_column),
        Some(Place::Path) => Location::file(f.outer_file()),
        Some(_) => Location::scope(&f.file).at_span(f.line, column, f.end_line, end_column),
    };
    let mut d = Diagnostic::new(&f.rule, Severity::Error, location, format!("{what} found"))
        .with_secret(f.secret.clone())
        .with_property(ENTROPY, f.entropy);
    d.fingerprints = Fingerprints {
        location: Some(f.fingerprint.clone()).filter(|s| !s.is_empty()),
        content,
    };
    if f.unreachable {
        d = d.with_property("unreachable", true);
    }
    if let Some(p) = f.place {
        d = d.with_property("in", p.as_str());
    }
    d.decoded = f.decoded.clone();
    d.archive_path = f.archive.clone();
    d.commit = f.commit.as_ref().map(|id| Commit {
        id: id.clone(),
        author: f.author.clone().unwrap_or_default(),
        email: f.email.clone().unwrap_or_default(),
        date: f.date.clone().unwrap_or_default(),
        summary: f.message.clone().unwrap_or_default(),
    });
    d
}

/// The report of a scan: every rule that ran, every finding, and what was skipped.
pub fn build(
    rules: &Ruleset,
    findings: &[Finding],
    completeness: Completeness,
    version: &str,
) -> Report {
    build_hashed(rules, findings, completeness, version, true)
}

/// [`build`] for one format: the report hashes (deliberately slow, see
/// [`crate::baseline::report_hash`]) are computed, in parallel, only for the formats that show
/// them (JSON, CSV, SARIF).
pub fn build_for(
    format: Format,
    rules: &Ruleset,
    findings: &[Finding],
    completeness: Completeness,
    version: &str,
) -> Report {
    let hashed = matches!(format, Format::Json | Format::Csv | Format::Sarif);
    build_hashed(rules, findings, completeness, version, hashed)
}

fn build_hashed(
    rules: &Ruleset,
    findings: &[Finding],
    completeness: Completeness,
    version: &str,
    hashed: bool,
) -> Report {
    let mut report = Report::new(Tool::new("scan", version));
    report.rules = rules.rules.iter().map(rule_meta).collect();
    report.columns = vec![ENTROPY.to_owned()];
    let hashes: Vec<Option<String>> = if hashed {
        // Each distinct (rule, file, secret) is hashed once: a file repeating one value many
        // times must not cost one slow hash per repetition.
        let mut index: std::collections::HashMap<(&str, &str, &str), usize> =
            std::collections::HashMap::new();
        let mut unique: Vec<&Finding> = Vec::new();
        let slots: Vec<usize> = findings
            .iter()
            .map(|f| {
                *index
                    .entry((&f.rule, &f.file, f.secret.expose_secret()))
                    .or_insert_with(|| {
                        unique.push(f);
                        unique.len() - 1
                    })
            })
            .collect();
        let computed = crate::baseline::parallel(&unique, |f| {
            crate::baseline::report_hash(&f.rule, &f.file, f.secret.expose_secret())
        });
        slots
            .into_iter()
            .map(|i| Some(computed[i].clone()))
            .collect()
    } else {
        vec![None; findings.len()]
    };
    report.diagnostics = findings
        .iter()
        .zip(hashes)
        .map(|(f, h)| diagnostic_with(f, h))
        .collect();
    report.completeness = completeness;
    report
}
