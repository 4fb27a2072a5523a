//! Report formats: one file each. Every format redacts secrets unless `show_secrets` is set.

mod csv;
mod json;
mod junit;
mod sarif;
mod text;

use crate::finding::Finding;
use crate::ruleset::Ruleset;
use std::io::{self, Write};

/// The output formats of `vigil scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text, coloured on a terminal.
    Text,
    /// A JSON array of findings.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// CSV with a header row.
    Csv,
    /// JUnit XML, one test case per finding.
    Junit,
}

/// What a report needs besides the findings.
pub struct Context<'a> {
    /// All rules of the scan (SARIF lists them).
    pub rules: &'a Ruleset,
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Colour text output.
    pub color: bool,
    /// The tool version.
    pub version: &'a str,
}

impl Context<'_> {
    /// The secret as this report shows it.
    pub fn secret(&self, f: &Finding) -> String {
        if self.show_secrets {
            // The user asked for secrets in the report with --show-secrets.
            f.secret.expose_secret().clone()
        } else {
            f.secret.to_string()
        }
    }
}

/// Writes findings in a format.
pub fn write(
    format: Format,
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(findings, ctx, out),
        Format::Json => json::write(findings, ctx, out),
        Format::Sarif => sarif::write(findings, ctx, out),
        Format::Csv => csv::write(findings, ctx, out),
        Format::Junit => junit::write(findings, ctx, out),
    }
}

/// Escapes text for XML attributes and content.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                o.push_str(&format!("&#x{:x};", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}
