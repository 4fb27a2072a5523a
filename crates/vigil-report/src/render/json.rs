//! The JSON report: an array with one object per diagnostic, pretty-printed.
//!
//! # Wire format
//!
//! Each object has these keys; a key whose value is absent is left out.
//!
//! | key | value |
//! | --- | --- |
//! | `rule` | the rule's id |
//! | `description`, `tags` | the rule's description and labels, from the report's rules |
//! | `severity` | `error`, `warning` or `note` |
//! | `text` | the diagnostic's sentence |
//! | `file`, `line`, `column`, `end_line`, `end_column` | the place (1-based; `end_column` is one past the end); inside an archive `file` is `outer.zip!member` and lines are the member's |
//! | `key`, `scope` | a key or variable in the file; a named place that is not a file |
//! | `secret` | the secret, masked (`ghp_…x9Qz`) unless shown on request |
//! | `redacted` | with `secret`: `true` when it is masked, `false` when it is in clear |
//! | `fingerprint`, `hash` | place fingerprint (`file:rule:line`), content hash |
//! | `commit`, `author`, `email`, `date`, `message` | the commit a history finding is attributed to (`message` is its summary, gitleaks's name) |
//! | `decoded`, `archive_path` | decodings and archive members the secret was found behind |
//! | anything else | the diagnostic's properties (`entropy`) |
//!
//! A JSON report is read back by [`crate::read`] (baselines, `vigil purge plan --report`).
//!
//! # An incomplete run
//!
//! When the run did not cover everything, the array ends with one more object, which has no
//! `rule`: `{"incomplete": true, "reasons": [{"gap": "unreadable", "count": 2, "message": "…"}],
//! "skipped": {"binary": 0, …}}` (`gap` is a [`crate::Gap`] id). A complete run's array holds
//! diagnostics only, so readers that predate this see nothing new unless a scan could not look.

use super::{description, RenderOptions};
use crate::{Diagnostic, Report};
use serde_json::{Map, Value};
use std::io::{self, Write};

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut arr: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| Value::Object(object(report, d, opts)))
        .collect();
    let c = &report.completeness;
    if !c.is_complete() {
        let reasons: Vec<Value> = c
            .reasons
            .iter()
            .map(|r| serde_json::json!({ "gap": r.gap.id(), "count": r.count, "message": r.message }))
            .collect();
        let skipped: Map<String, Value> = c
            .skipped
            .counts()
            .iter()
            .map(|(k, n)| ((*k).to_owned(), Value::from(*n)))
            .collect();
        arr.push(serde_json::json!({
            "incomplete": true,
            "reasons": reasons,
            "skipped": skipped,
        }));
    }
    serde_json::to_writer_pretty(&mut *out, &arr).map_err(io::Error::other)?;
    writeln!(out)
}

/// One diagnostic in the wire format.
fn object(report: &Report, d: &Diagnostic, opts: &RenderOptions) -> Map<String, Value> {
    let mut o = Map::new();
    // Properties first: the wire format's own keys are written over any property of their name.
    for (k, v) in &d.properties {
        o.insert(k.clone(), serde_json::to_value(v).unwrap_or(Value::Null));
    }
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_owned(), v);
    };
    put("rule", d.rule.clone().into());
    if let Some(meta) = report.rule(&d.rule) {
        put("description", meta.description.clone().into());
        put("tags", meta.tags.clone().into());
    } else {
        put("description", description(report, d).into());
    }
    put("severity", d.severity.as_str().into());
    put("text", d.message.clone().into());
    let l = &d.location;
    if let Some(p) = d.file() {
        put("file", p.into());
    }
    if let Some(r) = &l.region {
        put("line", r.line.into());
        let opt = [
            ("column", r.column),
            ("end_line", r.end_line),
            ("end_column", r.end_column),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                put(k, v.into());
            }
        }
    }
    if let Some(k) = &l.key {
        put("key", k.clone().into());
    }
    if let Some(s) = &l.scope {
        put("scope", s.clone().into());
    }
    if let Some(s) = opts.secret(d) {
        put("secret", s.into());
        put("redacted", (!opts.show_secrets).into());
    }
    if let Some(f) = &d.fingerprints.location {
        put("fingerprint", f.clone().into());
    }
    if let Some(h) = &d.fingerprints.content {
        put("hash", h.clone().into());
    }
    if let Some(c) = &d.commit {
        put("commit", c.id.clone().into());
        put("author", c.author.clone().into());
        put("email", c.email.clone().into());
        put("date", c.date.clone().into());
        put("message", c.summary.clone().into());
    }
    if !d.decoded.is_empty() {
        let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
        put("decoded", steps.into());
    }
    if !d.archive_path.is_empty() {
        put("archive_path", d.archive_path.clone().into());
    }
    o
}
