//! Vigil's secret detection: built-in rules kept as data, gitleaks-compatible configuration, a
//! keyword prefilter that decides where regexes run, entropy and placeholder filters, structural
//! checks, allowlists and composite rules, decoding (base64, hex, percent, escapes), archives
//! (zip, tar, gzip) with bomb limits, parallel sources, git history, baselines, hooks and purges.
//!
//! A scan is four calls, each a library API the binary only wires up:
//! [`ScanSettings::resolve`] (configuration, rules, sizes) → [`scan()`] over a [`Target`] →
//! [`Suppressions::discover`] and [`Suppressions::apply`] (ignore files, baseline) →
//! [`report::build`], which `vigil-report` renders in any format.
//!
//! ```
//! use vigil_scan::Ruleset;
//! let rules = Ruleset::builtin();
//! let mut found = Vec::new();
//! let line = format!("OPENROUTER_API_KEY=sk-or-v1-{}", "4f9a".repeat(16));
//! rules.scan_bytes(".env", None, line.as_bytes(), &mut found);
//! assert_eq!(found[0].rule, "openrouter-api-key");
//! assert_eq!(found[0].line, 1);
//! assert!(!format!("{:?}", found[0]).contains("4f9a4f9a"));
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod archive;
mod base_config;
pub mod baseline;
pub mod builtin;
mod classify;
pub mod config;
pub mod content;
mod decode;
pub use decode::percent_decoded;
mod engine;
pub mod entropy;
pub mod examples;
pub mod finding;
mod fold;
mod gather;
mod generic;
pub mod git;
mod history_cache;
pub mod hooks;
mod keywords;
mod lfs;
mod meta;
mod pack_blobs;
mod pack_trees;
pub mod placeholder;
pub mod purge;
pub mod redact;
pub mod report;
pub mod rule;
pub mod ruleset;
pub mod scan;
pub mod settings;
pub mod source;
mod strings;
pub mod suppress;
pub mod validate;

pub use finding::Finding;
pub use ruleset::Ruleset;
pub use scan::{
    finish, scan, scan_with, Finished, History, ScanError, ScanOutcome, Scanned, Scope, Target,
};
pub use settings::{ConfigSource, ScanFlags, ScanSettings, SettingsError};
pub use suppress::{Named, Suppressed, Suppressions};
