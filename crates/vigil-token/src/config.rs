//! The `[token]` section of `vigil.toml` and how it becomes a key ring and a policy
//! ([`TokenSettings`]), with every problem naming where it was written: a `vigil.toml` key and
//! its line, or a flag.
//!
//! ```toml
//! [token]
//! secret_env = "MCP_JWT_SECRET"                    # current HMAC secret (default)
//! previous_secret_env = "MCP_JWT_SECRET_PREVIOUS"  # still accepted during a rotation (default)
//! algorithms = ["HS256", "EdDSA"]                  # allow-list; default: the ring's algorithms
//! leeway = "30s"
//! max_ttl = "1d"
//! issuer = "vigil"
//! audiences = ["filesystem", "memory", "git", "vector"]
//! current = "ed-2026-11"                           # kid mint signs with; default: the secret
//!
//! [[token.keys]]
//! kid = "ed-2026-11"
//! public_key = "keys/ed-2026-11.pub.pem"
//! private_key = "keys/ed-2026-11.pem"              # only where tokens are minted
//!
//! [token.jwks]
//! url = "https://auth.example/.well-known/jwks.json"   # or file = "keys/jwks.json"
//! ```

use crate::jwks::{Jwks, JwksError, JwksSource};
use crate::key::{parse_alg, Key, KeyError, UnknownAlgorithm};
use crate::keyring::{CurrentError, KeyRing};
use crate::verify::Policy;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use vigil_core::{duration, Config, ConfigError, Origin, Section};
use vigil_env::{EnvFileError, Lookup};

/// Default variable holding the current HMAC secret.
pub const DEFAULT_SECRET_ENV: &str = "MCP_JWT_SECRET";
/// Default variable holding the previous HMAC secret.
pub const DEFAULT_PREVIOUS_ENV: &str = "MCP_JWT_SECRET_PREVIOUS";
/// The design's policy ceiling for `max_ttl`: one day.
pub const POLICY_MAX_TTL: u64 = 86_400;

/// `[token]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSection {
    /// Variable holding the current HMAC secret.
    pub secret_env: Option<String>,
    /// Variable holding the previous HMAC secret.
    pub previous_secret_env: Option<String>,
    /// HMAC algorithm of the secrets (default HS256).
    pub secret_alg: Option<String>,
    /// Allow-list of algorithms.
    pub algorithms: Option<Vec<String>>,
    /// Clock skew tolerated.
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub leeway: Option<Duration>,
    /// Longest token lifetime minted or accepted.
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub max_ttl: Option<Duration>,
    /// Issuer set on mint and required on verify.
    pub issuer: Option<String>,
    /// Audiences accepted on verify (and allowed on mint).
    pub audiences: Option<Vec<String>>,
    /// `kid` (or label) of the key mint signs with.
    pub current: Option<String>,
    /// Largest token accepted, in bytes.
    pub max_token_bytes: Option<usize>,
    /// Asymmetric keys.
    #[serde(default)]
    pub keys: Vec<KeySection>,
    /// A JWKS to verify against.
    pub jwks: Option<JwksSection>,
    /// Environment names treated as production by `check-config` (default: names containing
    /// `prod`).
    pub production: Option<Vec<String>>,
    /// Variables that switch authentication off (default `MCP_DEV_BYPASS`).
    pub dev_bypass: Option<Vec<String>>,
}

/// `[[token.keys]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySection {
    /// Key id.
    pub kid: Option<String>,
    /// Algorithm (inferred from the private key when omitted).
    pub alg: Option<String>,
    /// PEM public key.
    pub public_key: Option<PathBuf>,
    /// PEM private key.
    pub private_key: Option<PathBuf>,
}

/// `[token.jwks]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksSection {
    /// A local JWKS file.
    pub file: Option<PathBuf>,
    /// A JWKS URL.
    pub url: Option<String>,
    /// Cache file for the URL (default `.vigil/jwks-cache.json`).
    pub cache: Option<PathBuf>,
    /// How long the cached copy is used (default 10 minutes).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub cache_ttl: Option<Duration>,
    /// Minimum time between refreshes triggered by unknown `kid`s (default 1 minute).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub refresh_interval: Option<Duration>,
}

impl Section for TokenSection {
    const NAME: &'static str = "token";
}

