//! The JSON report: an array of findings (`rule`, `file`, `line`, `column`, `secret`, `entropy`,
//! `fingerprint`, `hash`, ...), usable again as a baseline.

use super::Context;
use crate::finding::Finding;
use std::io::{self, Write};

pub(super) fn write(
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut arr = Vec::with_capacity(findings.len());
    for f in findings {
        let mut v = serde_json::to_value(f).map_err(io::Error::other)?;
        v["secret"] = serde_json::Value::String(ctx.secret(f));
        arr.push(v);
    }
    serde_json::to_writer_pretty(&mut *out, &arr).map_err(io::Error::other)?;
    writeln!(out)
}
