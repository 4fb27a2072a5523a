//! The Markdown report, for pull-request comments and CI job summaries
//! (`>> $GITHUB_STEP_SUMMARY`): a heading with the count, a warning when the run was incomplete,
//! one table row per diagnostic, and what was skipped.

use super::RenderOptions;
use crate::Report;
use std::io::{self, Write};

/// Text safe in a table cell: control, bidi and zero-width characters escaped as the text
/// report escapes them (a name from a file can drive neither a terminal nor a reader's eye),
/// pipes escaped, line breaks flattened.
fn cell(s: &str) -> String {
    vigil_core::logging::printable(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Plain text in a table cell: [`cell`], and every character Markdown would read as markup
/// inside a cell (emphasis, code, links, HTML, strike-through) escaped, so a name from a file
/// shows as it is written.
fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in cell(s).chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '&' => o.push_str("&amp;"),
            '`' | '*' | '_' | '[' | ']' | '~' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

/// Text as inline code: fenced with more backticks than it holds.
fn code(s: &str) -> String {
    let s = cell(s);
    let mut run = 0;
    let mut longest = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let n = report.diagnostics.len();
    writeln!(
        out,
        "### {} {}: {n} finding(s)",
        report.tool.name, report.tool.command
    )?;
    writeln!(out)?;
    let c = &report.completeness;
    if !c.is_complete() {
        let reasons: Vec<String> = c.reasons.iter().map(|r| text(&r.to_string())).collect();
        let reasons = reasons.join("; ");
        // A reason that ends a sentence already (`…`, `.`) gets no second full stop.
        let stop = if reasons.ends_with('.') || reasons.ends_with('…') {
            ""
        } else {
            "."
        };
        writeln!(
            out,
            "> **Incomplete:** {reasons}{stop} Nothing here proves the rest clean."
        )?;
        writeln!(out)?;
    }
    if n == 0 {
        writeln!(out, "No findings.")?;
    } else {
        let secrets = report.diagnostics.iter().any(|d| d.secret.is_some());
        write!(out, "| Severity | Rule | Location | Message |")?;
        writeln!(out, "{}", if secrets { " Secret |" } else { "" })?;
        write!(out, "| --- | --- | --- | --- |")?;
        writeln!(out, "{}", if secrets { " --- |" } else { "" })?;
        for d in &report.diagnostics {
            let mut at = vigil_core::logging::printable(&d.place()).into_owned();
            if let Some(c) = &d.commit {
                at.push_str(&format!(" @ {}", &c.id[..c.id.len().min(12)]));
            }
            let mut message = d.message.clone();
            if !d.decoded.is_empty() {
                let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
                message.push_str(&format!(" (decoded: {})", steps.join(" > ")));
            }
            write!(
                out,
                "| {} | {} | {} | {} |",
                d.severity,
                code(&d.rule),
                code(&at),
                text(&message)
            )?;
            match (secrets, opts.secret(d)) {
                (true, Some(s)) => writeln!(out, " {} |", code(&s))?,
                (true, None) => writeln!(out, " |")?,
                (false, _) => writeln!(out)?,
            }
        }
    }
    if !c.skipped.is_empty() {
        let parts: Vec<String> = c
            .skipped
            .counts()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect();
        writeln!(out)?;
        writeln!(out, "Skipped: {}.", parts.join(", "))?;
    }
    Ok(())
}
