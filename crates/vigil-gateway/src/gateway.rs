//! The gateway's state: validated settings, the token verifier, one limiter per route and kind,
//! metrics and alerts, built from a [`Prepared`] configuration. One value per configuration; a
//! reload builds a new one and keeps the metrics. What one worker keeps for itself lives in
//! [`crate::worker::Worker`].

use crate::alerts::Alerts;
use crate::config::{Backend, Route, Settings};
use crate::metrics::Metrics;
use crate::prepare::{DevBypass, Prepared};
use crate::rate::{Rate, RouteLimiter};
use crate::security_headers::SecurityHeaders;
use std::net::IpAddr;
use std::sync::Arc;
use vigil_core::Origin;
use vigil_token::Verifier;

/// Everything a request needs. Built only from a [`Prepared`] configuration, so every start-up
/// refusal has been applied to it.
pub struct Gateway {
    /// Sets this configuration apart from earlier ones (per-worker caches key on it).
    pub(crate) generation: u64,
    /// The validated settings.
    pub(crate) settings: Settings,
    /// Verifies tokens (current and previous keys, JWKS).
    pub(crate) verifier: Verifier,
    /// Issuer every route requires unless it names its own (`[token] issuer`).
    pub(crate) default_issuer: Option<String>,
    /// Requests without a valid token pass (`MCP_DEV_BYPASS` on a loopback listener).
    pub(crate) bypass: Option<DevBypass>,
    /// Per-route, per-IP limiters (None: off).
    pub(crate) ip_limits: Vec<Option<RouteLimiter<IpAddr>>>,
    /// Per-route, per-subject limiters (None: off).
    pub(crate) subject_limits: Vec<Option<RouteLimiter<String>>>,
    /// The per-IP limiter of `/readyz` and `/metrics` (None: off).
    pub(crate) endpoint_limit: Option<RouteLimiter<IpAddr>>,
    /// The last readiness probe.
    pub(crate) readiness: crate::readiness::Readiness,
    /// Metrics (kept across reloads).
    pub(crate) metrics: Arc<Metrics>,
    /// Alerts.
    pub(crate) alerts: Alerts,
    /// Headers on every response.
    pub(crate) security: SecurityHeaders,
    /// Per route: the gateway's view of the upstream's tools, when the route pins or validates.
    pub(crate) catalogs: Vec<Option<Arc<crate::tools::Catalog>>>,
    /// Per route, shared with response hooks (`None`: no MCP-aware check on the route).
    pub(crate) mcp_routes: Vec<Option<Arc<Route>>>,
    /// TLS handshakes, when `[gateway.tls]` is set.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    /// Stops the stdio routes' listeners and processes when this configuration goes.
    _stdio: Vec<tokio_util::sync::DropGuard>,
    /// The rules of `[gateway.scan]` (None: scanning off).
    pub(crate) scanner: Option<Arc<crate::scan::Scanner>>,
    /// The audit log of `[gateway.audit]`, when set.
    pub(crate) audit: Option<crate::audit::Audit>,
    /// Per route: the values of its `headers` and stdio `env`, and the gateway's own secrets,
    /// masked in every answer.
    pub(crate) credentials: Vec<Option<Arc<crate::credentials::Credentials>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.settings.listen)
            .field("routes", &self.settings.routes.len())
            .finish_non_exhaustive()
    }
}

/// Why a gateway cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A stdio route's loopback listener could not be opened.
    #[error("gateway.routes[{index}]: cannot serve the stdio server: {error}")]
    Stdio {
        /// Where the route was written.
        origin: Origin,
        /// The route's index.
        index: usize,
        /// Why.
        error: std::io::Error,
    },
    /// The Redis of `[gateway.rate_limit]` did not answer.
    #[error("gateway.rate_limit.url: cannot reach redis: {error}")]
    Redis {
        /// Where the URL was written.
        origin: Origin,
        /// What the client said.
        error: redis::RedisError,
    },
    /// The tools held beside a route's lock file cannot be read.
    #[error("gateway.routes[{index}].pins: {error}")]
    Held {
        /// Where the route's pins were written.
        origin: Origin,
        /// The route's index.
        index: usize,
        /// Why.
        error: crate::holds::HeldError,
    },
    /// The audit log of `[gateway.audit]` cannot be used (it does not verify, or cannot be
    /// written).
    #[error("gateway.audit.path: {error}")]
    Audit {
        /// Where the path was written.
        origin: Origin,
        /// Why.
        error: crate::audit::AuditError,
    },
    /// A route's credential matcher could not be built (the gateway would not see its
    /// credentials in requests and answers: it does not start).
    #[error("gateway.routes[{index}]: cannot build the matcher of its credentials: {error}")]
    Credentials {
        /// Where the route was written.
        origin: Origin,
        /// The route's index.
        index: usize,
        /// Why.
        error: aho_corasick::BuildError,
    },
}

