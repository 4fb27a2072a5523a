//! The rule and configuration model: gitleaks's TOML format (`[[rules]]`, `[[rules.allowlists]]`,
//! `[allowlist]`, `[extend]`) plus Vigil's own fields, read by one set of serde types.

use serde::Deserialize;

/// A whole scan configuration file: a `.gitleaks.toml`, or the `[scan]` section of `vigil.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// gitleaks's free-text title.
    pub title: Option<String>,
    /// What this configuration builds on.
    pub extend: Option<Extend>,
    /// The rules this file defines.
    pub rules: Vec<RuleSpec>,
    /// The global allowlist (gitleaks `[allowlist]`).
    pub allowlist: Option<AllowlistSpec>,
    /// Global allowlists (gitleaks 8.25+ `[[allowlists]]`), optionally limited to some rules.
    pub allowlists: Vec<AllowlistSpec>,
}

/// gitleaks's `[extend]`: base this configuration on the defaults or another file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Extend {
    /// Start from the built-in rules.
    pub use_default: bool,
    /// Start from another configuration file (relative to this one).
    pub path: Option<String>,
    /// Rule ids to drop from what is extended.
    pub disabled_rules: Vec<String>,
}

/// Where a rule's regex runs after a keyword hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// The whole file once any keyword is present (gitleaks's behaviour; user rules' default).
    #[default]
    File,
    /// The line holding the keyword.
    Line,
    /// From the keyword's line on, 64 KiB (for PEM blocks and other multi-line secrets).
    Multiline,
    /// The keyword starts the token: only hits not preceded by an alphanumeric byte, and the
    /// regex runs from the hit.
    Prefix,
}

/// Whether keywords match case-sensitively.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordCase {
    /// ASCII case-insensitive, as gitleaks.
    #[default]
    Insensitive,
    /// Exact bytes.
    Sensitive,
}

/// One detection rule as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleSpec {
    /// Unique id, e.g. `github-pat`.
    pub id: String,
    /// One line saying what it finds.
    pub description: String,
    /// The pattern (RE2/Rust syntax). A rule with only `path` flags files by name.
    pub regex: Option<String>,
    /// Which capture group is the secret (0 = whole match; default: the first group if any).
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per character) of the secret.
    pub entropy: Option<f64>,
    /// Literals one of which must be present for the regex to run.
    pub keywords: Vec<String>,
    /// A regex over the file path the rule is limited to.
    pub path: Option<String>,
    /// Labels copied to findings.
    pub tags: Vec<String>,
    /// gitleaks's single (deprecated) per-rule allowlist.
    pub allowlist: Option<AllowlistSpec>,
    /// Per-rule allowlists.
    pub allowlists: Vec<AllowlistSpec>,
    /// gitleaks `skipReport`: the rule matches but is never reported.
    pub skip_report: bool,
    /// Vigil: where the regex runs after a keyword hit.
    pub window: Option<Window>,
    /// Vigil: keyword case sensitivity.
    #[serde(rename = "keyword_case")]
    pub keyword_case: KeywordCase,
    /// Vigil: a structural check (`github-crc32`, `discord-bot`, `jwt`).
    pub validate: Option<String>,
    /// Vigil: a broad rule that yields to specific ones.
    pub generic: bool,
    /// Vigil: templates that must be found (see rules/README.md).
    pub examples: Vec<String>,
    /// Vigil: lines that must not be reported.
    pub counterexamples: Vec<String>,
}

/// An allowlist: findings matching it are dropped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AllowlistSpec {
    /// Free text.
    pub description: Option<String>,
    /// `OR` (default: any criterion suffices) or `AND` (every given criterion must match).
    pub condition: Option<String>,
    /// Commit ids (history scans).
    pub commits: Vec<String>,
    /// Regexes over the file path.
    pub paths: Vec<String>,
    /// What `regexes` test: `secret` (default), `match` or `line`.
    pub regex_target: Option<String>,
    /// Regexes that allow a finding.
    pub regexes: Vec<String>,
    /// Substrings of the secret that allow a finding.
    pub stopwords: Vec<String>,
    /// For global `[[allowlists]]`: only these rules.
    pub target_rules: Vec<String>,
}
