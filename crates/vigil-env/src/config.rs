//! The `[env]` section of `vigil.toml`.
//!
//! ```toml
//! [env]
//! files = ["**/.env*", "**/*.env"]       # which files belong to the project (the default)
//! tokens = ["ORCH_AUTH_TOKEN", "BOT_AUTH_TOKEN"]   # what `vigil env rotate` rotates by default
//! length = 32
//! charset = "alnum"                      # alnum, hex, base64url, lower, custom:CHARS
//! placeholder = "change-me"              # what template files get instead of real values
//! production = ["production", "prod"]    # environment names held to production rules
//!
//! [env.dual.WEBHOOK_SECRET]              # names of a dual secret (the defaults are found alone)
//! current = "WEBHOOK_SECRET_DEFAULT"
//! previous = "WEBHOOK_SECRET_BACKUP"
//!
//! [env.environments]                     # which environment a file configures, by glob
//! production = ["deploy/live/*.env"]     # (the file name decides otherwise: see `environment`)
//! qa = [".env.qa"]                       # a name of its own
//! default = [".env.docker"]              # a service of the default environment
//!
//! [env.schedules]                        # rotation schedules, by name or glob
//! "MCP_JWT_SECRET" = "monthly"
//! "*_BOT_TOKEN" = "quarterly"
//! "LEGACY_*" = "45 days"
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

/// `[env]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// Globs of the project's env files.
    pub files: Option<Vec<String>>,
    /// Tokens `rotate` rotates when `--tokens` is not given.
    pub tokens: Option<Vec<String>>,
    /// Length of generated values.
    pub length: Option<usize>,
    /// Alphabet of generated values.
    pub charset: Option<String>,
    /// Value template files get.
    pub placeholder: Option<String>,
    /// Environment names held to production rules besides `production` itself (default: names
    /// containing `prod`).
    pub production: Option<Vec<String>>,
    /// Extra names of flags that switch authentication off.
    pub dev_bypass: Option<Vec<String>>,
    /// Environment name → globs of the files that configure it (before the file-name rules of
    /// [`crate::environment`]). Each name is also an environment word in file names.
    #[serde(default)]
    pub environments: BTreeMap<String, Vec<String>>,
    /// Dual secrets: base name → the two variable names.
    #[serde(default)]
    pub dual: BTreeMap<String, DualNames>,
    /// Rotation schedules: name or glob → `monthly`, `quarterly`, `annually`, `weekly`, `N days`.
    #[serde(default)]
    pub schedules: BTreeMap<String, String>,
}

/// The two variables of a dual secret.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DualNames {
    /// The value new requests are signed with (`WEBHOOK_SECRET_DEFAULT`, `MCP_JWT_SECRET`).
    pub current: String,
    /// The value still accepted while traffic moves (`WEBHOOK_SECRET_BACKUP`,
    /// `MCP_JWT_SECRET_PREVIOUS`).
    pub previous: String,
}

/// Whether `environment` is production, given the names a configuration lists (`None`: no
/// list): the canonical `production` always is; then the listed names, or without a list every
/// name containing `prod`.
pub fn is_production(environment: &str, listed: Option<&[String]>) -> bool {
    environment == crate::environment::PRODUCTION
        || match listed {
            Some(list) => list.iter().any(|p| p == environment),
            None => environment.to_ascii_lowercase().contains("prod"),
        }
}

/// Default env-file globs.
pub const DEFAULT_FILES: &[&str] = &["**/.env*", "**/*.env"];
/// Default length of generated values of secrets that are not signing keys (see
/// [`crate::generate::Kind`] for each kind's own default).
pub const DEFAULT_LENGTH: usize = 48;
/// Default placeholder for template files.
pub const DEFAULT_PLACEHOLDER: &str = "change-me";

impl EnvSection {
    /// The env-file globs.
    pub fn file_globs(&self) -> Vec<String> {
        self.files
            .clone()
            .unwrap_or_else(|| DEFAULT_FILES.iter().map(|s| s.to_string()).collect())
    }

    /// The placeholder for templates.
    pub fn placeholder(&self) -> &str {
        self.placeholder.as_deref().unwrap_or(DEFAULT_PLACEHOLDER)
    }

    /// Whether an environment name is production: the model's `production` always is (a list
    /// can add names, never take it away, so `production = []` cannot switch off the production
    /// checks); then the names `[env] production` lists, or, without a list, every name
    /// containing `prod`. `token check-config` applies the same rule.
    pub fn is_production(&self, environment: &str) -> bool {
        is_production(environment, self.production.as_deref())
    }
}
