//! The CSV report: a header row, then one row per finding (RFC 4180 quoting).

use super::Context;
use crate::finding::Finding;
use std::io::{self, Write};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(super) fn write(
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "rule,file,line,column,end_line,end_column,secret,entropy,fingerprint,hash,commit,description")?;
    for f in findings {
        let row = [
            field(&f.rule),
            field(&f.file),
            f.line.to_string(),
            f.column.to_string(),
            f.end_line.to_string(),
            f.end_column.to_string(),
            field(&ctx.secret(f)),
            format!("{:.3}", f.entropy),
            field(&f.fingerprint),
            f.hash.clone(),
            field(f.commit.as_deref().unwrap_or("")),
            field(&f.description),
        ];
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}