/// What is wrong with one setting (a `[token]` key, a flag, or what they point at). Never
/// holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// `none` in the allow-list.
    #[error("`none` can never be allowed")]
    AlgNone,
    /// An issuer or audience holding a secret's value: written into tokens, which whoever
    /// holds one reads, and printed by `verify` (tester 155).
    #[error("holds the value of a secret (a signing key or a variable named as a secret); a token's issuer and audiences are readable by whoever holds it")]
    HoldsSecret,
    /// An algorithm name JOSE does not know.
    #[error(transparent)]
    Algorithm(#[from] UnknownAlgorithm),
    /// A key file or secret that is not a usable key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A JWKS that cannot be loaded.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// `[token] current` names no key that can sign.
    #[error(transparent)]
    Current(#[from] CurrentError),
    /// A `[[token.keys]]` entry without a file.
    #[error("give public_key, private_key or both")]
    NoKeyFile,
    /// The previous secret equals the current one: the rotation did not change the secret (as
    /// `gateway check` and `check-config` also refuse).
    #[error("{previous} equals {current} (the rotation did not change the secret; unset {previous} or rotate again)")]
    SamePrevious {
        /// The previous secret's variable.
        previous: String,
        /// The current secret's variable.
        current: String,
    },
    /// `[token.jwks]` with neither or both of `file` and `url`.
    #[error("give exactly one of file or url")]
    JwksSource,
    /// A `--key-file` that is neither PEM nor text.
    #[error("{}: neither PEM nor a text secret", path.display())]
    NotAKey {
        /// The file.
        path: PathBuf,
    },
    /// A duration that does not parse.
    #[error("{0}")]
    Duration(vigil_core::duration::DurationError),
    /// An audience outside `[token] audiences`.
    #[error("`{audience}` is not one of the configured audiences ({})", allowed.join(", "))]
    Audience {
        /// The one asked for.
        audience: String,
        /// The configured ones.
        allowed: Vec<String>,
    },
    /// A claim that is not `KEY=VALUE`.
    #[error("`{0}` is not KEY=VALUE")]
    Claim(String),
    /// A `[token]` variable name (`secret_env`, `previous_secret_env`, `dev_bypass`) or
    /// `--secret-env` that is not one, or that looks like the secret itself; never quoted.
    #[error("{0}")]
    VariableName(NameProblem),
    /// A time that is neither seconds nor RFC 3339.
    #[error("`{0}` is neither seconds since the epoch nor an RFC 3339 time")]
    Time(String),
}

/// Why a setting that names an environment variable does not hold a usable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// Empty, too long, or with characters other than ASCII letters, digits and `_`.
    #[error("not an environment variable name (ASCII letters, digits and `_`, not starting with a digit, at most 128)")]
    NotAName,
    /// Mixed-case letters and digits, long: the secret was written where its variable's name
    /// belongs.
    #[error("looks like a secret, not the name of the variable holding it (write the variable's name, e.g. MCP_JWT_SECRET)")]
    LooksLikeASecret,
}

/// Checks that `name` can name an environment variable and is not a secret put in its place.
pub fn check_variable_name(name: &str) -> Result<(), NameProblem> {
    let b = name.as_bytes();
    if b.is_empty()
        || b.len() > 128
        || b[0].is_ascii_digit()
        || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return Err(NameProblem::NotAName);
    }
    let has = |f: fn(&u8) -> bool| b.iter().any(f);
    if b.len() >= 16
        && has(u8::is_ascii_lowercase)
        && has(u8::is_ascii_uppercase)
        && has(u8::is_ascii_digit)
    {
        return Err(NameProblem::LooksLikeASecret);
    }
    Ok(())
}

/// A problem with the token configuration: `vigil.toml`, an `--env-file`, one setting (with
/// where it was written), or a ring that cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `vigil.toml` itself: unreadable, not TOML, an unknown key, a wrong type, an unset
    /// `${VAR}`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An `--env-file` that cannot be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// One setting.
    #[error("{origin}: {error}")]
    Invalid {
        /// Where it was written.
        origin: Origin,
        /// What is wrong.
        error: Box<Invalid>,
    },
    /// No key at all.
    #[error("no key: set {var} (or use --secret-env, --key-file, [token] keys or [token] jwks)")]
    NoKey {
        /// The variable that would hold the secret.
        var: String,
    },
}

impl TokenError {
    /// Where the problem is, when it is one setting, one file or one variable.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            TokenError::Config(_) => None,
            TokenError::EnvFile(e) => Some(e.origin()),
            TokenError::Invalid { origin, .. } => Some(origin.clone()),
            TokenError::NoKey { var } => Some(Origin::EnvVar(var.clone())),
        }
    }
}