impl BuildError {
    /// Where the problem was written.
    pub fn origin(&self) -> &Origin {
        match self {
            BuildError::Redis { origin, .. }
            | BuildError::Stdio { origin, .. }
            | BuildError::Held { origin, .. }
            | BuildError::Audit { origin, .. }
            | BuildError::Credentials { origin, .. } => origin,
        }
    }
}

impl Gateway {
    /// Builds the state of a prepared configuration (connecting to Redis when the rate limits
    /// are shared), counting into `metrics`; must run inside a tokio runtime (alerts start
    /// their webhook task).
    pub async fn new(prepared: Prepared, metrics: Arc<Metrics>) -> Result<Self, BuildError> {
        let Prepared {
            mut settings,
            verifier,
            issuer,
            bypass,
            unset: _,
        } = prepared;
        let redis = match &settings.backend {
            Backend::Memory => None,
            Backend::Redis { url, origin } => Some(
                crate::rate::redis::connect(url)
                    .await
                    .map_err(|error| BuildError::Redis {
                        origin: origin.clone(),
                        error,
                    })?,
            ),
        };
        fn make<K>(
            rate: Option<Rate>,
            redis: &Option<redis::aio::ConnectionManager>,
            prefix: String,
        ) -> Option<RouteLimiter<K>>
        where
            K: std::hash::Hash + Eq + Clone + std::fmt::Display,
        {
            Some(RouteLimiter::new(
                rate?,
                redis.as_ref().map(|c| (c, prefix)),
            ))
        }
        if let Some(conn) = &redis {
            // Replayed webhook ids are refused by every instance sharing the rate limits.
            for r in &settings.routes {
                if let Some(w) = &r.webhook {
                    w.use_redis(conn.clone(), format!("vigil:wh:{}:", r.label));
                }
            }
        }
        let mut stdio = Vec::new();
        for r in &mut settings.routes {
            let Some(spec) = r.stdio.clone() else {
                continue;
            };
            let stop = tokio_util::sync::CancellationToken::new();
            let serving = crate::stdio::serve(spec, metrics.clone(), stop.clone())
                .await
                .map_err(|error| BuildError::Stdio {
                    origin: Origin::ConfigKey {
                        path: Default::default(),
                        line: None,
                        key: format!("gateway.routes[{}].command", r.index),
                    },
                    index: r.index,
                    error,
                })?;
            stdio.push(stop.drop_guard());
            let authority = serving.addr.to_string();
            r.upstream_base = format!("http://{authority}");
            r.host_header = http::HeaderValue::from_str(&authority).ok();
            r.upstream_authority = authority.into();
            r.upstream_path = "/mcp".into();
            let mut key = http::HeaderValue::from_str(&serving.key)
                .unwrap_or_else(|_| http::HeaderValue::from_static("-"));
            key.set_sensitive(true);
            r.headers
                .push((http::HeaderName::from_static(crate::stdio::KEY_HEADER), key));
        }
        let ip_limits = settings
            .routes
            .iter()
            .map(|r| make(r.per_ip, &redis, format!("vigil:rl:{}:ip:", r.label)))
            .collect();
        let subject_limits = settings
            .routes
            .iter()
            .map(|r| make(r.per_subject, &redis, format!("vigil:rl:{}:sub:", r.label)))
            .collect();
        let endpoint_limit = make(
            settings.endpoint_rate,
            &redis,
            "vigil:rl:(gateway):ip:".to_owned(),
        );
        let audit = match &settings.audit {
            None => None,
            Some(a) => Some(
                crate::audit::Audit::start(
                    a,
                    metrics.audit_lines.clone(),
                    metrics.audit_failures.clone(),
                )
                .map_err(|error| BuildError::Audit {
                    origin: a.origin.clone(),
                    error,
                })?,
            ),
        };
        let scanner = crate::scan::Scanner::new(settings.scan).map(Arc::new);
        // The gateway's own secrets (its token keys, the audit key, a webhook's secret: every
        // value registered for redaction by now) are masked on every route too: an upstream
        // started from the same `.env` can print the signing key, and whoever reads it mints
        // tokens for every route (tester 157).
        // A route header that is no credential (`Accept = "application/json, text/event-stream"`,
        // `X-Env = "production"`: neither its name nor its value says secret) is neither masked
        // nor refused: every MCP request would carry it (review). It stays registered for the
        // logs.
        let secret_like = |name: &http::HeaderName, v: &str| {
            crate::credentials::route_header_is_credential(name.as_str(), v)
        };
        let plain: std::collections::HashSet<&str> = settings
            .routes
            .iter()
            .flat_map(|r| r.headers.iter())
            .filter_map(|(k, v)| {
                std::str::from_utf8(v.as_bytes())
                    .ok()
                    .filter(|v| !secret_like(k, v))
            })
            .flat_map(|v| {
                let v = v.trim();
                let rest = v.split_once(char::is_whitespace).map(|(_, r)| r.trim());
                std::iter::once(v).chain(rest)
            })
            .collect();
        let own: Vec<String> = vigil_core::redact::registered_secrets()
            .into_iter()
            .filter(|v| !plain.contains(v.as_str()))
            .collect();
        let credentials = settings
            .routes
            .iter()
            .map(|r| {
                let headers = r
                    .headers
                    .iter()
                    // As UTF-8: a value with a non-ASCII character is still a credential
                    // (review: `to_str` refused it, and it was not looked for).
                    .filter_map(|(k, v)| {
                        std::str::from_utf8(v.as_bytes())
                            .ok()
                            .filter(|v| secret_like(k, v))
                    });
                let env = r.stdio.iter().flat_map(|s| s.env_values());
                let own = own.iter().map(String::as_str);
                crate::credentials::Credentials::new(headers.chain(env).chain(own))
                    .map(|c| c.map(Arc::new))
                    .map_err(|error| (r.index, error))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|(index, error)| BuildError::Credentials {
                origin: Origin::ConfigKey {
                    path: Default::default(),
                    line: None,
                    key: format!("gateway.routes[{index}]"),
                },
                index,
                error,
            })?;
        let catalogs = settings
            .routes
            .iter()
            .map(|r| {
                crate::tools::needs_catalog(r, settings.validation).then(|| {
                    Arc::new(crate::tools::Catalog::new(
                        r,
                        settings.tools_ttl,
                        settings.validation,
                    ))
                })
            })
            .collect::<Vec<_>>();
        for (r, c) in settings.routes.iter().zip(&catalogs) {
            if let Some(c) = c {
                c.restore_holds().map_err(|error| BuildError::Held {
                    origin: Origin::ConfigKey {
                        path: Default::default(),
                        line: None,
                        key: format!("gateway.routes[{}].pins", r.index),
                    },
                    index: r.index,
                    error,
                })?;
            }
        }
        let mcp_routes = settings
            .routes
            .iter()
            .zip(&catalogs)
            .map(|(r, c)| (c.is_some() || !r.tools.is_empty()).then(|| Arc::new(r.clone())))
            .collect();
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Gateway {
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            alerts: Alerts::new(settings.alerts.clone(), metrics.clone()),
            security: SecurityHeaders::new(&settings.csp, settings.hsts),
            tls: settings.tls.clone().map(tokio_rustls::TlsAcceptor::from),
            catalogs,
            mcp_routes,
            settings,
            verifier,
            default_issuer: issuer,
            bypass,
            ip_limits,
            subject_limits,
            endpoint_limit,
            readiness: Default::default(),
            metrics,
            _stdio: stdio,
            scanner,
            audit,
            credentials,
        })
    }

    /// The validated settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The metrics (kept across reloads).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The route for a host and path: the longest matching prefix, host-specific routes first.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&Route> {
        let host = host.map(|h| {
            h.rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(name, _)| name)
        });
        self.settings
            .routes
            .iter()
            .filter(|r| {
                r.host
                    .as_deref()
                    .is_none_or(|h| host.is_some_and(|x| x.eq_ignore_ascii_case(h)))
            })
            .filter(|r| {
                path.strip_prefix(r.prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|r| (r.host.is_some(), r.prefix.len()))
    }

    /// Drops rate-limit state of keys that are back to full allowance.
    pub fn shrink(&self) {
        for l in self.ip_limits.iter().flatten() {
            l.shrink();
        }
        for l in self.subject_limits.iter().flatten() {
            l.shrink();
        }
        if let Some(l) = &self.endpoint_limit {
            l.shrink();
        }
    }

    /// RFC 9728 metadata URL of a route (path-inserted form).
    pub fn resource_metadata(&self, route: &Route) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource{}",
            self.settings.public_url, route.prefix
        )
    }
}
