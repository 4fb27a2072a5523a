//! The rule and configuration model: gitleaks's TOML format (`[[rules]]`, `[[rules.allowlists]]`,
//! `[allowlist]`, `[extend]`) plus Vigil's own fields, read by one set of serde types.

use serde::Deserialize;

/// A whole scan configuration file: a `.gitleaks.toml`, or the `[scan]` section of `vigil.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// gitleaks's free-text title.
    pub title: Option<String>,
    /// gitleaks's free-text description.
    pub description: Option<String>,
    /// gitleaks 8.25+ `minVersion`: the oldest gitleaks the file is written for (read, not
    /// checked: Vigil reads every key of gitleaks 8.30).
    #[serde(rename = "minVersion")]
    pub min_version: Option<String>,
    /// What this configuration builds on.
    pub extend: Option<Extend>,
    /// The rules this file defines.
    pub rules: Vec<RuleSpec>,
    /// The global allowlist (gitleaks `[allowlist]`).
    pub allowlist: Option<AllowlistSpec>,
    /// Global allowlists (gitleaks 8.25+ `[[allowlists]]`), optionally limited to some rules.
    pub allowlists: Vec<AllowlistSpec>,
}

impl ConfigFile {
    /// Reads a whole gitleaks file (no `${VAR}` expansion: `${` there is regex), accepting
    /// gitleaks's keys in any letter case and refusing unknown keys in rules and allowlists.
    pub fn from_document(
        cfg: &vigil_core::Config,
    ) -> Result<Self, vigil_core::config::ConfigError> {
        let mut v = cfg.root_value();
        gitleaks_keys(&mut v).map_err(|e| cfg.key_error(&e.key, TWICE))?;
        cfg.deserialize(v, "")
    }
}

/// The error for a gitleaks key written twice in two letter cases.
pub(crate) const TWICE: &str =
    "written twice in two spellings (gitleaks reads keys in any letter case)";

/// A gitleaks key written twice in two letter cases (`secretGroup` and `secretgroup`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {TWICE}", TWICE = TWICE)]
pub struct SpelledTwice {
    /// Its dotted path, relative to the value given to [`gitleaks_keys`].
    pub key: String,
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
    /// The keyword starts the token: the regex runs from the hit. When the regex begins with
    /// `\b`, a hit preceded by a word character (letter, digit, `_`) is passed over; rules whose
    /// prefix is distinctive leave `\b` out, so a character glued before the token cannot hide it.
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

/// One detection rule as written in TOML. Unknown keys are errors; every key gitleaks 8.30 reads
/// is accepted (in any letter case, as gitleaks's viper reads them: see [`gitleaks_keys`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
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
    /// gitleaks `[[rules.required]]` (composite rules): each match of this rule is reported
    /// only when every required rule also matches in the file, within `withinLines` /
    /// `withinColumns` when given.
    pub required: Vec<RequiredSpec>,
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
    /// Whether the rule is (or extends) a built-in rule: Vigil's own placeholder and ciphertext
    /// filters apply to those only, so a gitleaks rule finds exactly what gitleaks finds.
    #[serde(skip)]
    pub builtin: bool,
}

/// gitleaks's `[[rules.required]]`: another rule that must match near this one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredSpec {
    /// The required rule's id.
    pub id: String,
    /// Within this many lines.
    pub within_lines: Option<u32>,
    /// Within this many columns.
    pub within_columns: Option<u32>,
}

/// An allowlist: findings matching it are dropped. Unknown keys are errors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
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

impl AllowlistSpec {
    /// Whether it names no criterion at all (no commit, path, regex or stopword).
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
            && self.paths.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
    }
}

/// The keys gitleaks reads inside a rule, an allowlist, `[[rules.required]]` and `[extend]`, in
/// their documented spelling. gitleaks reads its file with viper, which ignores letter case, so
/// `secretgroup` and `SecretGroup` work there too.
pub(crate) const GITLEAKS_KEYS: &[&str] = &[
    "id",
    "description",
    "regex",
    "secretGroup",
    "entropy",
    "keywords",
    "path",
    "tags",
    "allowlist",
    "allowlists",
    "required",
    "skipReport",
    "condition",
    "commits",
    "paths",
    "regexTarget",
    "regexes",
    "stopwords",
    "targetRules",
    "withinLines",
    "withinColumns",
    "useDefault",
    "disabledRules",
    "url",
    "title",
    "minVersion",
];

/// Rewrites gitleaks keys written in another letter case (`secretgroup`, `StopWords`) to their
/// documented spelling, in the rule and allowlist tables of a scan configuration (`value` is a
/// `.gitleaks.toml` document or `vigil.toml`'s `[scan]`), so that every spelling gitleaks accepts
/// is accepted, and anything else is an unknown key. A key written twice in two spellings is an
/// error naming its dotted path (relative to `value`).
pub fn gitleaks_keys(value: &mut toml::Value) -> Result<(), SpelledTwice> {
    fn fix_table(t: &mut toml::Table, at: &str) -> Result<(), SpelledTwice> {
        let renames: Vec<(String, &str)> = t
            .keys()
            .filter_map(|k| {
                GITLEAKS_KEYS
                    .iter()
                    .find(|g| g.eq_ignore_ascii_case(k) && **g != k.as_str())
                    .map(|g| (k.clone(), *g))
            })
            .collect();
        for (from, to) in renames {
            if t.contains_key(to) {
                return Err(SpelledTwice {
                    key: format!("{at}{from}"),
                });
            }
            if let Some(v) = t.remove(&from) {
                t.insert(to.to_owned(), v);
            }
        }
        Ok(())
    }
    fn each(v: &mut toml::Value, at: &str, nested: &[&str]) -> Result<(), SpelledTwice> {
        let visit = |t: &mut toml::Table, at: String| -> Result<(), SpelledTwice> {
            fix_table(t, &at)?;
            for n in nested {
                if let Some(inner) = t.get_mut(*n) {
                    each(inner, &format!("{at}{n}"), &[])?;
                }
            }
            Ok(())
        };
        match v {
            toml::Value::Table(t) => visit(t, format!("{at}.")),
            toml::Value::Array(a) => {
                for (i, x) in a.iter_mut().enumerate() {
                    if let toml::Value::Table(t) = x {
                        visit(t, format!("{at}[{i}]."))?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let toml::Value::Table(root) = value else {
        return Ok(());
    };
    fix_table(root, "")?;
    let keys: Vec<String> = root.keys().cloned().collect();
    for k in keys {
        let nested: &[&str] = match k.as_str() {
            "rules" => &["allowlist", "allowlists", "required"],
            "allowlist" | "allowlists" | "extend" => &[],
            _ => continue,
        };
        if let Some(v) = root.get_mut(&k) {
            each(v, &k, nested)?;
        }
    }
    Ok(())
}