/// Command-line choices that override `[token]`.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--secret-env NAME`.
    pub secret_env: Option<String>,
    /// `--key-file PATH` (a private key to mint with, or a public key to verify with).
    pub key_file: Option<PathBuf>,
    /// `--alg`.
    pub alg: Option<String>,
    /// `--kid`.
    pub kid: Option<String>,
}

impl TokenSection {
    /// The variable of the current secret.
    pub fn secret_env(&self) -> &str {
        self.secret_env.as_deref().unwrap_or(DEFAULT_SECRET_ENV)
    }

    /// The variable of the previous secret.
    pub fn previous_env(&self) -> &str {
        self.previous_secret_env
            .as_deref()
            .unwrap_or(DEFAULT_PREVIOUS_ENV)
    }

    /// The bypass variables.
    pub fn dev_bypass(&self) -> Vec<String> {
        self.dev_bypass
            .clone()
            .unwrap_or_else(|| vec!["MCP_DEV_BYPASS".into()])
    }
}

/// `[token]` resolved: the section (`${VAR}` read from the `--env-file`s first), the variables
/// secrets are read from, and the folder key paths start from.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `[token]`.
    pub section: TokenSection,
    /// `--env-file`s, then the process environment.
    pub env: Lookup,
    /// Where relative key paths start (the folder of `vigil.toml`).
    pub base: PathBuf,
    config: Config,
}

impl TokenSettings {
    /// Reads the `env_files` and `[token]` of `config`.
    pub fn load(config: &Config, env_files: &[PathBuf]) -> Result<TokenSettings, TokenError> {
        let env = Lookup::load(env_files)?;
        let section: TokenSection = config.read(&|var| env.get(var))?;
        let mut names: Vec<(String, &str)> = Vec::new();
        if let Some(n) = &section.secret_env {
            names.push(("token.secret_env".into(), n));
        }
        if let Some(n) = &section.previous_secret_env {
            names.push(("token.previous_secret_env".into(), n));
        }
        for (i, n) in section.dev_bypass.iter().flatten().enumerate() {
            names.push((format!("token.dev_bypass[{i}]"), n));
        }
        for (key, name) in names {
            if let Err(problem) = check_variable_name(name) {
                return Err(TokenError::Invalid {
                    origin: config.origin(&key),
                    error: Box::new(Invalid::VariableName(problem)),
                });
            }
        }
        Ok(TokenSettings {
            section,
            env,
            base: config.base_dir().to_path_buf(),
            config: config.clone(),
        })
    }

    fn at(&self, key: &str) -> impl FnOnce(Invalid) -> TokenError {
        let origin = self.config.origin(key);
        move |error| TokenError::Invalid {
            origin,
            error: Box::new(error),
        }
    }

    /// The policy `[token]` describes.
    pub fn policy(&self) -> Result<Policy, TokenError> {
        let s = &self.section;
        let mut p = Policy::default();
        if let Some(list) = &s.algorithms {
            for (i, a) in list.iter().enumerate() {
                let at = self.at(&format!("token.algorithms[{i}]"));
                if a.eq_ignore_ascii_case("none") {
                    return Err(at(Invalid::AlgNone));
                }
                p.algorithms.push(parse_alg(a).map_err(|e| at(e.into()))?);
            }
        }
        if let Some(l) = s.leeway {
            p.leeway = l.as_secs();
        }
        if let Some(t) = s.max_ttl {
            p.max_ttl = t.as_secs();
        }
        p.issuer = s.issuer.clone();
        p.audiences = s.audiences.clone().unwrap_or_default();
        if let Some(m) = s.max_token_bytes {
            p.max_token_bytes = m;
        }
        Ok(p)
    }

    /// [`crate::compliance::refuse_weak`] on `ring`, each weak secret named where its value was
    /// written: `.env.gateway:3: MCP_JWT_SECRET` when an `--env-file` line bound it, else the
    /// variable or key file as before.
    pub fn refuse_weak(
        &self,
        ring: &KeyRing,
        allow_weak: bool,
    ) -> Result<Vec<crate::compliance::WeakSecret>, crate::compliance::WeakSecret> {
        match crate::compliance::refuse_weak(ring.keys(), allow_weak) {
            Ok(weak) => Ok(weak.into_iter().map(|w| self.placed(w)).collect()),
            Err(w) => Err(self.placed(w)),
        }
    }

    /// `w` named by the `--env-file` line that bound its variable, when one did.
    fn placed(&self, mut w: crate::compliance::WeakSecret) -> crate::compliance::WeakSecret {
        if let o @ Origin::EnvFile { .. } = self.env.origin(&w.source_name) {
            w.source_name = o.to_string();
        }
        w
    }

