//! Everything the gateway refuses before it serves, in one place: [`Prepared::new`] reads
//! `[gateway]` and `[token]` (the `--env-file`s first, then the environment), validates them
//! into [`Settings`] and a token [`Verifier`], and refuses an unsafe start: no `[gateway]`, no
//! key to verify tokens with, a weak secret (`--allow-weak-secret` only on loopback), an
//! unauthenticated route on a non-loopback listener (without `--allow-insecure-bind`).
//! `MCP_DEV_BYPASS` becomes a [`DevBypass`], which only this module can build and only for a
//! loopback listener. A [`crate::Gateway`] is built from a `Prepared` and nothing else, and the
//! SIGHUP reload goes through here too ([`Reload`]), so no caller can skip a refusal.

use crate::config::{GatewaySection, Settings, SettingsError};
use crate::secrets::{self, SecretsError};
use std::net::SocketAddr;
use std::path::PathBuf;
use vigil_core::{Config, ConfigError, Origin, Section};
use vigil_token::{TokenError, TokenSettings, Verifier};

/// The command-line choices that bear on a start.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--listen`: overrides `[gateway] listen`.
    pub listen: Option<String>,
    /// `--allow-insecure-bind`: serve unauthenticated routes on a non-loopback address.
    pub allow_insecure_bind: bool,
    /// `--allow-weak-secret`: accept a weak secret, on a loopback address only.
    pub allow_weak_secret: bool,
}

/// Requests without a valid token are let through (`MCP_DEV_BYPASS`). Only [`Prepared::new`]
/// builds one, and only when the gateway listens on loopback.
#[derive(Debug)]
pub struct DevBypass {
    variable: String,
    origin: Origin,
}

impl DevBypass {
    /// The variable that switched it on (`MCP_DEV_BYPASS`, or one of `[token] dev_bypass`).
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// Where it was set: an `--env-file` line or the process environment.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// Why the gateway does not start (or a reload is refused).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// `vigil.toml` itself, or `[gateway]` as written (an unknown key, a wrong type, an unset
    /// `${VAR}`).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `[token]`, an `--env-file`, or a key.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// No `[gateway]` at all.
    #[error("{}: no [gateway] section (add listen and [[gateway.routes]] with path, upstream, audience)", path.display())]
    NoSection {
        /// The configuration file.
        path: PathBuf,
    },
    /// A setting of `[gateway]` or `--listen`.
    #[error(transparent)]
    Setting(#[from] SettingsError),
    /// Routes need tokens and there is no key to verify them with.
    #[error("no key to verify tokens with (set {var}, or [token] keys or [token] jwks)")]
    NoKey {
        /// The variable that would hold the secret.
        var: String,
    },
    /// A weak or default secret.
    #[error(transparent)]
    WeakSecret(#[from] SecretsError),
    /// A route without authentication on a non-loopback listener.
    #[error(transparent)]
    InsecureBind(Box<InsecureBind>),
}

/// A route without authentication, and the non-loopback address the gateway would listen on
/// (refused without `--allow-insecure-bind`).
#[derive(Debug, thiserror::Error)]
#[error("{origin}: route {route} has no authentication and the gateway would listen on {listen}; refused (pass --allow-insecure-bind to accept)")]
pub struct InsecureBind {
    /// The route's `auth` key.
    pub origin: Origin,
    /// The route's label.
    pub route: String,
    /// The listen address.
    pub listen: SocketAddr,
}

impl PrepareError {
    /// Where the problem is, when it is one setting, file or variable.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            PrepareError::Config(_) | PrepareError::WeakSecret(_) => None,
            PrepareError::Token(e) => e.origin(),
            PrepareError::NoSection { path } => Some(Origin::ConfigKey {
                path: path.clone(),
                line: None,
                key: GatewaySection::NAME.to_owned(),
            }),
            PrepareError::Setting(e) => Some(e.origin.clone()),
            PrepareError::NoKey { var } => Some(Origin::EnvVar(var.clone())),
            PrepareError::InsecureBind(e) => Some(e.origin.clone()),
        }
    }
}

/// A configuration that passed every start-up refusal, ready to become a [`crate::Gateway`].
#[derive(Debug)]
pub struct Prepared {
    pub(crate) settings: Settings,
    pub(crate) verifier: Verifier,
    pub(crate) issuer: Option<String>,
    pub(crate) bypass: Option<DevBypass>,
}

