//! The `[lint]` section of `vigil.toml`, registered by this crate, and the settings resolved
//! from it: rules switched off, severities, hosts trusted like loopback, bounds, Discord's
//! declared intents and permissions.
//!
//! ```toml
//! [lint]
//! disable = ["review-overdue"]              # rule ids switched off
//! fail_on = "warning"                       # default --severity
//! allowed_hosts = ["mcp.internal"]          # plain HTTP and no auth accepted, like loopback
//! exclude = ["fixtures/**"]                 # globs not linted when walking folders
//! max_description = 1024                    # longest tool description accepted
//! review_interval = "90d"                   # a manifest's last_reviewed older than this
//! internal_services = ["redis", "tts"]      # compose services that must not publish ports
//!
//! [lint.severity]                           # per rule: error, warning, note or off
//! "unpinned-package" = "error"
//!
//! [lint.discord]
//! intents = ["guilds", "guild_voice_states"]
//! permissions = ["view_channel", "send_messages", "connect", "speak", "use_application_commands"]
//! ```

use crate::discord::{intent_bit, permission_bit, DEFAULT_INTENTS, DEFAULT_PERMISSIONS};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use vigil_core::{Config, Origin};
use vigil_report::Severity;

/// `[lint]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSection {
    /// Rule ids switched off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Severity per rule id: `error`, `warning`, `note` or `off`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// The lowest severity that fails the run (exit 1) unless `--severity` says otherwise.
    pub fail_on: Option<String>,
    /// Hosts treated like loopback: plain HTTP and no authentication are accepted there.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Globs of paths not linted when walking folders.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The longest tool description accepted, in characters.
    pub max_description: Option<usize>,
    /// How old a manifest's `last_reviewed` may be (`90d`, `3 months`).
    pub review_interval: Option<String>,
    /// Compose service names (or image names) that are internal and must not publish ports on
    /// every interface; replaces the default list.
    pub internal_services: Option<Vec<String>>,
    /// `[lint.discord]`.
    #[serde(default)]
    pub discord: DiscordSection,
}

/// `[lint.discord]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSection {
    /// Gateway intents the bot declares it needs (default `guilds`, `guild_voice_states`).
    pub intents: Option<Vec<String>>,
    /// Permissions the bot declares it needs (default: view channel, send messages, connect,
    /// speak, use application commands, use voice activity).
    pub permissions: Option<Vec<String>>,
}

impl vigil_core::config::Section for LintSection {
    const NAME: &'static str = "lint";
}

/// Default longest tool description, in characters.
pub const DEFAULT_MAX_DESCRIPTION: usize = 2048;
/// Default review interval: quarterly, as the design's compliance checklist asks.
pub const DEFAULT_REVIEW_INTERVAL: Duration = Duration::from_secs(92 * 86_400);
/// Compose services (by service or image name) that are internal by default.
pub const DEFAULT_INTERNAL: &[&str] = &[
    "orchestrator",
    "tts",
    "stt",
    "mcp",
    "redis",
    "postgres",
    "postgresql",
    "qdrant",
    "mongo",
    "mysql",
    "mariadb",
    "memcached",
    "rabbitmq",
    "elasticsearch",
    "opensearch",
    "minio",
    "ollama",
    "vllm",
    "whisper",
    "piper",
    "llm",
    "valkey",
    "chroma",
    "weaviate",
    "milvus",
    "db",
    "cache",
];

/// The resolved settings every rule reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rule ids switched off.
    pub disabled: Vec<String>,
    /// Severity overrides.
    pub severity: BTreeMap<String, Severity>,
    /// The default failing threshold.
    pub fail_on: Severity,
    /// Hosts treated like loopback.
    pub allowed_hosts: Vec<String>,
    /// Globs not linted in walks.
    pub exclude: Vec<String>,
    /// Longest description.
    pub max_description: usize,
    /// Review interval.
    pub review_interval: Duration,
    /// Internal compose services.
    pub internal_services: Vec<String>,
    /// Declared Discord intents, as a bit set.
    pub intents: u64,
    /// Declared Discord permissions, as a bit set.
    pub permissions: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            disabled: Vec::new(),
            severity: BTreeMap::new(),
            fail_on: Severity::Warning,
            allowed_hosts: Vec::new(),
            exclude: Vec::new(),
            max_description: DEFAULT_MAX_DESCRIPTION,
            review_interval: DEFAULT_REVIEW_INTERVAL,
            internal_services: DEFAULT_INTERNAL.iter().map(|s| s.to_string()).collect(),
            intents: DEFAULT_INTENTS
                .iter()
                .filter_map(|n| intent_bit(n))
                .fold(0, |a, b| a | b),
            permissions: DEFAULT_PERMISSIONS
                .iter()
                .filter_map(|n| permission_bit(n))
                .fold(0, |a, b| a | b),
        }
    }
}