    /// The key ring and policy for mint, verify and jwks: [`TokenSettings::ring`], refused when
    /// it holds no key at all.
    pub fn keys(&self, o: &Overrides) -> Result<(KeyRing, Policy), TokenError> {
        let ring = self.ring(o)?;
        let policy = self.policy()?;
        // `ring` registered every secret it read: none may be the issuer or an audience.
        if let Some(iss) = &policy.issuer {
            if vigil_core::redact::holds_secret_value(iss) {
                return Err(self.at("token.issuer")(Invalid::HoldsSecret));
            }
        }
        for (i, a) in policy.audiences.iter().enumerate() {
            if vigil_core::redact::holds_secret_value(a) {
                return Err(self.at(&format!("token.audiences[{i}]"))(
                    Invalid::HoldsSecret,
                ));
            }
        }
        if ring.keys().is_empty() && ring.jwks().is_none() {
            return Err(TokenError::NoKey {
                var: o
                    .secret_env
                    .clone()
                    .unwrap_or_else(|| self.section.secret_env().to_owned()),
            });
        }
        Ok((ring, policy))
    }

    /// Builds the key ring: `--key-file` alone when given; otherwise the current and previous
    /// secrets (from the `--env-file`s, then the environment; both from one source: the file
    /// that binds either, else the environment), `[[token.keys]]` and
    /// `[token.jwks]`. Paths are relative to [`TokenSettings::base`]. Every secret found is
    /// registered for log redaction.
    pub fn ring(&self, o: &Overrides) -> Result<KeyRing, TokenError> {
        let s = &self.section;
        let base = &self.base;
        let flag = |name: &str| {
            let origin = Origin::Flag(name.to_owned());
            move |error| TokenError::Invalid {
                origin,
                error: Box::new(error),
            }
        };
        let mut ring = KeyRing::new();
        let secret_alg = match (o.alg.as_deref(), s.secret_alg.as_deref()) {
            (Some(a), _) => parse_alg(a).map_err(|e| flag("--alg")(e.into()))?,
            (None, Some(a)) => parse_alg(a).map_err(|e| self.at("token.secret_alg")(e.into()))?,
            (None, None) => jsonwebtoken::Algorithm::HS256,
        };
        if let Some(file) = &o.key_file {
            let bytes = std::fs::read(file).map_err(|source| {
                flag("--key-file")(Invalid::Key(KeyError::Read {
                    path: file.clone(),
                    source,
                }))
            })?;
            let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
            let alg = match o.alg.as_deref() {
                Some(a) => Some(parse_alg(a).map_err(|e| flag("--alg")(e.into()))?),
                None => None,
            };
            let key = if !is_pem {
                // A secret file (one line, e.g. from `openssl rand -base64 32 > jwt.key`): HMAC.
                let text = String::from_utf8(bytes)
                    .map_err(|_| flag("--key-file")(Invalid::NotAKey { path: file.clone() }))?;
                let secret = text.trim_end_matches(['\n', '\r']);
                vigil_core::redact::register(secret);
                let mut k = Key::hmac(
                    &file.display().to_string(),
                    secret.as_bytes(),
                    alg.unwrap_or(secret_alg),
                )
                .map_err(|e| flag("--key-file")(e.into()))?;
                k.kid = o.kid.clone();
                k
            } else {
                // A private key can mint and verify; a public key (with --alg) only verify.
                match Key::from_pem_files(o.kid.clone(), alg, None, Some(file)) {
                    Ok(k) => k,
                    Err(e) if alg.is_none() => return Err(flag("--key-file")(e.into())),
                    Err(_) => Key::from_pem_files(o.kid.clone(), alg, Some(file), None)
                        .map_err(|e| flag("--key-file")(e.into()))?,
                }
            };
            ring.push(key);
            return Ok(ring);
        }
        if let Some(name) = &o.secret_env {
            check_variable_name(name)
                .map_err(|p| flag("--secret-env")(Invalid::VariableName(p)))?;
        }
        let current_env = o.secret_env.as_deref().unwrap_or(s.secret_env());
        // Both come from one source (`Lookup::get_together`).
        let together = |env: &str| {
            self.env
                .get_together(env, &[current_env, s.previous_env()])
                .filter(|v| !v.is_empty())
        };
        if let (Some(c), Some(p)) = (together(current_env), together(s.previous_env())) {
            if c == p {
                // Named where it was read: the `--env-file` line, else the process variable.
                return Err(TokenError::Invalid {
                    origin: self.env.origin(s.previous_env()),
                    error: Box::new(Invalid::SamePrevious {
                        previous: s.previous_env().to_owned(),
                        current: current_env.to_owned(),
                    }),
                });
            }
        }
        for (env, is_current) in [(current_env, true), (s.previous_env(), false)] {
            let Some(value) = together(env) else {
                continue;
            };
            vigil_core::redact::register(&value);
            let mut key = Key::hmac(env, value.as_bytes(), secret_alg)
                .map_err(|e| self.at("token.secret_alg")(e.into()))?;
            if !is_current {
                // The previous secret verifies only; mint must never sign with it.
                key = key.verify_only();
            }
            ring.push(key);
        }
        for (i, k) in s.keys.iter().enumerate() {
            let at = |f: &str| self.at(&format!("token.keys[{i}].{f}"));
            let alg = match &k.alg {
                Some(a) => Some(parse_alg(a).map_err(|e| at("alg")(e.into()))?),
                None => None,
            };
            if k.public_key.is_none() && k.private_key.is_none() {
                return Err(self.at(&format!("token.keys[{i}]"))(Invalid::NoKeyFile));
            }
            let public = k.public_key.as_ref().map(|p| base.join(p));
            let private = k.private_key.as_ref().map(|p| base.join(p));
            let key =
                Key::from_pem_files(k.kid.clone(), alg, public.as_deref(), private.as_deref())
                    .map_err(|e| {
                        at(if k.private_key.is_some() {
                            "private_key"
                        } else {
                            "public_key"
                        })(e.into())
                    })?;
            ring.push(key);
        }
        if let Some(j) = &s.jwks {
            let refresh = j.refresh_interval.unwrap_or(Duration::from_secs(60));
            let source = match (&j.file, &j.url) {
                (Some(f), None) => JwksSource::File(base.join(f)),
                (None, Some(u)) => JwksSource::Url {
                    url: u.clone(),
                    cache: Some(
                        base.join(
                            j.cache
                                .clone()
                                .unwrap_or_else(|| PathBuf::from(".vigil/jwks-cache.json")),
                        ),
                    ),
                    cache_ttl: j.cache_ttl.unwrap_or(Duration::from_secs(600)),
                },
                _ => return Err(self.at("token.jwks")(Invalid::JwksSource)),
            };
            let key = if j.url.is_some() {
                "token.jwks.url"
            } else {
                "token.jwks.file"
            };
            ring.set_jwks(Jwks::load(source, refresh).map_err(|e| self.at(key)(e.into()))?);
        }
        if let Some(c) = &s.current {
            ring.set_current(c)
                .map_err(|e| self.at("token.current")(e.into()))?;
        }
        Ok(ring)
    }
}

