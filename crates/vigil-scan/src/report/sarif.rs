//! The SARIF 2.1.0 report, as GitHub code scanning reads it: one `reportingDescriptor` per rule,
//! one result per finding with a region and a `partialFingerprints` entry.

use super::Context;
use crate::finding::Finding;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

pub(super) fn write(
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<Value> = Vec::new();
    for r in &ctx.rules.rules {
        index.insert(&r.id, rules.len());
        rules.push(json!({
            "id": r.id,
            "name": r.id,
            "shortDescription": { "text": r.description },
            "fullDescription": { "text": r.description },
            "defaultConfiguration": { "level": "error" },
            "properties": { "tags": tags(&r.tags), "security-severity": "8.0" }
        }));
    }
    let mut results = Vec::with_capacity(findings.len());
    for f in findings {
        let mut result = json!({
            "ruleId": f.rule,
            "level": "error",
            "message": { "text": format!("{} found: {}", f.description, ctx.secret(f)) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri(&f.file), "uriBaseId": "%SRCROOT%" },
                    "region": {
                        "startLine": f.line.max(1),
                        "startColumn": f.column.max(1),
                        "endLine": f.end_line.max(f.line).max(1),
                        "endColumn": f.end_column.max(1),
                    }
                }
            }],
            "partialFingerprints": { "vigil/v1": f.hash, "gitleaks/fingerprint": f.fingerprint }
        });
        if let Some(&i) = index.get(f.rule.as_str()) {
            result["ruleIndex"] = json!(i);
        }
        if let Some(c) = &f.commit {
            result["properties"] = json!({ "commit": c });
        }
        results.push(result);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vigil",
                "semanticVersion": ctx.version,
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

fn tags(t: &[String]) -> Vec<String> {
    let mut v = vec!["security".to_owned(), "secret".to_owned()];
    v.extend(t.iter().cloned());
    v
}

/// A relative URI reference: percent-encode what RFC 3986 does not allow in a path.
fn uri(path: &str) -> String {
    let mut o = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}