/// A `[lint]` value that is not valid, with the key and line it was written at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SettingsError {
    /// Where.
    pub origin: Origin,
    /// What is wrong (never the value of a secret: `[lint]` holds none).
    pub message: String,
}

/// Parses `error`, `warning`, `note`.
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Some(Severity::Error),
        "warning" | "warn" => Some(Severity::Warning),
        "note" | "info" => Some(Severity::Note),
        _ => None,
    }
}

impl Settings {
    /// Reads and checks `[lint]` of `config` (`${VAR}` through `lookup`).
    pub fn load(
        config: &Config,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let section: LintSection = config.read(lookup).map_err(|e| SettingsError {
            origin: match &e {
                vigil_core::ConfigError::Key {
                    path, line, key, ..
                } => Origin::ConfigKey {
                    path: path.clone(),
                    line: Some(*line),
                    key: key.clone(),
                },
                _ => Origin::ConfigKey {
                    path: config.path().to_owned(),
                    line: None,
                    key: "lint".into(),
                },
            },
            message: match &e {
                vigil_core::ConfigError::Key { message, .. } => message.clone(),
                other => other.to_string(),
            },
        })?;
        Self::resolve(&section, &|key| config.origin(key))
    }

    /// Checks a section; `origin` says where a key was written.
    pub fn resolve(
        s: &LintSection,
        origin: &dyn Fn(&str) -> Origin,
    ) -> Result<Settings, SettingsError> {
        let err = |key: String, message: String| SettingsError {
            origin: origin(&key),
            message,
        };
        let known = |id: &str| crate::rules::find(id).is_some();
        let mut out = Settings::default();
        for (i, id) in s.disable.iter().enumerate() {
            if !known(id) {
                return Err(err(
                    format!("lint.disable[{i}]"),
                    format!("unknown rule `{id}` (vigil lint --list-rules)"),
                ));
            }
            out.disabled.push(id.clone());
        }
        for (id, sev) in &s.severity {
            let key = format!("lint.severity.{id}");
            if !known(id) {
                return Err(err(
                    key,
                    format!("unknown rule `{id}` (vigil lint --list-rules)"),
                ));
            }
            if sev.eq_ignore_ascii_case("off") {
                out.disabled.push(id.clone());
            } else {
                let v = parse_severity(sev)
                    .ok_or_else(|| err(key, "write error, warning, note or off".into()))?;
                out.severity.insert(id.clone(), v);
            }
        }
        if let Some(f) = &s.fail_on {
            out.fail_on = parse_severity(f)
                .ok_or_else(|| err("lint.fail_on".into(), "write error, warning or note".into()))?;
        }
        out.allowed_hosts = s
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        out.exclude = s.exclude.clone();
        if let Some(m) = s.max_description {
            if m == 0 {
                return Err(err(
                    "lint.max_description".into(),
                    "must be at least 1".into(),
                ));
            }
            out.max_description = m;
        }
        if let Some(r) = &s.review_interval {
            out.review_interval = vigil_core::duration::parse(r)
                .map_err(|e| err("lint.review_interval".into(), e.to_string()))?;
        }
        if let Some(list) = &s.internal_services {
            out.internal_services = list.iter().map(|x| x.to_ascii_lowercase()).collect();
        }
        if let Some(list) = &s.discord.intents {
            out.intents = 0;
            for (i, n) in list.iter().enumerate() {
                out.intents |= intent_bit(n).ok_or_else(|| {
                    err(format!("lint.discord.intents[{i}]"), format!("unknown intent `{n}` (e.g. guilds, guild_voice_states, message_content)"))
                })?;
            }
        }
        if let Some(list) = &s.discord.permissions {
            out.permissions = 0;
            for (i, n) in list.iter().enumerate() {
                out.permissions |= permission_bit(n).ok_or_else(|| {
                    err(
                        format!("lint.discord.permissions[{i}]"),
                        format!("unknown permission `{n}` (e.g. send_messages, connect, speak)"),
                    )
                })?;
            }
        }
        Ok(out)
    }

    /// Whether a rule runs.
    pub fn enabled(&self, id: &str) -> bool {
        !self.disabled.iter().any(|d| d == id)
    }

    /// A rule's severity: the configured one, else its default.
    pub fn severity_of(&self, id: &str, default: Severity) -> Severity {
        self.severity.get(id).copied().unwrap_or(default)
    }

    /// Whether a host is loopback, a single-label name (a compose service such as `redis`, a
    /// container on the same network), or listed in `allowed_hosts`.
    pub fn is_trusted_host(&self, host: &str) -> bool {
        let h = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let single_label = !h.is_empty() && !h.contains('.') && !h.contains(':');
        single_label
            || h == "localhost"
            || h.ends_with(".localhost")
            || h == "::1"
            || h.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback())
            || self.allowed_hosts.iter().any(|a| a == &h)
    }
}
