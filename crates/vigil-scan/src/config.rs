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
    /// gitleaks `title`.
    pub title: Option<String>,
    /// gitleaks `[extend]`; in `vigil.toml` the built-in rules are kept unless
    /// `extend.useDefault = false` is written.
    pub extend: Option<Extend>,
    /// Extra rules, in gitleaks's format.
    pub rules: Vec<RuleSpec>,
    /// Global allowlist.
    pub allowlist: Option<AllowlistSpec>,
    /// Global allowlists.
    pub allowlists: Vec<AllowlistSpec>,
}

/// A size written as a number of bytes or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    /// Bytes.
    Bytes(u64),
    /// `10MiB`, `500KB`, `1G`...
    Text(String),
}

impl ScanSection {
    /// The rule configuration this section describes. Built-in rules stay on unless the section
    /// says `[scan.extend] useDefault = false`.
    pub fn to_config_file(&self) -> ConfigFile {
        let mut extend = self.extend.clone().unwrap_or(Extend {
            use_default: true,
            ..Default::default()
        });
        if self.extend.is_none() {
            extend.use_default = true;
        }
        ConfigFile {
            title: self.title.clone(),
            extend: Some(extend),
            rules: self.rules.clone(),
            allowlist: self.allowlist.clone(),
            allowlists: self.allowlists.clone(),
        }
    }
}

/// Parses `10MiB`, `10M`, `500KB`, `1g`, `4096` into bytes (K/M/G are powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a size (examples: 10MiB, 500KB, 4096)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{t}` has an unknown unit (use B, KiB, MiB or GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{t}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }
}
