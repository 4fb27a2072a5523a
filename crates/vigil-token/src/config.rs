//! The `[token]` section of `vigil.toml` and how it becomes a key ring and a policy.
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

use crate::jwks::{Jwks, JwksSource};
use crate::keyring::{parse_alg, Key, KeyRing};
use crate::verify::Policy;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_core::duration;

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

/// A problem in `[token]` (or in what it points at), with the dotted key it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    /// Dotted key, e.g. `token.keys[0].public_key`, or a command-line flag such as `--key-file`.
    pub key: String,
    /// What is wrong (never a secret).
    pub message: String,
}

fn problem(key: impl Into<String>, message: impl ToString) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        message: message.to_string(),
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

    /// The policy `[token]` describes.
    pub fn policy(&self) -> Result<Policy, ConfigProblem> {
        let mut p = Policy::default();
        if let Some(list) = &self.algorithms {
            for (i, a) in list.iter().enumerate() {
                if a.eq_ignore_ascii_case("none") {
                    return Err(problem(
                        format!("token.algorithms[{i}]"),
                        "`none` can never be allowed",
                    ));
                }
                p.algorithms
                    .push(parse_alg(a).map_err(|m| problem(format!("token.algorithms[{i}]"), m))?);
            }
        }
        if let Some(l) = self.leeway {
            p.leeway = l.as_secs();
        }
        if let Some(t) = self.max_ttl {
            p.max_ttl = t.as_secs();
        }
        p.issuer = self.issuer.clone();
        p.audiences = self.audiences.clone().unwrap_or_default();
        if let Some(m) = self.max_token_bytes {
            p.max_token_bytes = m;
        }
        Ok(p)
    }

    /// Builds the key ring: `--key-file` alone when given; otherwise the current and previous
    /// secrets (from `lookup`), `[[token.keys]]` and `[token.jwks]`. Paths are relative to `base`.
    /// Every secret found is registered for log redaction.
    pub fn ring(
        &self,
        base: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
        o: &Overrides,
    ) -> Result<KeyRing, ConfigProblem> {
        let mut ring = KeyRing::new();
        let secret_alg = match o.alg.as_deref().or(self.secret_alg.as_deref()) {
            Some(a) => parse_alg(a).map_err(|m| {
                problem(
                    if o.alg.is_some() {
                        "--alg"
                    } else {
                        "token.secret_alg"
                    },
                    m,
                )
            })?,
            None => jsonwebtoken::Algorithm::HS256,
        };
        if let Some(file) = &o.key_file {
            let bytes = std::fs::read(file).map_err(|e| {
                problem(
                    "--key-file",
                    format!("{}: cannot read key: {e}", file.display()),
                )
            })?;
            let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
            let alg = match o.alg.as_deref() {
                Some(a) => Some(parse_alg(a).map_err(|m| problem("--alg", m))?),
                None => None,
            };
            let key = if !is_pem {
                // A secret file (one line, e.g. from `openssl rand -base64 32 > jwt.key`): HMAC.
                let text = String::from_utf8(bytes).map_err(|_| {
                    problem(
                        "--key-file",
                        format!("{}: neither PEM nor a text secret", file.display()),
                    )
                })?;
                let secret = text.trim_end_matches(['\n', '\r']);
                vigil_core::redact::register(secret);
                let mut k = Key::hmac(
                    &file.display().to_string(),
                    secret.as_bytes(),
                    alg.unwrap_or(secret_alg),
                )
                .map_err(|e| problem("--key-file", e))?;
                k.kid = o.kid.clone();
                k
            } else {
                // A private key can mint and verify; a public key (with --alg) only verify.
                match Key::from_pem_files(o.kid.clone(), alg, None, Some(file)) {
                    Ok(k) => k,
                    Err(e) if alg.is_none() => return Err(problem("--key-file", e)),
                    Err(_) => Key::from_pem_files(o.kid.clone(), alg, Some(file), None)
                        .map_err(|e| problem("--key-file", e))?,
                }
            };
            ring.push(key);
            return Ok(ring);
        }
        let current_env = o.secret_env.as_deref().unwrap_or(self.secret_env());
        for (env, is_current) in [(current_env, true), (self.previous_env(), false)] {
            let Some(value) = lookup(env).filter(|v| !v.is_empty()) else {
                continue;
            };
            vigil_core::redact::register(&value);
            let mut key = Key::hmac(env, value.as_bytes(), secret_alg)
                .map_err(|e| problem("token.secret_alg", e))?;
            if !is_current {
                // The previous secret verifies only; mint must never sign with it.
                key = key.verify_only();
            }
            ring.push(key);
        }
        for (i, k) in self.keys.iter().enumerate() {
            let at = |f: &str| format!("token.keys[{i}].{f}");
            let alg = match &k.alg {
                Some(a) => Some(parse_alg(a).map_err(|m| problem(at("alg"), m))?),
                None => None,
            };
            if k.public_key.is_none() && k.private_key.is_none() {
                return Err(problem(
                    format!("token.keys[{i}]"),
                    "give public_key, private_key or both",
                ));
            }
            let public = k.public_key.as_ref().map(|p| base.join(p));
            let private = k.private_key.as_ref().map(|p| base.join(p));
            let key =
                Key::from_pem_files(k.kid.clone(), alg, public.as_deref(), private.as_deref())
                    .map_err(|e| {
                        problem(
                            at(if k.private_key.is_some() {
                                "private_key"
                            } else {
                                "public_key"
                            }),
                            e,
                        )
                    })?;
            ring.push(key);
        }
        if let Some(j) = &self.jwks {
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
                _ => return Err(problem("token.jwks", "give exactly one of file or url")),
            };
            let key = if j.url.is_some() {
                "token.jwks.url"
            } else {
                "token.jwks.file"
            };
            ring.set_jwks(Jwks::load(source, refresh).map_err(|e| problem(key, e))?);
        }
        if let Some(c) = &self.current {
            ring.set_current(c)
                .map_err(|m| problem("token.current", m))?;
        }
        Ok(ring)
    }
}

/// Reads `NAME` from the given `.env` files (the first that binds it wins), then from the
/// process environment.
pub fn env_lookup(files: &[PathBuf]) -> Result<impl Fn(&str) -> Option<String>, ConfigProblem> {
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| problem("--env-file", format!("{}: {e}", f.display())))?;
        let doc = vigil_env::Document::parse(&text)
            .map_err(|e| problem("--env-file", format!("{}:{}", f.display(), e)))?;
        docs.push(doc);
    }
    Ok(move |name: &str| {
        docs.iter()
            .find_map(|d| d.get(name).map(str::to_owned))
            .or_else(|| std::env::var(name).ok())
    })
}
