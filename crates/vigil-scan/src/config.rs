//! The `[scan]` section of `vigil.toml`: scan settings plus gitleaks's rule fields, so the same
//! rules and allowlists can live in `vigil.toml` or in an unchanged `.gitleaks.toml`.

use crate::rule::{AllowlistSpec, ConfigFile, Extend, RuleSpec};
use serde::Deserialize;

/// `[scan]` in `vigil.toml`. Unknown keys are errors (rules themselves accept gitleaks's fields).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanSection {
    /// Files larger than this are skipped: bytes, or `10MiB`, `500KB`, `1G`.
    pub max_file_size: Option<SizeValue>,
    /// Do not honour `.gitignore` files.
    pub no_ignore: Option<bool>,
    /// Exit code when findings are reported.
    pub exit_code: Option<u8>,
    /// A baseline report: only findings not in it are reported.
    pub baseline: Option<String>,
    /// Decodings followed one inside the other (default 2; 0 turns decoding off).
    pub max_decode_depth: Option<u8>,
    /// Archives opened one inside the other (default 2; 0 leaves archives closed).
    pub max_archive_depth: Option<u8>,
    /// Bytes an archive (with what is nested in it) may unpack to (default `256MiB`).
    pub max_archive_size: Option<SizeValue>,
    /// Entries an archive (with what is nested in it) may hold (default 100,000).
    pub max_archive_entries: Option<u64>,
    /// How many times a compressed stream may expand (default 100).
    pub max_archive_ratio: Option<u64>,
    /// Exit as if complete when the scan could not read everything (the report still says so).
    pub allow_incomplete: Option<bool>,
    /// gitleaks `title`.
    pub title: Option<String>,
    /// gitleaks `[extend]`; in `vigil.toml` the built-in rules are kept unless
    /// `extend.useDefault = false` is written.
    pub extend: Option<ScanExtend>,
    /// Extra rules, in gitleaks's format.
    pub rules: Vec<RuleSpec>,
    /// Global allowlist.
    pub allowlist: Option<AllowlistSpec>,
    /// Global allowlists.
    pub allowlists: Vec<AllowlistSpec>,
}

/// `[scan.extend]`: gitleaks's `[extend]`, except that `useDefault` defaults to true.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ScanExtend {
    /// Keep the built-in rules (default true).
    pub use_default: bool,
    /// Also load another gitleaks configuration file (relative to vigil.toml).
    pub path: Option<String>,
    /// Rule ids to drop.
    pub disabled_rules: Vec<String>,
}

impl Default for ScanExtend {
    fn default() -> Self {
        ScanExtend {
            use_default: true,
            path: None,
            disabled_rules: Vec::new(),
        }
    }
}

pub use vigil_core::size::SizeValue;

/// `[scan]` is the scan crate's table of `vigil.toml`.
impl vigil_core::Section for ScanSection {
    const NAME: &'static str = "scan";
}

impl ScanSection {
    /// Reads `[scan]` of a `vigil.toml` (`${VAR}` from the environment, outside rules and
    /// allowlists), accepting gitleaks's keys in any letter case inside rules and allowlists and
    /// refusing unknown keys everywhere, with file, line and key. No section: the defaults.
    pub fn load(cfg: &vigil_core::Config) -> Result<Self, vigil_core::config::ConfigError> {
        use vigil_core::Section as _;
        let Some(mut v) = cfg.section_value(Self::NAME, &|n| std::env::var(n).ok())? else {
            return Ok(Self::default());
        };
        crate::rule::gitleaks_keys(&mut v)
            .map_err(|e| cfg.key_error(&format!("scan.{}", e.key), crate::rule::TWICE))?;
        cfg.deserialize(v, Self::NAME)
    }

    /// The rule configuration this section describes. Built-in rules stay on unless the section
    /// says `[scan.extend] useDefault = false`.
    pub fn to_config_file(&self) -> ConfigFile {
        let e = self.extend.clone().unwrap_or_default();
        ConfigFile {
            title: self.title.clone(),
            extend: Some(Extend {
                use_default: e.use_default,
                path: e.path,
                disabled_rules: e.disabled_rules,
            }),
            rules: self.rules.clone(),
            allowlist: self.allowlist.clone(),
            allowlists: self.allowlists.clone(),
            ..ConfigFile::default()
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn scan_extend_keeps_builtins_unless_told() {
        let s: super::ScanSection =
            toml::from_str("[extend]\ndisabledRules = [\"jwt\"]\n").unwrap();
        let f = s.to_config_file();
        let e = f.extend.unwrap();
        assert!(e.use_default);
        assert_eq!(e.disabled_rules, vec!["jwt".to_string()]);
        let s: super::ScanSection = toml::from_str("[extend]\nuseDefault = false\n").unwrap();
        assert!(!s.to_config_file().extend.unwrap().use_default);
    }
}
