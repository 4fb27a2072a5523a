//! The CSV report: a header row, then one row per diagnostic (RFC 4180 quoting). The columns are
//! fixed, so every report of a command has the same header: `rule,file,line,column,end_line,
//! end_column,secret`, the report's own columns (`entropy` for scans), then `fingerprint,hash,
//! commit,description,severity,message,key,scope,decoded`. Absent values are empty cells. A file
//! inside an archive is `outer.zip!member`; `decoded` is how a secret was decoded (`base64>gzip`). An incomplete run ends with one row per reason, whose rule is
//! `incomplete`, severity `error` and message the reason (nothing else filled in). A cell that
//! a spreadsheet would run as a formula starts with `'`.

use super::{description, RenderOptions};
use crate::Report;
use std::io::{self, Write};

/// One cell: control characters escaped as the human formats escape them (a file name cannot
/// move the terminal or forge a row), a leading `=`, `+`, `-` or `@` defused with `'` (OWASP's
/// advice against formula injection, so a spreadsheet never runs a file name), RFC 4180 quoting.
fn field(s: &str) -> String {
    let s = vigil_core::logging::printable(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    quoted(s)
}

/// RFC 4180 quoting alone (the secret column keeps the secret's bytes as found).
fn quoted(s: String) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut header: Vec<String> = ["rule", "file", "line", "column", "end_line", "end_column"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.push("secret".into());
    header.extend(report.columns.iter().map(|c| field(c)));
    header.extend(
        [
            "fingerprint",
            "hash",
            "commit",
            "description",
            "severity",
            "message",
            "key",
            "scope",
            "decoded",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    writeln!(out, "{}", header.join(","))?;
    for d in &report.diagnostics {
        let l = &d.location;
        let r = l.region;
        let mut row = vec![
            field(&d.rule),
            field(&d.file().unwrap_or_default()),
            num(r.map(|r| r.line)),
            num(r.and_then(|r| r.column)),
            num(r.and_then(|r| r.end_line)),
            num(r.and_then(|r| r.end_column)),
            quoted(opts.secret(d).unwrap_or_default()),
        ];
        for c in &report.columns {
            row.push(field(
                &d.properties.get(c).map(|v| v.cell(3)).unwrap_or_default(),
            ));
        }
        row.extend([
            field(d.fingerprints.location.as_deref().unwrap_or("")),
            field(d.fingerprints.content.as_deref().unwrap_or("")),
            field(d.commit.as_ref().map_or("", |c| c.id.as_str())),
            field(description(report, d)),
            d.severity.as_str().to_owned(),
            field(&d.message),
            field(l.key.as_deref().unwrap_or("")),
            field(l.scope.as_deref().unwrap_or("")),
            d.decoded
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(">"),
        ]);
        writeln!(out, "{}", row.join(","))?;
    }
    // One row per reason the run is incomplete: rule, then empty cells up to severity, message.
    let blanks = header.len() - 6;
    for r in &report.completeness.reasons {
        let mut row = vec!["incomplete".to_owned()];
        row.extend(std::iter::repeat_n(String::new(), blanks));
        row.push("error".into());
        row.push(field(&r.message));
        row.extend([String::new(), String::new(), String::new()]);
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}
