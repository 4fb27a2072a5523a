//! The human report. Concise: `file:line: message [rule]`, one line each. Full: the place (and
//! commit), the rule and the secret, then the rule's description, the report's columns, the
//! fingerprint and where the secret hid. An incomplete run ends with one line per reason.

use super::{description, RenderOptions, TextStyle};
use crate::Report;
use std::io::{self, Write};

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let (bold, red, dim, reset) = if opts.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for d in &report.diagnostics {
        if opts.style == TextStyle::Concise {
            writeln!(
                out,
                "{bold}{}{reset}: {} [{red}{}{reset}]",
                esc(&d.location.to_string()),
                esc(&d.message),
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
            "{bold}{}{reset}{commit}  {red}{}{reset}  {}",
            esc(&d.location.to_string()),
            d.rule,
            esc(&shown)
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
        if !d.archive_path.is_empty() {
            detail.push_str(&format!("  in {}", d.archive_path.join(" > ")));
        }
        if !d.decoded.is_empty() {
            let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
            detail.push_str(&format!("  decoded {}", steps.join(" > ")));
        }
        writeln!(out, "    {dim}{}{reset}", esc(&detail))?;
    }
    for r in &report.completeness.reasons {
        writeln!(out, "{bold}incomplete{reset}: {}", esc(&r.to_string()))?;
    }
    Ok(())
}

/// Text from inputs (file names, server names, messages quoting them), safe for a terminal:
/// control characters and the invisible characters that reorder or hide text (bidi controls,
/// zero-width marks, line separators) are written as `\u{…}`, so one finding stays one line and
/// no escape sequence reaches the terminal.
pub(crate) fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{FEFF}'
            )
    };
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            s.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            s.push(c);
        }
    }
    std::borrow::Cow::Owned(s)
}
