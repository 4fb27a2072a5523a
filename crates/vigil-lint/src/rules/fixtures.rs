//! The rules test themselves: every rule has examples and counterexamples; each example's `«`
//! markers are exactly where the rule reports, and no counterexample is reported. Fixture
//! templates (`{alnum:32}`, `{jwt}`, `{today}`…) expand here, at test time.

use super::{Check, Rule, ALL};
use crate::config::Settings;
use crate::lint::{pin_findings, probe_findings, Linter, SeenTool};
use crate::pin::LockFile;
use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;
use vigil_scan::examples::{expand as expand_template, Gen};

/// Expands templates and removes `«` markers; returns the text and the byte offset of each
/// marker in it.
pub(crate) fn expand(text: &str, seed: u64) -> (String, Vec<usize>) {
    let tpl = Regex::new(r"\{(alnum|alpha|hex|HEX|digits|b64url|b64|lowernum|lower|upper32|uppernum|bech32|b64digits)(?::(\d+))?\}|\{jwt\}|\{today\}").unwrap();
    let mut gen = Gen::new(seed);
    let mut expanded = String::new();
    let mut last = 0;
    for m in tpl.find_iter(text) {
        expanded.push_str(&text[last..m.start()]);
        let t = m.as_str();
        if t == "{today}" {
            let d = super::review_overdue::today();
            expanded.push_str(&civil(d));
        } else {
            let ex = expand_template(t, &mut gen).expect("template");
            expanded.push_str(&ex.text);
        }
        last = m.end();
    }
    expanded.push_str(&text[last..]);
    let mut out = String::new();
    let mut marks = Vec::new();
    for c in expanded.chars() {
        if c == '«' {
            marks.push(out.len());
        } else {
            out.push(c);
        }
    }
    (out, marks)
}

fn civil(days: i64) -> String {
    // Inverse of days_from_civil (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn file_hits(linter: &Linter, rule: &Rule, path: &str, text: &str) -> Vec<(usize, usize)> {
    let (doc, findings, _) = linter
        .lint_text(Path::new(path), text)
        .unwrap_or_else(|e| panic!("{}: {path} does not lint: {e}\n{text}", rule.id))
        .unwrap_or_else(|| panic!("{}: {path} is not recognised as an input", rule.id));
    let _ = doc;
    findings
        .iter()
        .filter(|f| f.rule == rule.id)
        .map(|f| (f.region.0, f.region.1))
        .collect()
}

fn pin_hits(rule: &Rule, text: &str) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
    let tools = |k: &str| -> Vec<serde_json::Value> { v[k]["tools"].as_array().unwrap().clone() };
    let mut lock = LockFile::new();
    lock.record("srv", &tools("before"));
    let seen: Vec<SeenTool> = tools("after")
        .into_iter()
        .map(|t| SeenTool {
            server: "srv".into(),
            name: t["name"].as_str().unwrap().into(),
            json: t,
            path: "tools.json".into(),
            line: 1,
        })
        .collect();
    pin_findings(&lock, "tools.lock", "", &seen, &Settings::default())
        .iter()
        .filter(|f| f.rule == rule.id)
        .count()
}

fn probe_hits(rule: &Rule, text: &str) -> usize {
    let o: crate::probe::Observed =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
    probe_findings(&o, &[], &Settings::default())
        .iter()
        .filter(|f| f.rule == rule.id)
        .count()
}

#[test]
fn every_rule_has_an_id_a_summary_a_fix_and_fixtures_both_ways() {
    let mut ids = BTreeSet::new();
    let id = Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$").unwrap();
    for r in ALL {
        assert!(ids.insert(r.id), "duplicate id {}", r.id);
        assert!(id.is_match(r.id), "{} is not kebab-case", r.id);
        for (what, s) in [("summary", r.summary), ("fix", r.fix)] {
            assert!(
                !s.is_empty() && !s.contains('\n') && s.len() < 200,
                "{}: {what} must be one line",
                r.id
            );
        }
        assert!(!r.examples.is_empty(), "{} has no example", r.id);
        assert!(
            !r.counterexamples.is_empty(),
            "{} has no counterexample",
            r.id
        );
    }
}

#[test]
fn every_rule_reports_its_examples_where_marked_and_nothing_else() {
    let linter = Linter::new(Settings::default());
    for r in ALL {
        for (n, fx) in r.examples.iter().enumerate() {
            let (text, marks) = expand(fx.text, 7 + n as u64);
            match r.check {
                Check::File(_) => {
                    assert!(!marks.is_empty(), "{} example {n} has no « marker", r.id);
                    let idx = crate::lines::LineIndex::new(&text);
                    // Findings' columns count UTF-16 code units (as editors do).
                    let want: BTreeSet<(usize, usize)> = marks
                        .iter()
                        .map(|m| idx.position_utf16(&text, *m))
                        .collect();
                    let got: BTreeSet<(usize, usize)> =
                        file_hits(&linter, r, fx.path, &text).into_iter().collect();
                    assert_eq!(
                        got, want,
                        "{} example {n} ({}): found at {got:?}, marked {want:?}\n{text}",
                        r.id, fx.path
                    );
                }
                Check::Pin => assert!(pin_hits(r, &text) > 0, "{} example {n} not reported", r.id),
                Check::Probe => assert!(
                    probe_hits(r, &text) > 0,
                    "{} example {n} not reported",
                    r.id
                ),
            }
        }
    }
}

#[test]
fn no_rule_reports_its_counterexamples() {
    let linter = Linter::new(Settings::default());
    for r in ALL {
        for (n, fx) in r.counterexamples.iter().enumerate() {
            let (text, marks) = expand(fx.text, 11 + n as u64);
            assert!(marks.is_empty(), "{} counterexample {n} has a marker", r.id);
            let hits = match r.check {
                Check::File(_) => file_hits(&linter, r, fx.path, &text).len(),
                Check::Pin => pin_hits(r, &text),
                Check::Probe => probe_hits(r, &text),
            };
            assert_eq!(
                hits, 0,
                "{} reports its counterexample {n} ({}):\n{text}",
                r.id, fx.path
            );
        }
    }
}

#[test]
fn switched_off_rules_report_nothing() {
    let s = Settings {
        disabled: ALL.iter().map(|r| r.id.to_owned()).collect(),
        ..Settings::default()
    };
    let linter = Linter::new(s);
    for r in ALL {
        if let Check::File(_) = r.check {
            for fx in r.examples {
                let (text, _) = expand(fx.text, 3);
                assert!(
                    file_hits(&linter, r, fx.path, &text).is_empty(),
                    "{} still reports when off",
                    r.id
                );
            }
        }
    }
}

#[test]
fn civil_dates_round_trip() {
    for d in [0, 10_957, 20_000, 19_000] {
        assert_eq!(super::review_overdue::days(&civil(d)), Some(d));
    }
}
