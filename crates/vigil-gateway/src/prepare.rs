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
    /// For commands that only ask the upstreams (`vigil gateway pin`): no key to verify tokens
    /// with is required (a gateway built from such a start would refuse every token).
    pub upstreams_only: bool,
}

/// Requests without a valid token are let through (`MCP_DEV_BYPASS`). Only [`Prepared::new`]
/// builds one, and only when the gateway listens on loopback; its fields are private, so no
/// other code can:
///
/// ```compile_fail,E0451
/// fn forge(seen: &vigil_gateway::DevBypass) -> vigil_gateway::DevBypass {
///     vigil_gateway::DevBypass { ..*seen }
/// }
/// ```
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
    #[error("{}:{} no [gateway] section (add listen and [[gateway.routes]] with path, upstream, audience)", path.display(), if path.exists() { "" } else { " no such file (give its path with --config or VIGIL_CONFIG), so" })]
    NoSection {
        /// The configuration file.
        path: PathBuf,
    },
    /// A setting of `[gateway]` or `--listen`.
    #[error(transparent)]
    Setting(#[from] SettingsError),
    /// Routes need tokens and there is no key to verify them with.
    #[error("no key to verify tokens with (set {var}, in the environment or a file given with --env-file, or [token] keys or [token] jwks)")]
    NoKey {
        /// The variable that would hold the secret.
        var: String,
    },
    /// The previous secret equals the current one (`vigil token check-config` refuses it too):
    /// the rotation did not change the secret.
    #[error("{previous} equals {current} (the rotation did not change the secret; unset {previous} or rotate again)")]
    PreviousEqualsCurrent {
        /// The current secret's variable.
        current: String,
        /// The previous secret's variable.
        previous: String,
        /// Where the previous secret was read (an `--env-file` line or the process variable).
        origin: Origin,
    },
    /// A weak or default secret.
    #[error(transparent)]
    WeakSecret(#[from] SecretsError),
    /// A route without authentication on a non-loopback listener.
    #[error(transparent)]
    InsecureBind(Box<InsecureBind>),
    /// A route's `webhook` cannot be verified as configured.
    #[error("{origin}: {problem}")]
    Webhook {
        /// The key at fault.
        origin: Origin,
        /// What is wrong.
        problem: crate::webhook::WebhookProblem,
    },
    /// A route's `oidc` issuer is refused or cannot be discovered.
    #[error("{origin}: {problem}")]
    Oidc {
        /// The key at fault.
        origin: Origin,
        /// What is wrong.
        problem: Box<crate::oidc::OidcProblem>,
    },
    /// A route's stdio server cannot be run as configured.
    #[error("{origin}: {problem}")]
    Stdio {
        /// The key at fault.
        origin: Origin,
        /// What is wrong.
        problem: crate::stdio::StdioProblem,
    },
    /// A route's `headers` value holds one of the gateway's secrets (the token secret, current
    /// or previous, a webhook secret, an assertion secret).
    #[error("{origin}: would send the value of {what} to the upstream; the gateway's secrets never leave it")]
    SecretHeader {
        /// The header at fault.
        origin: Origin,
        /// Whose value it holds.
        what: String,
    },
    /// A route's credential header holds text every MCP request carries: every request on
    /// the route would be refused as holding it (tester 164: `X-Api-Key = "jsonrpc"`).
    #[error("{origin}: the value is text every MCP request carries (a JSON-RPC or MCP word); the gateway refuses requests holding a route's credential, so every request would be refused: use the upstream's real credential")]
    CommonCredential {
        /// The header at fault.
        origin: Origin,
    },
    /// A route's `upstream` URL holds one of the gateway's secrets (in its path).
    #[error("{origin}: the URL holds the value of {what}; the gateway's secrets never go into an upstream URL, which is logged and sent")]
    SecretUpstream {
        /// The route's `upstream`.
        origin: Origin,
        /// Whose value it holds.
        what: String,
    },
    /// A route's `path`, `audience`, `issuer` or required claim holds one of the gateway's
    /// secrets (tester 153: `audience = "${MCP_JWT_SECRET}"` went upstream in
    /// `X-Vigil-Audience` and into every token minted for it).
    #[error("{origin}: holds the value of {what}; the gateway's secrets never go into what it prints, serves, sends or writes into tokens (a route's path, audience, issuer, claims, scopes, tool rules, pins, the token issuer, the metrics token)")]
    SecretField {
        /// The route's field.
        origin: Origin,
        /// Whose value it holds.
        what: String,
    },
    /// A route's `host` holds one of the gateway's secrets.
    #[error("{origin}: holds the value of {what}; the gateway's secrets never go into a route's host, which is printed and logged")]
    SecretHost {
        /// The route's `host`.
        origin: Origin,
        /// Whose value it holds.
        what: String,
    },
    /// Two of the gateway's secrets are one value: whoever holds one (a webhook sender, an
    /// upstream that checks assertions) could use it as the other (mint client tokens, sign
    /// another route's deliveries or assertions).
    #[error("{origin}: {first} and {second} hold the same value (compared as the keys they are used as: webhook secrets trimmed, whsec_ decoded, one held inside the other); every secret of the gateway must be its own, or whoever holds one could use it as the other")]
    SharedSecret {
        /// Where the second was set.
        origin: Origin,
        /// What the first is.
        first: String,
        /// What the second is.
        second: String,
    },
    /// The audit key variable is empty or too short.
    #[error("{origin}: the audit key {problem}")]
    AuditKey {
        /// Where the variable was set.
        origin: Origin,
        /// The variable.
        var: &'static str,
        /// What is wrong.
        problem: crate::audit::AuditKeyProblem,
    },
    /// A route's `assertion` cannot be signed as configured.
    #[error("{origin}: {problem}")]
    Assertion {
        /// The key at fault.
        origin: Origin,
        /// What is wrong.
        problem: AssertionProblem,
    },
}

/// Why a route's `assertion` is refused.
#[derive(Debug, thiserror::Error)]
pub enum AssertionProblem {
    /// The route lets requests through without a token: there is no subject to assert.
    #[error("a route with auth = false has no verified subject to assert")]
    WithoutAuth,
    /// No `secret_env`.
    #[error("missing (e.g. secret_env = \"VIGIL_ASSERTION_SECRET\", the secret [memory.assertion] also reads)")]
    NoSecretEnv,
    /// The variable is unset or empty.
    #[error("{0} is not set")]
    Unset(String),
    /// The secret is weak or a known default.
    #[error(
        "{0} is too weak to sign assertions with (use `vigil env rotate` or 48 random characters)"
    )]
    Weak(String),
    /// The secret equals the one client tokens are verified with.
    #[error("{0} must differ from the token secrets (MCP_JWT_SECRET and its previous value), or a client token would pass as a signed assertion")]
    SameAsTokenSecret(String),
    /// The lifetime is zero or over the assertion maximum.
    #[error("must be between 1s and 5m")]
    Lifetime,
    /// The secret does not make a key.
    #[error(transparent)]
    Key(vigil_token::key::KeyError),
    /// The route also injects an Authorization header.
    #[error("the route's headers set Authorization, which the assertion replaces")]
    AuthorizationHeader,
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
            PrepareError::PreviousEqualsCurrent { origin, .. } => Some(origin.clone()),
            PrepareError::InsecureBind(e) => Some(e.origin.clone()),
            PrepareError::Assertion { origin, .. }
            | PrepareError::AuditKey { origin, .. }
            | PrepareError::Webhook { origin, .. }
            | PrepareError::Oidc { origin, .. }
            | PrepareError::Stdio { origin, .. }
            | PrepareError::SecretHeader { origin, .. }
            | PrepareError::CommonCredential { origin }
            | PrepareError::SecretHost { origin, .. }
            | PrepareError::SecretField { origin, .. }
            | PrepareError::SharedSecret { origin, .. }
            | PrepareError::SecretUpstream { origin, .. } => Some(origin.clone()),
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
    /// Per route, the `${VAR}`s of its section that were not set (read as empty; only with
    /// `upstreams_only`, where every other route's secrets are not needed).
    pub(crate) unset: Vec<Vec<String>>,
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
        // From here on, every log line (and client-chosen field) passes vigil-scan's rules too.
        crate::logs::install();
        let token = TokenSettings::load(config, env_files)?;
        if !config.has_section(GatewaySection::NAME) {
            return Err(PrepareError::NoSection {
                path: config.path().to_path_buf(),
            });
        }
        // `${VAR}` in [gateway] reads the --env-files first, then the environment.
        let lookup = |var: &str| token.env.get(var);
        // Asking an upstream for its tools (`gateway pin`) needs only that route's variables:
        // the others' (another route's webhook secrets) are read as empty and noted, and the
        // caller refuses only when its route uses one.
        let unset_names = std::cell::RefCell::new(Vec::<String>::new());
        let lenient = |var: &str| {
            lookup(var).or_else(|| {
                unset_names.borrow_mut().push(var.to_owned());
                Some(String::new())
            })
        };
        let section: GatewaySection = if options.upstreams_only {
            config.read(&lenient)?
        } else {
            config.read(&lookup)?
        };
        let unset_names = unset_names.into_inner();
        let raw_routes = config.root_value();
        let unset: Vec<Vec<String>> = (0..section.routes.len())
            .map(|i| {
                let text = raw_routes
                    .get("gateway")
                    .and_then(|g| g.get("routes"))
                    .and_then(|r| r.get(i))
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let mut names: Vec<String> = unset_names
                    .iter()
                    .filter(|n| text.contains(&format!("${{{n}}}")))
                    .cloned()
                    .collect();
                names.dedup();
                names
            })
            .collect();
        let mut settings = Settings::resolve(config, &section, options.listen.as_deref())?;
        if let Some(audit) = &mut settings.audit {
            let var = crate::audit::KEY_ENV;
            if let Some(secret) = lookup(var) {
                audit.key = Some(crate::audit::AuditKey::from_secret(&secret).map_err(
                    |problem| PrepareError::AuditKey {
                        origin: token.env.origin(var),
                        var,
                        problem,
                    },
                )?);
            }
        }
        let ring = token.ring(&Default::default())?;
        let mut policy = token.policy()?;
        // Each route checks its own audience and issuer.
        let issuer = policy.issuer.take();
        let token_audiences = std::mem::take(&mut policy.audiences);
        // `vigil token mint` refuses an audience `[token] audiences` does not list: such a
        // route takes tokens nobody here can mint (tester 161). Said, not refused: its tokens
        // may come from elsewhere (JWKS, another minter).
        if !token_audiences.is_empty() {
            for r in settings
                .routes
                .iter()
                .filter(|r| r.auth && !token_audiences.contains(&r.audience))
            {
                tracing::warn!(
                    route = %r.label,
                    audience = %r.audience,
                    "the route's audience is not in [token] audiences: `vigil token mint` will not mint tokens for it"
                );
            }
        }

        let listen = settings.listen;
        let loopback = listen.ip().is_loopback();
        // Fail closed: metrics name routes, subjects' failures and upstreams.
        let metrics_closed = !loopback && !settings.metrics_restricted();
        if metrics_closed {
            settings.metrics_allow = ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|c| crate::config::Cidr::parse(c).ok())
                .collect();
        }
        // Only `1` or `true` switch it on: a value that merely looks like yes stays off.
        let bypass = match token
            .section
            .dev_bypass()
            .into_iter()
            .find_map(|v| lookup(&v).filter(|x| !x.is_empty()).map(|x| (v, x)))
        {
            Some((v, x)) if !matches!(x.as_str(), "1" | "true") => {
                tracing::error!("{v} is ignored: only 1 or true switch the dev bypass on");
                None
            }
            Some((v, _)) if !loopback => {
                tracing::error!(
                    listen = %listen,
                    "{v} is ignored: the gateway listens on a non-loopback address"
                );
                None
            }
            Some((v, _)) if !settings.trusted_proxies.is_empty() => {
                tracing::error!(
                    "{v} is ignored: trusted_proxies is set, so clients may come through a proxy"
                );
                None
            }
            Some((v, _)) => {
                tracing::warn!(
                    "{v} is on: requests without a valid token from this machine are let through (loopback clients only, never through a proxy; never in production)"
                );
                Some(DevBypass {
                    origin: token.env.origin(&v),
                    variable: v,
                })
            }
            None => None,
        };
        for (route, rs) in settings.routes.iter_mut().zip(&section.routes) {
            let Some(a) = &rs.assertion else { continue };
            let at =
                |k: &str| config.origin(&format!("gateway.routes[{}].assertion{k}", route.index));
            let fail = |k: &str, problem| PrepareError::Assertion {
                origin: at(k),
                problem,
            };
            if !route.auth {
                return Err(fail("", AssertionProblem::WithoutAuth));
            }
            if route
                .headers
                .iter()
                .any(|(k, _)| k == http::header::AUTHORIZATION)
            {
                return Err(fail("", AssertionProblem::AuthorizationHeader));
            }
            let var = a
                .secret_env
                .as_deref()
                .ok_or_else(|| fail(".secret_env", AssertionProblem::NoSecretEnv))?;
            let secret = lookup(var)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| fail(".secret_env", AssertionProblem::Unset(var.to_owned())))?;
            if vigil_token::compliance::secret_weakness(&secret).is_some() {
                // `--allow-weak-secret` is for a loopback listener only, as for the token secret.
                if !(options.allow_weak_secret && loopback) {
                    return Err(fail(".secret_env", AssertionProblem::Weak(var.to_owned())));
                }
                tracing::warn!(
                    "{var}: a weak assertion secret accepted on this loopback listener (--allow-weak-secret); anyone who guesses it can sign as the gateway"
                );
            }
            // Compared in constant time, as the previous-secret check below does.
            let same = |v: Option<String>| {
                use subtle::ConstantTimeEq;
                v.is_some_and(|t| bool::from(t.as_bytes().ct_eq(secret.as_bytes())))
            };
            if same(lookup(token.section.secret_env()))
                || same(lookup(token.section.previous_env()))
            {
                return Err(fail(
                    ".secret_env",
                    AssertionProblem::SameAsTokenSecret(var.to_owned()),
                ));
            }
            let lifetime = a
                .lifetime
                .map_or(vigil_token::assertion::DEFAULT_LIFETIME, |d| d.as_secs());
            if lifetime == 0 || lifetime > vigil_token::assertion::MAX_LIFETIME {
                return Err(fail(".lifetime", AssertionProblem::Lifetime));
            }
            vigil_core::redact::register(&secret);
            let key = vigil_token::Key::hmac(
                "gateway-assertion",
                secret.as_bytes(),
                vigil_token::Algorithm::HS256,
            )
            .map_err(|e| fail(".secret_env", AssertionProblem::Key(e)))?;
            route.assertion = Some(std::sync::Arc::new(crate::config::Asserter {
                key,
                issuer: a.issuer.clone().unwrap_or_else(|| "vigil-gateway".into()),
                audience: a.audience.clone().unwrap_or_else(|| route.audience.clone()),
                lifetime,
            }));
        }
        let keep = [
            token.section.secret_env(),
            token.section.previous_env(),
            "MCP_JWT_SECRET",
            "MCP_JWT_SECRET_PREVIOUS",
            // Whoever holds the audit key can forge a keyed audit log: it never leaves either.
            crate::audit::KEY_ENV,
        ];
        if !options.upstreams_only {
            // Webhook verification and issuer discovery: nothing asking an upstream needs.
            signed_routes(config, &section, &mut settings, &policy, options, loopback)?;
        }
        // Every secret value of the gateway, which no stdio child's variable may hold.
        let mut values: Vec<(String, vigil_core::Secret<String>)> = Vec::new();
        // Each secret as the key the gateway uses it as, for the check that no two are one.
        let mut held: Vec<Held> = Vec::new();
        for name in keep {
            if let Some(v) = lookup(name).filter(|v| !v.is_empty()) {
                let use_ = if name == crate::audit::KEY_ENV {
                    Use::Audit
                } else {
                    Use::Token
                };
                held.push(Held {
                    what: name.to_owned(),
                    key: vigil_core::Secret::new(v.as_bytes().to_vec()),
                    text: vigil_core::Secret::new(v.clone()),
                    use_,
                    origin: token.env.origin(name),
                });
                values.push((name.to_owned(), vigil_core::Secret::new(v)));
            }
        }
        for (route, rs) in settings.routes.iter().zip(&section.routes) {
            if let (Some(hook), Some(w)) = (&route.webhook, &rs.webhook) {
                let origin =
                    config.origin(&format!("gateway.routes[{}].webhook.secrets", route.index));
                let use_ = Use::Webhook(route.index, hook.scheme());
                for ((name, v), key) in hook
                    .secret_names()
                    .iter()
                    .zip(w.secrets.iter().flatten())
                    .zip(hook.key_bytes())
                {
                    let what = format!("the webhook secret {name} of route {}", route.label);
                    // A Standard Webhooks secret is `whsec_<base64 key>`: the key alone too.
                    if let Some(key) = v.strip_prefix("whsec_") {
                        values.push((what.clone(), vigil_core::Secret::new(key.to_owned())));
                    }
                    held.push(Held {
                        what: what.clone(),
                        key: vigil_core::Secret::new(key.to_vec()),
                        text: vigil_core::Secret::new(v.clone()),
                        use_,
                        origin: origin.clone(),
                    });
                    values.push((what, vigil_core::Secret::new(v.clone())));
                }
            }
            if let Some(var) = rs.assertion.as_ref().and_then(|a| a.secret_env.as_deref()) {
                if let Some(v) = lookup(var).filter(|v| !v.is_empty()) {
                    let what = format!("{var} (the assertion secret of route {})", route.label);
                    held.push(Held {
                        what: what.clone(),
                        key: vigil_core::Secret::new(v.as_bytes().to_vec()),
                        text: vigil_core::Secret::new(v.clone()),
                        use_: Use::Assertion(route.index),
                        origin: config.origin(&format!(
                            "gateway.routes[{}].assertion.secret_env",
                            route.index
                        )),
                    });
                    values.push((what, vigil_core::Secret::new(v)));
                }
            }
        }
        shared_secrets(&settings, &held)?;
        // The audit key must be a secret of its own: one equal to the token secret (or another
        // of the gateway's secrets) is known to whoever holds that one.
        if let Some(key) = lookup(crate::audit::KEY_ENV).filter(|v| !v.is_empty()) {
            use subtle::ConstantTimeEq;
            vigil_core::redact::register(&key);
            let shared = values.iter().find(|(name, v)| {
                name != crate::audit::KEY_ENV
                    && bool::from(v.expose_secret().as_bytes().ct_eq(key.as_bytes()))
            });
            if let Some((name, _)) = shared {
                return Err(PrepareError::AuditKey {
                    origin: token.env.origin(crate::audit::KEY_ENV),
                    var: crate::audit::KEY_ENV,
                    problem: crate::audit::AuditKeyProblem::Shared(name.clone()),
                });
            }
        }
        // The metrics token is handed to every scraper and sent on each scrape: it may not be
        // (or hold) another of the gateway's secrets (tester 155).
        if let Some(what) = settings
            .metrics_token
            .as_ref()
            .and_then(|t| crate::stdio::held_secret(t.expose_secret().as_bytes(), &values))
        {
            return Err(PrepareError::SecretField {
                origin: config.origin("gateway.metrics_token"),
                what: what.clone(),
            });
        }
        // From here it is one of the gateway's secrets: never in a route's headers, upstream
        // URL, stdio command or env (tester 158: an upstream sent it could read `/metrics`).
        if let Some(t) = &settings.metrics_token {
            values.push(("the metrics token".to_owned(), t.clone()));
        }
        stdio_routes(config, &section, &mut settings, &keep, &values)?;
        // Which secret `text` holds: one of the gateway's, any variable named as a secret, or
        // a token of a shape the scan rules know (tester 158: a `ghp_` token in `public_url`
        // was served to every client without a token).
        let secret_in = |text: &str| -> Option<String> {
            crate::stdio::held_secret(text.as_bytes(), &values)
                .cloned()
                .or_else(|| {
                    vigil_core::redact::holds_secret_value(text)
                        .then(|| "a variable named as a secret".to_owned())
                })
                .or_else(|| {
                    let rules = crate::logs::found(text);
                    (!rules.is_empty())
                        .then(|| format!("a token of a known shape ({})", rules.join(", ")))
                })
        };
        // The upstream never gets one of the gateway's secrets (the signing secret, current or
        // previous, a webhook or an assertion secret) in a fixed header.
        for route in &settings.routes {
            // Nor in the host a route answers for: it is printed by `check` and logged.
            if let Some(host) = &route.host {
                let host = host.to_ascii_lowercase();
                let lowered: Vec<(String, vigil_core::Secret<String>)> = values
                    .iter()
                    .map(|(w, v)| {
                        (
                            w.clone(),
                            vigil_core::Secret::new(v.expose_secret().to_ascii_lowercase()),
                        )
                    })
                    .collect();
                if let Some(what) = crate::stdio::held_secret(host.as_bytes(), &lowered) {
                    return Err(PrepareError::SecretHost {
                        origin: config.origin(&format!("gateway.routes[{}].host", route.index)),
                        what: what.clone(),
                    });
                }
            }
            // Nor in the route's path, audience, issuer or claims: printed, logged, sent
            // upstream (`X-Vigil-Audience`) and written into every token minted for it.
            // Its scopes too (served in its protected-resource metadata and challenges), its
            // tool rules' scopes, and the server name its pins record (tester 154).
            let mut fields: Vec<(String, String)> = route
                .claims
                .iter()
                .map(|(k, v)| ("claims".to_owned(), format!("{k} = {v}")))
                .collect();
            fields.push(("path".to_owned(), route.prefix.clone()));
            fields.push(("audience".to_owned(), route.audience.clone()));
            fields.push((
                "issuer".to_owned(),
                route.issuer.clone().unwrap_or_default(),
            ));
            fields.push(("scopes".to_owned(), route.scopes.join(" ")));
            for (i, t) in route.tools.iter().enumerate() {
                fields.push((format!("tools[{i}].scopes"), t.scopes.join(" ")));
                fields.push((format!("tools[{i}].name"), t.name.clone()));
            }
            if let Some(p) = &route.pins {
                fields.push(("pin_server".to_owned(), p.server.clone()));
                // A file name anyone who can list the folder reads (`<secret>.lock.held`).
                fields.push(("pins".to_owned(), p.path.display().to_string()));
            }
            for (field, text) in &fields {
                // The gateway's own secrets, and any variable named as a secret (an audience
                // or issuer is quoted to no client, but printed by `check` and sent
                // upstream; tester 156).
                if let Some(what) = secret_in(text) {
                    return Err(PrepareError::SecretField {
                        origin: config.origin(&format!("gateway.routes[{}].{field}", route.index)),
                        what,
                    });
                }
            }
            // Nor any secret in the URL: it is printed by `check`, logged, and sent. The path
            // is kept without its trailing `/`, so a secret ending in `/` is looked for without
            // it too (the rest of it is in the URL).
            let url = format!("{}{}", route.upstream_base, route.upstream_path);
            let trimmed: Vec<(String, vigil_core::Secret<String>)> = values
                .iter()
                .filter_map(|(w, v)| {
                    let t = v.expose_secret().trim_end_matches('/');
                    (!t.is_empty() && t.len() < v.expose_secret().len())
                        .then(|| (w.clone(), vigil_core::Secret::new(t.to_owned())))
                })
                .collect();
            if let Some(what) = crate::stdio::held_secret(url.as_bytes(), &values)
                .or_else(|| crate::stdio::held_secret(url.as_bytes(), &trimmed))
            {
                return Err(PrepareError::SecretUpstream {
                    origin: config.origin(&format!("gateway.routes[{}].upstream", route.index)),
                    what: what.clone(),
                });
            }
            for (name, v) in &route.headers {
                let origin =
                    || config.origin(&format!("gateway.routes[{}].headers.{name}", route.index));
                if let Some(what) = crate::stdio::held_secret(v.as_bytes(), &values) {
                    return Err(PrepareError::SecretHeader {
                        origin: origin(),
                        what: what.clone(),
                    });
                }
                if v.to_str().is_ok_and(|v| {
                    crate::credentials::route_header_is_credential(name.as_str(), v)
                        && crate::credentials::common_word(v)
                }) {
                    return Err(PrepareError::CommonCredential { origin: origin() });
                }
                if v.to_str().is_ok_and(|v| {
                    crate::credentials::route_header_is_credential(name.as_str(), v)
                        && crate::credentials::reads_as_word(v)
                }) {
                    tracing::warn!(
                        route = %route.label,
                        header = %name,
                        "a route header named as a credential holds what reads as a word or a number: requests mentioning it are refused and answers masked; if it is no credential, name the header without KEY, TOKEN, SECRET, AUTH, SESSION…"
                    );
                }
            }
        }
        // Nor in `public_url` or `authorization_servers`: served to anyone, without a token, in
        // every challenge and the protected-resource metadata (tester 157).
        let served = std::iter::once(("gateway.public_url".to_owned(), &settings.public_url))
            .chain(
                settings
                    .authorization_servers
                    .iter()
                    .enumerate()
                    .map(|(n, a)| (format!("gateway.authorization_servers[{n}]"), a)),
            );
        for (field, text) in served {
            if let Some(what) = secret_in(text) {
                return Err(PrepareError::SecretField {
                    origin: config.origin(&field),
                    what,
                });
            }
        }
        // Nor in `[token] issuer` (every route's default) or audiences: written into every
        // token minted.
        let token_fields = issuer
            .iter()
            .map(|i| ("token.issuer".to_owned(), i.clone()))
            .chain(
                token_audiences
                    .iter()
                    .enumerate()
                    .map(|(n, a)| (format!("token.audiences[{n}]"), a.clone())),
            );
        for (field, text) in token_fields {
            if let Some(what) = secret_in(&text) {
                return Err(PrepareError::SecretField {
                    origin: config.origin(&field),
                    what,
                });
            }
        }
        // Webhook routes check signatures, OpenID Connect routes their issuer's keys.
        let needs_keys = settings
            .routes
            .iter()
            .any(|r| r.auth && r.webhook.is_none() && r.oidc.is_none());
        if needs_keys
            && !options.upstreams_only
            && bypass.is_none()
            && ring.keys().is_empty()
            && ring.jwks().is_none()
        {
            return Err(PrepareError::NoKey {
                var: token.section.secret_env().to_owned(),
            });
        }
        let (current, previous) = (token.section.secret_env(), token.section.previous_env());
        if let (Some(c), Some(p)) = (lookup(current), lookup(previous)) {
            use subtle::ConstantTimeEq;
            if !c.is_empty() && bool::from(c.as_bytes().ct_eq(p.as_bytes())) {
                return Err(PrepareError::PreviousEqualsCurrent {
                    current: current.to_owned(),
                    previous: previous.to_owned(),
                    origin: token.env.origin(previous),
                });
            }
        }
        for w in secrets::check(token.refuse_weak(&ring, options.allow_weak_secret), listen)? {
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
        // Said once nothing is refused, so a refusal stays one line.
        if metrics_closed {
            tracing::warn!(
                listen = %listen,
                "/metrics is served to loopback only on this non-loopback listener; set gateway.metrics_allow or gateway.metrics_token to open it"
            );
        }
        if listen.ip().is_unspecified() && !settings.explicit_public_url {
            tracing::warn!(
                listen = %listen,
                "resource metadata and WWW-Authenticate name http://{listen}, which clients cannot reach: add public_url = \"https://your.host\" to [gateway]"
            );
        }
        Ok(Prepared {
            settings,
            verifier: Verifier::new(ring, policy),
            issuer,
            bypass,
            unset,
        })
    }

    /// The `${VAR}`s that route `index`'s section names but that are not set (always empty
    /// unless prepared with `upstreams_only`, which reads them as empty).
    pub fn unset_variables(&self, index: usize) -> &[String] {
        self.unset.get(index).map_or(&[], Vec::as_slice)
    }

    /// Carries over what the running gateway `old` remembers and a reload must not forget:
    /// each webhook route's replay memory (matched by route label and scheme).
    pub fn carry_from(&mut self, old: &crate::Gateway) {
        for r in &mut self.settings.routes {
            let Some(hook) = r.webhook.as_mut().and_then(std::sync::Arc::get_mut) else {
                continue;
            };
            let before = old
                .settings
                .routes
                .iter()
                .find(|o| o.label == r.label)
                .and_then(|o| o.webhook.as_ref());
            if let Some(before) = before {
                hook.carry_replay(before);
            }
        }
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

/// Builds each route's `webhook` verification and discovers each `oidc` issuer (blocking HTTP),
/// refusing what cannot be used at its key.
fn signed_routes(
    config: &Config,
    section: &GatewaySection,
    settings: &mut Settings,
    policy: &vigil_token::Policy,
    options: &Options,
    loopback: bool,
) -> Result<(), PrepareError> {
    let raw = config.root_value();
    for (route, rs) in settings.routes.iter_mut().zip(&section.routes) {
        let i = route.index;
        let at = |k: &str| config.origin(&format!("gateway.routes[{i}].{k}"));
        if let Some(w) = &rs.webhook {
            let webhook = |k: &str, problem| PrepareError::Webhook {
                origin: at(&format!("webhook{k}")),
                problem,
            };
            use crate::webhook::WebhookProblem;
            if !route.auth {
                return Err(webhook("", WebhookProblem::WithoutAuth));
            }
            if rs.oidc.is_some() {
                return Err(webhook("", WebhookProblem::WithOidc));
            }
            let written = raw
                .get("gateway")
                .and_then(|g| g.get("routes"))
                .and_then(|r| r.get(i))
                .and_then(|r| r.get("webhook"))
                .and_then(|w| w.get("secrets"))
                .and_then(|s| s.as_array());
            let names: Vec<String> = (0..w.secrets.as_ref().map_or(0, Vec::len))
                .map(|j| {
                    let raw = written.and_then(|l| l.get(j)).and_then(|v| v.as_str());
                    crate::webhook::secret_name(raw, j)
                })
                .collect();
            let allow_weak = options.allow_weak_secret && loopback;
            let hook = crate::webhook::Webhook::new(w, &names, allow_weak)
                .map_err(|e| webhook(&e.key, e.problem))?;
            if allow_weak {
                tracing::warn!(
                    route = %route.label,
                    "webhook secrets are not checked for strength on this loopback listener (--allow-weak-secret)"
                );
            }
            route.webhook = Some(std::sync::Arc::new(hook));
        }
        if let Some(o) = &rs.oidc {
            let issuer = crate::oidc::Issuer::discover(o, policy, route.issuer.as_deref())
                .map_err(|e| PrepareError::Oidc {
                    origin: at(&format!("oidc{}", e.key)),
                    problem: Box::new(e.problem),
                })?;
            if route.issuer.is_none() {
                route.issuer = Some(issuer.issuer().to_owned());
            }
            route.oidc = Some(std::sync::Arc::new(issuer));
        }
    }
    Ok(())
}

/// Validates each stdio route (`command`, `env`, `cwd`, `stdio`): the program found, no token
/// secret among the child's variables, by name or by value (`values`).
fn stdio_routes(
    config: &Config,
    section: &GatewaySection,
    settings: &mut Settings,
    keep: &[&str],
    values: &[(String, vigil_core::Secret<String>)],
) -> Result<(), PrepareError> {
    for (route, rs) in settings.routes.iter_mut().zip(&section.routes) {
        let Some(command) = &rs.command else { continue };
        let spec = crate::stdio::Spec::new(
            command,
            rs.env.as_ref(),
            rs.cwd.as_deref(),
            rs.stdio.as_ref(),
            config.base_dir(),
            keep,
            values,
            &route.label,
        )
        .map_err(|e| PrepareError::Stdio {
            origin: config.origin(&format!("gateway.routes[{}].{}", route.index, e.key)),
            problem: e.problem,
        })?;
        route.stdio = Some(std::sync::Arc::new(spec));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 48-character secret of a 62-letter alphabet, built here (no literal secret).
    fn strong() -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..48)
            .map(|i| alphabet[(i * 37 + 11) % 62] as char)
            .collect()
    }

    /// `vigil.toml` and an env file in a fresh folder; the secret and bypass variables have
    /// names no process sets.
    fn setup(gateway: &str, env: &str) -> (tempfile::TempDir, Config, Vec<PathBuf>) {
        let dir = tempfile::TempDir::new().unwrap();
        let text = format!(
            "[token]\nsecret_env = \"VIGIL_TEST_PREPARE_SECRET\"\ndev_bypass = [\"VIGIL_TEST_PREPARE_BYPASS\"]\n\n{gateway}"
        );
        let path = dir.path().join("vigil.toml");
        std::fs::write(&path, &text).unwrap();
        std::fs::write(dir.path().join("test.env"), env).unwrap();
        let config = Config::parse(path, text).unwrap();
        let files = vec![dir.path().join("test.env")];
        (dir, config, files)
    }

    const ROUTE: &str =
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://127.0.0.1:9\"\n";

    fn listen(addr: &str) -> Options {
        Options {
            listen: Some(addr.into()),
            ..Options::default()
        }
    }

    #[test]
    fn the_dev_bypass_exists_only_on_loopback_and_says_where_it_was_set() {
        let env = format!(
            "VIGIL_TEST_PREPARE_SECRET={}\nVIGIL_TEST_PREPARE_BYPASS=1\n",
            strong()
        );
        let (_dir, config, files) = setup(ROUTE, &env);
        let p = Prepared::new(&config, &files, &listen("127.0.0.1:0")).unwrap();
        let bypass = p.dev_bypass().expect("on, on loopback");
        assert_eq!(bypass.variable(), "VIGIL_TEST_PREPARE_BYPASS");
        assert!(
            matches!(bypass.origin(), Origin::EnvFile { line: Some(2), .. }),
            "{:?}",
            bypass.origin()
        );
        let p = Prepared::new(&config, &files, &listen("0.0.0.0:0")).unwrap();
        assert!(p.dev_bypass().is_none(), "never off loopback");
    }

    #[test]
    fn each_refusal_is_typed_and_placed() {
        // No key (and no bypass): refused, naming the variable.
        let (_dir, config, files) = setup(ROUTE, "");
        let e = Prepared::new(&config, &files, &Options::default()).unwrap_err();
        assert!(matches!(&e, PrepareError::NoKey { var } if var == "VIGIL_TEST_PREPARE_SECRET"));
        // A bypass stands in for the key, on loopback only.
        let (_dir, config, files) = setup(ROUTE, "VIGIL_TEST_PREPARE_BYPASS=true\n");
        assert!(Prepared::new(&config, &files, &listen("127.0.0.1:0")).is_ok());
        assert!(matches!(
            Prepared::new(&config, &files, &listen("0.0.0.0:0")),
            Err(PrepareError::NoKey { .. })
        ));
        // A weak secret: refused; allowed only on loopback when asked.
        let (_dir, config, files) = setup(ROUTE, "VIGIL_TEST_PREPARE_SECRET=changeme\n");
        assert!(matches!(
            Prepared::new(&config, &files, &listen("127.0.0.1:0")),
            Err(PrepareError::WeakSecret(SecretsError::Weak(_)))
        ));
        let allow = |addr: &str| Options {
            allow_weak_secret: true,
            ..listen(addr)
        };
        assert!(Prepared::new(&config, &files, &allow("127.0.0.1:0")).is_ok());
        assert!(matches!(
            Prepared::new(&config, &files, &allow("0.0.0.0:0")),
            Err(PrepareError::WeakSecret(SecretsError::NotLoopback(..)))
        ));
        // An unauthenticated route off loopback: refused at its `auth` key and line.
        let open = ROUTE.to_owned() + "auth = false\n";
        let env = format!("VIGIL_TEST_PREPARE_SECRET={}\n", strong());
        let (_dir, config, files) = setup(&open, &env);
        let e = Prepared::new(&config, &files, &listen("0.0.0.0:0")).unwrap_err();
        assert!(
            matches!(
                e.origin(),
                Some(Origin::ConfigKey { line: Some(10), ref key, .. }) if key == "gateway.routes[0].auth"
            ),
            "{e}"
        );
        let insecure = Options {
            allow_insecure_bind: true,
            ..listen("0.0.0.0:0")
        };
        assert!(Prepared::new(&config, &files, &insecure).is_ok());
        // No [gateway], and a bad --listen, say so.
        let (_dir, config, files) = setup("", &env);
        assert!(matches!(
            Prepared::new(&config, &files, &Options::default()),
            Err(PrepareError::NoSection { .. })
        ));
        let (_dir, config, files) = setup(ROUTE, &env);
        let e = Prepared::new(&config, &files, &listen("here")).unwrap_err();
        assert_eq!(e.origin(), Some(Origin::Flag("--listen".into())));
    }
}

