//! The SARIF 2.1.0 report, the only SARIF writer in the workspace, as GitHub code scanning reads
//! it: every rule that ran as a `reportingDescriptor` (with its help and, for security rules, its
//! `security-severity`), one result per diagnostic with a region and `partialFingerprints`, and
//! one invocation saying whether the run was complete (each reason a notification with its gap
//! id and count). A secret inside an archive points at the archive file, without a region (its
//! lines are the member's), with the members in a logical location
//! (`fullyQualifiedName` `outer.zip!member`) and in the `archivePath` property. Checked against
//! the official schema in `tests/sarif_schema.rs`.

use super::RenderOptions;
use crate::{Diagnostic, Report};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<Value> = Vec::with_capacity(report.rules.len());
    for r in &report.rules {
        index.entry(&r.id).or_insert(rules.len());
        let mut desc = json!({
            "id": r.id,
            "name": r.id,
            "shortDescription": { "text": r.description },
            "fullDescription": { "text": r.description },
            "defaultConfiguration": { "level": r.severity.as_str() },
        });
        if !r.help.is_empty() {
            desc["help"] = json!({ "text": r.help });
        }
        let mut tags: Vec<String> = Vec::new();
        if r.security_severity.is_some() {
            tags.push("security".into());
        }
        for t in &r.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let mut props = json!({ "tags": tags });
        if let Some(s) = r.security_severity {
            props["security-severity"] = json!(format!("{s:.1}"));
        }
        desc["properties"] = props;
        rules.push(desc);
    }
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| result(d, opts, index.get(d.rule.as_str()).copied()))
        .collect();
    let c = &report.completeness;
    let mut invocation = json!({ "executionSuccessful": c.is_complete() });
    if !c.is_complete() {
        invocation["toolExecutionNotifications"] = c
            .reasons
            .iter()
            .map(|r| {
                json!({
                    "level": "error",
                    "descriptor": { "id": r.gap.id() },
                    "message": { "text": r.message },
                    "properties": { "count": r.count },
                })
            })
            .collect();
    }
    if !c.skipped.is_empty() {
        let skipped: Map<String, Value> = c
            .skipped
            .counts()
            .iter()
            .map(|(k, n)| ((*k).to_owned(), json!(n)))
            .collect();
        invocation["properties"] = json!({ "skipped": skipped });
    }
    let mut driver = json!({
        "name": report.tool.name,
        "semanticVersion": report.tool.version,
        "rules": rules,
    });
    if let Some(u) = &report.tool.information_uri {
        driver["informationUri"] = json!(u);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            // Said, not left to a reader's default: columns count UTF-16 code units.
            "columnKind": "utf16CodeUnits",
            "invocations": [invocation],
            "results": results
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

fn result(d: &Diagnostic, opts: &RenderOptions, rule_index: Option<usize>) -> Value {
    let text = match opts.secret(d) {
        Some(s) => format!("{}: {s}", d.message),
        None => d.message.clone(),
    };
    // Names from files may hold bidi and zero-width characters: code-scanning pages show the
    // message as text, so they are written escaped, as the text report writes them (black-box
    // tester, session 15 round 13: F12).
    let text = vigil_core::logging::printable(&text).into_owned();
    let mut result = json!({
        "ruleId": d.rule,
        "level": d.severity.as_str(),
        "message": { "text": text },
    });
    if let Some(i) = rule_index {
        result["ruleIndex"] = json!(i);
    }
    let l = &d.location;
    let mut location = Map::new();
    if let Some(p) = &l.path {
        // An absolute `file://` URI (a file outside the source root, `srcroot::rebase`)
        // stands alone; anything else is relative to `%SRCROOT%`.
        let artifact = if p.starts_with("file:///") {
            json!({ "uri": p })
        } else {
            json!({ "uri": uri(p), "uriBaseId": "%SRCROOT%" })
        };
        let mut physical = json!({ "artifactLocation": artifact });
        // A member's lines are not the archive's: no region for a secret inside an archive.
        let region = l.region.filter(|r| r.line > 0 && d.archive_path.is_empty());
        if let Some(r) = region {
            let mut region = json!({ "startLine": r.line });
            if let Some(c) = r.column {
                region["startColumn"] = json!(c.max(1));
            }
            if let Some(e) = r.end_line {
                region["endLine"] = json!(e.max(r.line));
            }
            if let Some(e) = r.end_column {
                region["endColumn"] = json!(e.max(1));
            }
            physical["region"] = region;
        }
        location.insert("physicalLocation".into(), physical);
    }
    let mut logical: Vec<Value> = [(&l.scope, "resource"), (&l.key, "variable")]
        .iter()
        .filter_map(|(name, kind)| name.as_ref().map(|n| json!({ "name": n, "kind": kind })))
        .collect();
    if let (Some(member), Some(full)) = (d.archive_path.last(), d.file()) {
        logical.push(json!({ "name": member, "fullyQualifiedName": full, "kind": "member" }));
    }
    if !logical.is_empty() {
        location.insert("logicalLocations".into(), logical.into());
    }
    if !location.is_empty() {
        result["locations"] = json!([location]);
    }
    let mut fingerprints = Map::new();
    if let Some(h) = &d.fingerprints.content {
        fingerprints.insert("vigil/v2".into(), json!(h));
    }
    if let Some(f) = &d.fingerprints.location {
        fingerprints.insert("gitleaks/fingerprint".into(), json!(f));
    }
    if !fingerprints.is_empty() {
        result["partialFingerprints"] = fingerprints.into();
    }
    // The property bag: the diagnostic's properties and where it was found. Commit authors and
    // emails stay out of SARIF (it is uploaded to code hosts); the JSON report has them.
    let mut props = Map::new();
    for (k, v) in &d.properties {
        props.insert(k.clone(), serde_json::to_value(v).unwrap_or(Value::Null));
    }
    if let Some(c) = &d.commit {
        props.insert("commit".into(), json!(c.id));
    }
    if !d.decoded.is_empty() {
        let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
        props.insert("decoded".into(), json!(steps));
    }
    if !d.archive_path.is_empty() {
        props.insert("archivePath".into(), json!(d.archive_path));
    }
    if !props.is_empty() {
        result["properties"] = props.into();
    }
    result
}

/// A relative URI reference: percent-encode what RFC 3986 does not allow in a path. A name shown
/// with escapes (`x\xfe.txt` for the byte 0xFE, `a\\b` for a backslash: vigil-scan's lossless
/// form) is encoded as the bytes it stands for (`x%FE.txt`), so the URI names the real file.
fn uri(path: &str) -> String {
    let mut bytes = Vec::with_capacity(path.len());
    let raw = path.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (raw[i], raw.get(i + 1), raw.get(i + 2), raw.get(i + 3)) {
            (b'\\', Some(b'\\'), ..) => {
                bytes.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x'), Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                bytes.push((hex(h).unwrap_or(0) << 4) | hex(l).unwrap_or(0));
                i += 4;
            }
            (b, ..) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let mut o = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}
