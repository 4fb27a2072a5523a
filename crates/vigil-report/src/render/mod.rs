//! The renderers, one file per format, and what they share: the options, the secret as shown,
//! and writing a report to a file (privately when it shows secrets).

mod csv;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

use crate::{Diagnostic, Report};
use std::io::{self, Write};
use std::path::Path;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human text (see [`TextStyle`]), coloured on request.
    Text,
    /// A JSON array of diagnostics; the wire format is documented in `render/json.rs`.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF readers.
    Sarif,
    /// CSV with a header row (RFC 4180 quoting).
    Csv,
    /// JUnit XML: one failing test case per diagnostic.
    Junit,
    /// A Markdown table, for pull-request comments and CI job summaries.
    Markdown,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Csv,
        Format::Junit,
        Format::Markdown,
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }
}

/// How text reports look (ruff's `concise` and `full`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextStyle {
    /// One line each: `file:line: message [rule]`.
    #[default]
    Concise,
    /// Two lines each: place, rule and secret; then description, properties and fingerprint.
    Full,
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Show secrets in full (they are masked by default). Only on the user's explicit request.
    pub show_secrets: bool,
    /// ANSI colour in text.
    pub color: bool,
    /// The text layout.
    pub style: TextStyle,
}

impl RenderOptions {
    /// The secret of `d` as this report shows it, if it has one.
    fn secret(&self, d: &Diagnostic) -> Option<String> {
        d.secret.as_ref().map(|s| {
            if self.show_secrets {
                // The user asked for secrets in the report (--show-secrets).
                s.expose_secret().clone()
            } else {
                s.to_string()
            }
        })
    }
}

/// Writes `report` in `format`.
pub fn render(
    format: Format,
    report: &Report,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, opts, out),
        Format::Json => json::write(report, opts, out),
        Format::Sarif => sarif::write(report, opts, out),
        Format::Csv => csv::write(report, opts, out),
        Format::Junit => junit::write(report, opts, out),
        Format::Markdown => markdown::write(report, opts, out),
    }
}

/// Renders `report` into the file at `path`, atomically; with secrets shown, private from the
/// first byte (`0600`, new folders `0700`), since the file is then a copy of every secret in it.
pub fn save(path: &Path, format: Format, report: &Report, opts: &RenderOptions) -> io::Result<()> {
    let mut buf = Vec::new();
    render(format, report, opts, &mut buf)?;
    if opts.show_secrets {
        vigil_core::fsx::write_private(path, &buf)
    } else {
        vigil_core::fsx::atomic_write(path, &buf)
    }
}

/// The rule's description, or the diagnostic's message when the report has no metadata for it.
fn description<'a>(report: &'a Report, d: &'a Diagnostic) -> &'a str {
    report
        .rule(&d.rule)
        .map_or(d.message.as_str(), |r| r.description.as_str())
}

/// Escapes text for XML attributes and content.
fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\r' => o.push_str("&#xd;"),
            // XML 1.0 allows no other control character, not even as a reference: written
            // out as `\u{1b}`, so a name from a file cannot make the report unreadable.
            // Invisible format characters (bidi controls, zero width, tags) too, as the text
            // report shows them (black-box tester, session 15 round 12: F12).
            c if ((c as u32) < 0x20 && c != '\n' && c != '\t')
                || matches!(c, '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
                || vigil_core::logging::is_hidden(c) =>
            {
                o.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
pub(crate) mod tests;