/// What one of the gateway's secret values is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// The token secret, current or previous (their equality has its own refusal).
    Token,
    /// The audit key (its own refusal says which secret it equals).
    Audit,
    /// A webhook secret of a route, with the route's scheme.
    Webhook(usize, crate::webhook::Scheme),
    /// The assertion secret of a route.
    Assertion(usize),
}

/// One of the gateway's secrets, as configured and as the key it is used as.
struct Held {
    /// What it is (a variable's name, or "the webhook secret … of route …").
    what: String,
    /// The key bytes: a webhook secret trimmed (a Standard Webhooks one base64-decoded), the
    /// others as set.
    key: vigil_core::Secret<Vec<u8>>,
    /// The configured text, which whoever is given the secret holds.
    text: vigil_core::Secret<String>,
    use_: Use,
    /// Where it was set.
    origin: Origin,
}

/// Refuses two of the gateway's secrets that are one key: a webhook secret equal to the token
/// secret (the sender could mint tokens), an assertion secret equal to a webhook secret, and so
/// on for every pair; one webhook secret on two routes of different schemes (a delivery signed
/// for one verifies on the other); one assertion secret and audience sent to two upstreams
/// (each could replay the other's assertions). Keys are compared as the gateway uses them (a
/// webhook secret trimmed, a `whsec_` one decoded; whitespace around any key ignored), and a
/// webhook or assertion secret whose text or key holds another's key counts as that key (its
/// holder holds both).
fn shared_secrets(settings: &Settings, held: &[Held]) -> Result<(), PrepareError> {
    use subtle::ConstantTimeEq;
    let assertion = |i: usize| {
        let r = &settings.routes[i];
        (
            r.assertion.as_ref().map(|a| a.audience.clone()),
            r.upstream_base.clone(),
        )
    };
    let key = |h: &Held| h.key.expose_secret().trim_ascii().to_vec();
    // Whether whoever is given `a` holds the key of `b`.
    let holds = |a: &Held, b: &Held| {
        let kb = key(b);
        let given = matches!(a.use_, Use::Webhook(..) | Use::Assertion(_));
        given
            && !kb.is_empty()
            && [a.text.expose_secret().as_bytes(), a.key.expose_secret()]
                .iter()
                .any(|f| f.windows(kb.len()).any(|w| bool::from(w.ct_eq(&kb))))
    };
    for (j, b) in held.iter().enumerate() {
        for a in &held[..j] {
            if a.what == b.what {
                continue;
            }
            let same = bool::from(key(a).ct_eq(&key(b))) || holds(a, b) || holds(b, a);
            if !same {
                continue;
            }
            let refused = match (a.use_, b.use_) {
                (Use::Token, Use::Token) => false,
                (Use::Audit, _) | (_, Use::Audit) => {
                    let (audit, other) = if a.use_ == Use::Audit { (a, b) } else { (b, a) };
                    return Err(PrepareError::AuditKey {
                        origin: audit.origin.clone(),
                        var: crate::audit::KEY_ENV,
                        problem: crate::audit::AuditKeyProblem::Shared(other.what.clone()),
                    });
                }
                (Use::Webhook(r, s), Use::Webhook(q, t)) => r != q && s != t,
                (Use::Assertion(r), Use::Assertion(q)) => {
                    let ((aud_r, up_r), (aud_q, up_q)) = (assertion(r), assertion(q));
                    aud_r == aud_q && up_r != up_q
                }
                _ => true,
            };
            if refused {
                return Err(PrepareError::SharedSecret {
                    origin: b.origin.clone(),
                    first: a.what.clone(),
                    second: b.what.clone(),
                });
            }
        }
    }
    Ok(())
}