/// Parses a duration given by `flag` (`--ttl`, `--leeway`).
pub fn flag_duration(flag: &str, text: &str) -> Result<Duration, TokenError> {
    duration::parse(text).map_err(|m| TokenError::Invalid {
        origin: Origin::Flag(flag.to_owned()),
        error: Box::new(Invalid::Duration(m)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> TokenSettings {
        let config = Config::parse("vigil.toml".into(), text.to_owned()).unwrap();
        TokenSettings::load(&config, &[]).unwrap()
    }

    #[test]
    fn each_error_says_where_it_was_written() {
        let e = settings("[token]\n\nalgorithms = [\"HS256\", \"none\"]\n")
            .policy()
            .unwrap_err();
        assert_eq!(
            e.origin(),
            Some(Origin::ConfigKey {
                path: "vigil.toml".into(),
                line: Some(3),
                key: "token.algorithms[1]".into()
            })
        );
        assert_eq!(
            e.to_string(),
            "vigil.toml:3: token.algorithms[1]: `none` can never be allowed"
        );
        let s = settings("[token]\nsecret_env = \"VIGIL_TEST_SURELY_UNSET_SECRET\"\n");
        let o = Overrides {
            alg: Some("HS1".into()),
            ..Overrides::default()
        };
        assert_eq!(
            s.ring(&o).unwrap_err().origin(),
            Some(Origin::Flag("--alg".into()))
        );
        let e = s.keys(&Overrides::default()).unwrap_err();
        assert_eq!(
            e.origin(),
            Some(Origin::EnvVar("VIGIL_TEST_SURELY_UNSET_SECRET".into()))
        );
        assert!(e
            .to_string()
            .starts_with("no key: set VIGIL_TEST_SURELY_UNSET_SECRET"));
    }
}