impl Prepared {
    /// Reads `[gateway]` and `[token]` of `config` (`${VAR}` and secrets from `env_files`
    /// first, then the process environment) and applies every start-up refusal. Logs what a
    /// start accepts but an operator must hear about: a dev bypass (on, or ignored off
    /// loopback) and a weak secret allowed on loopback.
    pub fn new(
        config: &Config,
        env_files: &[PathBuf],
        options: &Options,
    ) -> Result<Prepared, PrepareError> {
        let token = TokenSettings::load(config, env_files)?;
        if !config.has_section(GatewaySection::NAME) {
            return Err(PrepareError::NoSection {
                path: config.path().to_path_buf(),
            });
        }
        // `${VAR}` in [gateway] reads the --env-files first, then the environment.
        let lookup = |var: &str| token.env.get(var);
        let section: GatewaySection = config.read(&lookup)?;
        let settings = Settings::resolve(config, &section, options.listen.as_deref())?;
        let ring = token.ring(&Default::default())?;
        let mut policy = token.policy()?;
        // Each route checks its own audience and issuer.
        let issuer = policy.issuer.take();
        policy.audiences.clear();

        let listen = settings.listen;
        let loopback = listen.ip().is_loopback();
        let bypass = match token
            .section
            .dev_bypass()
            .into_iter()
            .find(|v| lookup(v).is_some_and(|x| vigil_core::strength::truthy(&x)))
        {
            Some(v) if loopback => {
                tracing::warn!(
                    "{v} is on: requests without a valid token are let through (loopback only; never in production)"
                );
                Some(DevBypass {
                    origin: token.env.origin(&v),
                    variable: v,
                })
            }
            Some(v) => {
                tracing::error!(
                    listen = %listen,
                    "{v} is ignored: the gateway listens on a non-loopback address"
                );
                None
            }
            None => None,
        };
        let needs_keys = settings.routes.iter().any(|r| r.auth);
        if needs_keys && bypass.is_none() && ring.keys().is_empty() && ring.jwks().is_none() {
            return Err(PrepareError::NoKey {
                var: token.section.secret_env().to_owned(),
            });
        }
        for w in secrets::check(&ring, listen, options.allow_weak_secret)? {
            tracing::warn!(
                "{w}: accepted on this loopback listener (--allow-weak-secret); anyone who guesses it can forge tokens"
            );
        }
        if !loopback && !options.allow_insecure_bind {
            if let Some(r) = settings.routes.iter().find(|r| !r.auth) {
                return Err(PrepareError::InsecureBind(Box::new(InsecureBind {
                    origin: config.origin(&format!("gateway.routes[{}].auth", r.index)),
                    route: r.label.clone(),
                    listen,
                })));
            }
        }
        Ok(Prepared {
            settings,
            verifier: Verifier::new(ring, policy),
            issuer,
            bypass,
        })
    }

    /// The validated settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The token verifier (its ring: the current and previous secrets, keys, JWKS).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The dev bypass, when it is on (loopback only).
    pub fn dev_bypass(&self) -> Option<&DevBypass> {
        self.bypass.as_ref()
    }
}

/// Reads the configuration again, for SIGHUP: the caller's way to find and check `vigil.toml`
/// (the same as at start).
pub type LoadConfig = Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

/// How SIGHUP rebuilds the gateway: the configuration read again, and the same `--env-file`s
/// and flags, through [`Prepared::new`]; the listener stays.
pub struct Reload {
    load: LoadConfig,
    env_files: Vec<PathBuf>,
    options: Options,
}

impl std::fmt::Debug for Reload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reload")
            .field("env_files", &self.env_files)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Reload {
    /// A reload that reads the configuration with `load`, the `env_files` and the `options`.
    pub fn new(load: LoadConfig, env_files: Vec<PathBuf>, options: Options) -> Reload {
        Reload {
            load,
            env_files,
            options,
        }
    }

    /// The configuration on disk, prepared for the socket already bound at `bound`.
    pub fn prepare(&self, bound: SocketAddr) -> Result<Prepared, PrepareError> {
        let config = (self.load)()?;
        let options = Options {
            listen: Some(bound.to_string()),
            ..self.options.clone()
        };
        Prepared::new(&config, &self.env_files, &options)
    }
}
