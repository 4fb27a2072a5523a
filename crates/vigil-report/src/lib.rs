//! Vigil's diagnostics: one [`Diagnostic`] model for everything a check reports (scan findings,
//! env problems, token compliance problems, and lint and audit results as they come) and one
//! renderer per [`Format`]: text, JSON, SARIF 2.1.0, CSV, JUnit XML and Markdown. ruff's
//! `ruff_db::diagnostic::render` is the model: the checks build data, the renderers decide how it
//! looks, and no check writes a format by hand.
//!
//! A secret in a diagnostic is a [`vigil_core::Secret`]: every renderer shows its masked form
//! unless [`RenderOptions::show_secrets`] is set, and [`save`] writes such a report `0600`.
//!
//! ```
//! use vigil_report::{render, Diagnostic, Format, Location, RenderOptions, Report, RuleMeta, Severity, Tool};
//! let mut report = Report::new(Tool::new("env check", "0.1.0"));
//! report.rules.push(RuleMeta::new("weak", "A secret is short or low in entropy").with_help("Rotate it to 32 random bytes"));
//! report.diagnostics.push(Diagnostic::new(
//!     "weak",
//!     Severity::Error,
//!     Location::file(".env.production").at_line(1).with_key("DB_PASSWORD"),
//!     "DB_PASSWORD is short (7 characters)",
//! ));
//! let mut out = Vec::new();
//! render(Format::Text, &report, &RenderOptions::default(), &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), ".env.production:1: DB_PASSWORD is short (7 characters) [weak]\n");
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

mod completeness;
mod diagnostic;
pub mod read;
mod render;
mod rule;
pub mod srcroot;

pub use completeness::{Completeness, Gap, Reason, Skipped};
pub use diagnostic::{
    Commit, Diagnostic, Encoding, Fingerprints, Location, Properties, Property, Region, Severity,
};
pub use render::{render, save, Format, RenderOptions, TextStyle};
pub use rule::RuleMeta;

/// What produced a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The tool, `vigil`.
    pub name: String,
    /// The command that ran, e.g. `scan` or `env check` (JUnit's suite name).
    pub command: String,
    /// The tool's version.
    pub version: String,
    /// Where to read about it (SARIF `informationUri`), if anywhere.
    pub information_uri: Option<String>,
}

impl Tool {
    /// `vigil <command>` at `version`.
    pub fn new(command: impl Into<String>, version: impl Into<String>) -> Self {
        Tool {
            name: "vigil".into(),
            command: command.into(),
            version: version.into(),
            information_uri: None,
        }
    }
}

/// Everything a renderer needs: who ran, which rules, what they found, whether the run was
/// complete.
#[derive(Debug, Clone)]
pub struct Report {
    /// What produced it.
    pub tool: Tool,
    /// Every rule that ran (SARIF lists them all, found or not).
    pub rules: Vec<RuleMeta>,
    /// Property keys that get a column of their own in CSV and a place on the text detail
    /// line, in this order (`entropy` for scans). JSON and SARIF carry every property anyway.
    pub columns: Vec<String>,
    /// What was found, in report order.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the run covered everything, and what it skipped.
    pub completeness: Completeness,
}

impl Report {
    /// An empty, complete report.
    pub fn new(tool: Tool) -> Self {
        Report {
            tool,
            rules: Vec::new(),
            columns: Vec::new(),
            diagnostics: Vec::new(),
            completeness: Completeness::default(),
        }
    }

    /// The metadata of a rule, if the report has it.
    pub fn rule(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Nothing found and nothing missed: the only report a gate may pass.
    pub fn is_clean(&self) -> bool {
        self.diagnostics.is_empty() && self.completeness.is_complete()
    }
}
