//! The human report. Concise: `file:line: message [rule]`, one line each. Full: the place (and
//! commit), the rule and the secret, then the rule's description, the report's columns, the
//! fingerprint and how the secret was decoded. A secret inside an archive is placed at
//! `outer.zip!member:line` (lines of the member). An incomplete run ends with one line per
//! reason.

use super::{description, RenderOptions, TextStyle};
use crate::Report;
use std::io::{self, Write};

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (bold, red, dim, reset) = if opts.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    // Names come from the scanned tree: control characters in them are escaped, so a file name
    // can neither break a line nor drive the terminal.
    let clean = |s: String| vigil_core::logging::printable(&s).into_owned();
    for d in &report.diagnostics {
        let location = clean(d.place());
        if opts.style == TextStyle::Concise {
            writeln!(
                out,
                "{bold}{location}{reset}: {} [{red}{}{reset}]",
                clean(d.message.clone()),
                d.rule
            )?;
            continue;
        }
        let commit = d
            .commit
            .as_ref()
            .map(|c| format!(" @ {}", &c.id[..c.id.len().min(12)]))
            .unwrap_or_default();
        let shown = opts.secret(d).unwrap_or_else(|| d.message.clone());
        writeln!(
            out,
            "{bold}{location}{reset}{commit}  {red}{}{reset}  {}",
            d.rule,
            clean(shown)
        )?;
        let mut detail = description(report, d).to_owned();
        for col in &report.columns {
            if let Some(v) = d.properties.get(col) {
                detail.push_str(&format!("  {col} {}", v.cell(2)));
            }
        }
        if let Some(fp) = &d.fingerprints.location {
            detail.push_str(&format!("  fingerprint {fp}"));
        }
        if !d.decoded.is_empty() {
            let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
            detail.push_str(&format!("  decoded: {}", steps.join(" > ")));
        }
        writeln!(out, "    {dim}{}{reset}", clean(detail))?;
    }
    for r in &report.completeness.reasons {
        writeln!(out, "{bold}incomplete{reset}: {}", clean(r.to_string()))?;
    }
    Ok(())
}
