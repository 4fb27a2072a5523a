//! The `[gateway]` section of `vigil.toml`, as written (serde), and its validation into
//! [`Settings`]: every default filled in, every problem named by its dotted key.
//!
//! ```toml
//! [gateway]
//! listen = "127.0.0.1:8443"
//!
//! [[gateway.routes]]
//! path = "/mcp/filesystem"
//! upstream = "http://127.0.0.1:9001"
//! audience = "filesystem"
//!
//! [gateway.rate_limit]
//! per_ip = "100/minute"
//! ```

use crate::rate::{Rate, RateError};
use crate::tls::TlsError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use vigil_core::duration;
use vigil_core::size::SizeValue;
use vigil_core::{Config, Origin, Section};

/// `[gateway]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Address to listen on (default `127.0.0.1:8443`).
    pub listen: Option<String>,
    /// The URL clients reach the gateway at (for `resource_metadata`); default `http://<listen>`.
    pub public_url: Option<String>,
    /// Authorization servers advertised in the protected-resource metadata (RFC 9728).
    pub authorization_servers: Option<Vec<String>>,
    /// Largest request body (default 1 MiB).
    pub body_limit: Option<SizeValue>,
    /// Largest request head, request line and headers together (default 16 KiB).
    pub header_limit: Option<SizeValue>,
    /// Time a client has to send its request head (default 10 s): slow-loris protection.
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub header_timeout: Option<Duration>,
    /// Time an upstream has to answer with its response head (default 30 s).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub upstream_timeout: Option<Duration>,
    /// Time a client has to send its whole request body (default 30 s).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub body_timeout: Option<Duration>,
    /// Connections the kernel queues before the gateway accepts them (default 1024; capped by
    /// `net.core.somaxconn`).
    pub backlog: Option<u32>,
    /// `MCP-Protocol-Version` values accepted (default: every published MCP revision).
    pub protocol_versions: Option<Vec<String>>,
    /// Client networks allowed to read `/metrics` (and `/readyz` details); default: anyone.
    pub metrics_allow: Option<Vec<String>>,
    /// A bearer token that allows reading `/metrics` (use `${VAR}`); default: none.
    pub metrics_token: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed (IP addresses or CIDR blocks).
    pub trusted_proxies: Option<Vec<String>>,
    /// Browser origins every route accepts (each route may add its own).
    pub allowed_origins: Option<Vec<String>>,
    /// `Content-Security-Policy` on every response (default `default-src 'none'`).
    pub content_security_policy: Option<String>,
    /// Send `Strict-Transport-Security` (default: when TLS is on or `public_url` is https).
    pub hsts: Option<bool>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsSection>,
    /// The routes.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
    /// Rate limits every route starts from.
    pub rate_limit: Option<RateLimitSection>,
    /// Alert thresholds and the webhook.
    pub alerts: Option<AlertsSection>,
    /// `[gateway.validation]`: tool arguments checked against each tool's `inputSchema`.
    pub validation: Option<ValidationSection>,
    /// How long the gateway's own view of an upstream's tools lives before it is fetched
    /// again (default 5m; a `notifications/tools/list_changed` ends it sooner).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub tools_ttl: Option<Duration>,
    /// Secret scanning of tool-call arguments and results.
    pub scan: Option<ScanSection>,
    /// The tamper-evident audit log of tool calls.
    pub audit: Option<AuditSection>,
}

/// `[gateway.scan]`: vigil-scan's rules over what crosses the gateway in `tools/call`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    /// `block` (default), `redact`, `log` or `off`: a secret in a call's arguments (or in an
    /// `Mcp-Param-*` header).
    pub arguments: Option<String>,
    /// `redact` (default), `log` or `off`: a secret in a result, JSON or SSE.
    pub results: Option<String>,
    /// Longest time the scan of one call's arguments may take (default 5s): past it the call
    /// is refused (413), never sent unscanned.
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub budget: Option<Duration>,
}

/// `[gateway.audit]`: one hash-chained line per `tools/call`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// The log file (relative to `vigil.toml`).
    pub path: Option<String>,
    /// The head file, kept apart from the log (default `<path>.head`).
    pub head: Option<String>,
    /// Longest time a line waits before it is written and flushed to disk (default 100ms).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub flush_interval: Option<Duration>,
}

/// `[gateway.tls]`: the gateway terminates TLS itself.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM file with the certificate chain, leaf first (relative to `vigil.toml`).
    pub cert: Option<String>,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<String>,
}

/// `[[gateway.routes]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// Path prefix (`/mcp/filesystem`), matched on segment boundaries.
    pub path: Option<String>,
    /// Host the route answers for (the `Host` header without port); any host when unset.
    pub host: Option<String>,
    /// Upstream base URL (`http://127.0.0.1:9001` or `http://127.0.0.1:9001/mcp`).
    pub upstream: Option<String>,
    /// Audience a token must carry (default: the last segment of `path`).
    pub audience: Option<String>,
    /// Issuer a token must carry (default: `[token] issuer`, if any).
    pub issuer: Option<String>,
    /// Scopes a token must carry (in `scope`, space-separated, or `scp`).
    pub scopes: Option<Vec<String>>,
    /// Claims a token must carry with exactly these values.
    pub claims: Option<BTreeMap<String, toml::Value>>,
    /// Require a token (default true).
    pub auth: Option<bool>,
    /// Keep the route's path prefix when forwarding (default false: `/mcp/filesystem/x` → `/x`
    /// under the upstream's path).
    pub keep_prefix: Option<bool>,
    /// Headers added to every upstream request (values may use `${VAR}` for credentials).
    pub headers: Option<BTreeMap<String, String>>,
    /// This route's rate limits (override `[gateway.rate_limit]`).
    pub rate_limit: Option<RateLimitSection>,
    /// This route's CORS policy.
    pub cors: Option<CorsSection>,
    /// This route's upstream timeout: the client's whole wait on the upstream's answer head,
    /// the gateway's own reading of its tools included.
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub timeout: Option<Duration>,
    /// Sign a gateway assertion per request for the upstream (`vigil memory serve
    /// --listen` trusts them through `[memory.assertion]`).
    pub assertion: Option<AssertionSection>,
    /// Verify webhook signatures (Standard Webhooks, GitHub, HMAC-SHA256) instead of a token.
    pub webhook: Option<crate::webhook::WebhookSection>,
    /// Verify tokens with the keys of this OpenID Connect issuer (discovered).
    pub oidc: Option<crate::oidc::OidcSection>,
    /// Run this stdio MCP server and serve it (instead of `upstream`): program and arguments.
    pub command: Option<Vec<String>>,
    /// The child's whole environment (it inherits nothing from the gateway).
    pub env: Option<BTreeMap<String, String>>,
    /// The child's working folder (relative to `vigil.toml`).
    pub cwd: Option<String>,
    /// How the child processes are shared and bounded.
    pub stdio: Option<crate::stdio::StdioSection>,
    /// `[[gateway.routes.tools]]`: scopes a tool (by glob) needs beyond the route's audience.
    pub tools: Option<Vec<ToolRuleSection>>,
    /// Lock file of pinned tool definitions (`vigil lint --pin` format), relative to vigil.toml.
    pub pins: Option<String>,
    /// `"enforce"` (default: a changed or new tool is hidden and refused) or `"alert"`.
    pub pin_mode: Option<String>,
    /// The server name of this route's tools in the lock file (default: the audience).
    pub pin_server: Option<String>,
}

/// `[[gateway.routes.tools]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRuleSection {
    /// Tool name glob (`delete_*`, `*`).
    pub name: Option<String>,
    /// Scopes the token's `scope` claim must all hold to call a matching tool.
    pub scopes: Option<Vec<String>>,
}

/// `[gateway.validation]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    /// `"enforce"`, `"log"` or `"off"` (default).
    pub mode: Option<String>,
}

/// What the gateway does with tool arguments that do not fit the tool's `inputSchema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationMode {
    /// Not checked (no schema compiled).
    #[default]
    Off,
    /// Checked and logged (path and keyword), still forwarded.
    Log,
    /// Answered by the gateway; the upstream never sees the call.
    Enforce,
}

impl ValidationMode {
    /// The setting as written in vigil.toml (`[gateway.validation] mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationMode::Off => "off",
            ValidationMode::Log => "log",
            ValidationMode::Enforce => "enforce",
        }
    }
}

/// What the gateway does with a tool whose definition is not the pinned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinMode {
    /// Hidden from `tools/list`, its calls refused.
    Enforce,
    /// Shown and callable, with an alert.
    Alert,
}

impl PinMode {
    /// The setting as written in vigil.toml (a route's `pin_mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            PinMode::Enforce => "enforce",
            PinMode::Alert => "alert",
        }
    }
}

/// A route's tool pinning.
#[derive(Debug, Clone)]
pub struct Pinning {
    /// The lock file (resolved against vigil.toml's folder when the settings are resolved).
    pub path: std::path::PathBuf,
    /// Enforce or alert.
    pub mode: PinMode,
    /// This route's server name in the lock file.
    pub server: String,
}

/// One `[[gateway.routes.tools]]` rule.
#[derive(Debug, Clone)]
pub struct ToolRule {
    /// The glob as written.
    pub name: String,
    /// The compiled glob.
    pub matcher: globset::GlobMatcher,
    /// The glob without regard to case, for a tool name as folded ([`crate::jsonrpc::folded`]).
    pub folded: globset::GlobMatcher,
    /// Scopes a matching tool needs.
    pub scopes: Vec<String>,
}

/// `[gateway.routes.assertion]`: the upstream is told who the gateway verified by a short-lived
/// JWT (`typ: vigil-assertion+jwt`) in `Authorization: Bearer`, signed per request.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionSection {
    /// `iss` of the assertions (default `vigil-gateway`).
    pub issuer: Option<String>,
    /// The variable holding the HS256 secret the upstream also knows.
    pub secret_env: Option<String>,
    /// `aud` of the assertions (default: the route's audience).
    pub audience: Option<String>,
    /// Lifetime of each assertion (default 30s, at most 5 minutes).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub lifetime: Option<Duration>,
}

/// What a route signs its assertions with (built by `Prepared::new`, which reads the secret).
pub struct Asserter {
    /// The signing key.
    pub key: vigil_token::Key,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Lifetime in seconds.
    pub lifetime: u64,
}

impl std::fmt::Debug for Asserter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asserter")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// `[gateway.rate_limit]` and `[gateway.routes.rate_limit]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Requests per client IP: `100/minute`, `10/second`, `1000/hour`, or `off`.
    pub per_ip: Option<String>,
    /// Requests per token subject (default off).
    pub per_subject: Option<String>,
    /// Requests allowed back to back (default: the whole window's count).
    pub burst: Option<u32>,
    /// `memory` (default) or `redis`.
    pub backend: Option<String>,
    /// `redis://host:port/db` for the redis backend.
    pub url: Option<String>,
}

/// `[gateway.routes.cors]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins (`https://app.example`), or `*` for any (never with credentials).
    pub origins: Option<Vec<String>>,
    /// Allowed methods (default GET, POST, DELETE, OPTIONS).
    pub methods: Option<Vec<String>>,
    /// Allowed request headers (default the MCP ones).
    pub headers: Option<Vec<String>>,
    /// Response headers exposed to scripts (default `Mcp-Session-Id`).
    pub expose: Option<Vec<String>>,
    /// How long a preflight answer may be cached (default 10 minutes).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub max_age: Option<Duration>,
}

/// `[gateway.alerts]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Auth failures per minute, all clients, above which an alert fires (default 10).
    pub auth_failures_per_minute: Option<u32>,
    /// Auth failures per minute from one IP (default 10).
    pub auth_failures_per_ip_per_minute: Option<u32>,
    /// Requests per minute from one IP (default 100).
    pub requests_per_ip_per_minute: Option<u32>,
    /// A presented token expiring within this fires an alert (default 1h).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub token_expiry: Option<Duration>,
    /// Discord/Slack-compatible webhook receiving each alert.
    pub webhook_url: Option<String>,
}

/// A setting of `[gateway]` (or `--listen`) that cannot be used, with where it was written: a
/// `vigil.toml` key and its line, or the flag. Never quotes a secret.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {error}")]
pub struct SettingsError {
    /// Where: `vigil.toml:6: gateway.routes[0].upstream`, or `--listen`.
    pub origin: Origin,
    /// What is wrong.
    pub error: Box<Invalid>,
}

impl SettingsError {
    /// The dotted key (`gateway.routes[0].upstream`) or flag (`--listen`) concerned.
    pub fn key(&self) -> &str {
        match &self.origin {
            Origin::ConfigKey { key, .. } => key,
            Origin::Flag(flag) => flag,
            Origin::EnvFile { path, .. } => path.to_str().unwrap_or_default(),
            Origin::EnvVar(name) => name,
        }
    }
}

/// What is wrong with one setting of `[gateway]`.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// Not a socket address.
    #[error("not an address such as 127.0.0.1:8443")]
    NotAnAddress,
    /// A required setting is absent (with what to write).
    #[error("missing ({0})")]
    Missing(&'static str),
    /// Not a URL.
    #[error("not a URL")]
    NotAUrl,
    /// `public_url` without scheme or host, or with a query or fragment.
    #[error("give scheme and host, and a path if any, e.g. https://gw.example (no query or fragment: route paths are appended to it)")]
    PublicUrl,
    /// Not a size (vigil-core's size parser says why).
    #[error("{0}")]
    Size(String),
    /// `header_limit` under hyper's smallest read buffer.
    #[error("must be at least 8KiB")]
    HeaderLimit,
    /// Not an IP network.
    #[error(transparent)]
    Cidr(#[from] CidrError),
    /// Not a rate.
    #[error(transparent)]
    Rate(#[from] RateError),
    /// `url` without `backend = "redis"`.
    #[error("only used with backend = \"redis\"")]
    UrlWithoutRedis,
    /// A Redis URL of another scheme.
    #[error("must be redis://[user:password@]host:port[/db] (no TLS to Redis in this build)")]
    RedisUrl,
    /// `backend = "redis"` without `url`.
    #[error("backend = \"redis\" needs url = \"redis://host:port\"")]
    RedisWithoutUrl,
    /// An unknown backend.
    #[error("must be \"memory\" or \"redis\"")]
    Backend,
    /// No `[[gateway.routes]]`.
    #[error("no routes: add [[gateway.routes]] with path and upstream")]
    NoRoutes,
    /// Two routes with the same path and host.
    #[error("same path and host as gateway.routes[{0}]")]
    SameRoute(usize),
    /// A webhook that is not http(s).
    #[error("must be an http(s) URL")]
    Webhook,
    /// A backlog out of range.
    #[error("must be 1 to 65535")]
    Backlog,
    /// An empty `protocol_versions`.
    #[error("empty: list the MCP revisions to accept, e.g. [\"2025-11-25\"]")]
    NoProtocolVersions,
    /// A protocol version that cannot be a header value.
    #[error("not a protocol version such as 2025-11-25")]
    ProtocolVersion,
    /// A guessable `metrics_token`.
    #[error("too weak for a bearer token (generate one: openssl rand -hex 32)")]
    WeakMetricsToken,
    /// Not `scheme://host[:port]`.
    #[error("not an origin")]
    NotAnOrigin,
    /// An origin with a path or without scheme or host.
    #[error("an origin is scheme://host[:port], e.g. https://app.example")]
    OriginParts,
    /// A route path that is not a plain absolute prefix.
    #[error("must start with / and hold no .., ? or #")]
    RoutePath,
    /// A route's path, host or audience that holds a secret (rule ids).
    #[error("holds a secret ({0}): a route's path, host and audience are written in logs and metric labels")]
    HoldsSecret(String),
    /// An upstream that is not `http://`.
    #[error("must be an http:// URL (upstreams are reached over loopback or a private network)")]
    UpstreamScheme,
    /// An upstream without a host.
    #[error("has no host")]
    NoHost,
    /// An upstream with a query.
    #[error("may not have a query")]
    UpstreamQuery,
    /// An upstream with `user:password@` (never printed).
    #[error("may not hold credentials (user:password@); send them with headers = {{ Authorization = \"…\" }}")]
    UpstreamUserinfo,
    /// An empty value.
    #[error("is empty")]
    Empty,
    /// A scope that is empty or holds whitespace or `"` (a token's `scope` claim is
    /// space-separated: such a scope could never be granted, or reads as two).
    #[error("a scope may not be empty or hold whitespace or \"")]
    BadScope,
    /// A required claim that is not JSON.
    #[error("{0}")]
    Claim(serde_json::Error),
    /// Not a header name.
    #[error("not a header name")]
    HeaderName,
    /// A header the gateway sets itself.
    #[error("this header is set by the gateway itself")]
    ReservedHeader,
    /// A header named twice, in two cases (HTTP names are not case-sensitive; one value
    /// would be lost).
    #[error("named twice (header names are not case-sensitive): keep one")]
    DuplicateHeader,
    /// Not a header value.
    #[error("not a valid header value")]
    HeaderValue,
    /// A backend on one route.
    #[error("the backend is chosen once, in [gateway.rate_limit]")]
    RouteBackend,
    /// Not an HTTP method.
    #[error("not an HTTP method")]
    Method,
    /// `command` and `upstream` on one route.
    #[error("a route has either upstream or command (a stdio server), not both")]
    CommandAndUpstream,
    /// Not a glob.
    #[error("not a glob: {0}")]
    Glob(String),
    /// A mode that is not one of the listed ones.
    #[error("must be one of {0}")]
    Mode(&'static str),
    /// A lock file that cannot be read.
    #[error("{0}")]
    Pins(String),
    /// A certificate or key file of `[gateway.tls]` that cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// An audit flush interval out of range.
    #[error("must be between 1ms and 10s")]
    FlushInterval,
    /// A scan budget outside 1 ms..=10 min: `0s` refuses every large message, `100d` lets one
    /// holder's scans hold the scanning turns for ever.
    #[error("must be between 1ms and 10min")]
    ScanBudget,
}

/// A problem before it is placed: the key (or flag) it concerns and what is wrong.
struct Problem {
    key: String,
    error: Box<Invalid>,
}

fn problem(key: impl Into<String>, error: impl Into<Invalid>) -> Problem {
    Problem {
        key: key.into(),
        error: Box::new(error.into()),
    }
}

impl Problem {
    /// Placed in `config` (or on the command line, for a flag).
    fn at(self, config: &Config) -> SettingsError {
        SettingsError {
            origin: if self.key.starts_with("--") {
                Origin::Flag(self.key)
            } else {
                config.origin(&self.key)
            },
            error: self.error,
        }
    }
}

/// Defaults of the design.
pub mod defaults {
    use std::time::Duration;
    /// Where the gateway listens.
    pub const LISTEN: &str = "127.0.0.1:8443";
    /// Request body limit.
    pub const BODY_LIMIT: u64 = 1 << 20;
    /// Request head limit.
    pub const HEADER_LIMIT: u64 = 16 << 10;
    /// Request head timeout.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// Upstream response-head timeout.
    pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
    /// Per-IP rate.
    pub const PER_IP: &str = "100/minute";
    /// CSP.
    pub const CSP: &str = "default-src 'none'; frame-ancestors 'none'";
    /// Request body timeout.
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Listen backlog.
    pub const BACKLOG: u32 = 1024;
    /// The published MCP revisions (`MCP-Protocol-Version` values), oldest first.
    pub const PROTOCOL_VERSIONS: &[&str] = &[
        "2024-11-05",
        "2025-03-26",
        "2025-06-18",
        "2025-11-25",
        "2026-07-28",
    ];
}

/// A validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Index in `[[gateway.routes]]` (for messages and keys).
    pub index: usize,
    /// Path prefix, without a trailing slash (`""` for `/`).
    pub prefix: String,
    /// Host to match, lowercased.
    pub host: Option<String>,
    /// Upstream scheme + authority, e.g. `http://127.0.0.1:9001`.
    pub upstream_base: String,
    /// Upstream authority (`127.0.0.1:9001`), for `Host` and readiness checks.
    pub upstream_authority: std::sync::Arc<str>,
    /// Upstream path prefix, without a trailing slash.
    pub upstream_path: String,
    /// Audience required.
    pub audience: String,
    /// Issuer required.
    pub issuer: Option<String>,
    /// Scopes required.
    pub scopes: Vec<String>,
    /// Claims required.
    pub claims: Vec<(String, serde_json::Value)>,
    /// Whether a token is required.
    pub auth: bool,
    /// Keep the prefix when forwarding.
    pub keep_prefix: bool,
    /// Headers injected upstream.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Per-IP rate (None: off).
    pub per_ip: Option<Rate>,
    /// Per-subject rate (None: off).
    pub per_subject: Option<Rate>,
    /// CORS policy.
    pub cors: Cors,
    /// Upstream response-head timeout.
    pub timeout: Duration,
    /// The label used in metrics and logs (the path prefix, or `host` + prefix).
    pub label: String,
    /// `Host` sent upstream (the upstream authority).
    pub host_header: Option<http::HeaderValue>,
    /// `X-Vigil-Audience` sent upstream.
    pub audience_header: Option<http::HeaderValue>,
    /// The assertion signed per request for the upstream, when configured.
    pub assertion: Option<std::sync::Arc<Asserter>>,
    /// The webhook signature check that stands in for a token, when configured.
    pub webhook: Option<std::sync::Arc<crate::webhook::Webhook>>,
    /// The OpenID Connect issuer whose keys verify this route's tokens, when configured.
    pub oidc: Option<std::sync::Arc<crate::oidc::Issuer>>,
    /// The stdio server the gateway runs and serves as this route's upstream, when configured.
    pub stdio: Option<std::sync::Arc<crate::stdio::Spec>>,
    /// `[[gateway.routes.tools]]` rules, in order.
    pub tools: Vec<ToolRule>,
    /// Tool pinning, when `pins` is set.
    pub pins: Option<Pinning>,
}

impl Route {
    /// The scopes a call of `tool` needs beyond the route's own (every matching rule's).
    ///
    /// A rule takes the name as sent and the name as an upstream may compare it (folded: spaces,
    /// invisible and combining characters dropped, compatibility forms and case folded, see
    /// [`crate::jsonrpc::folded`]): ` delete_x`, `DELETE_X` and `ｄelete_x` need what
    /// `delete_*` asks, as an upstream that trims or folds case would run `delete_x`.
    pub fn tool_scopes<'r>(&'r self, tool: &str) -> impl Iterator<Item = &'r str> {
        let folded = crate::jsonrpc::folded(tool);
        let tool = tool.to_owned();
        self.tools
            .iter()
            .filter(move |r| r.matcher.is_match(&tool) || r.folded.is_match(&folded))
            .flat_map(|r| r.scopes.iter().map(String::as_str))
    }
}

/// A validated CORS policy.
#[derive(Debug, Clone)]
pub struct Cors {
    /// Allowed origins (exact, lowercased); `*` allows any.
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Methods`.
    pub methods: String,
    /// `Access-Control-Allow-Headers`.
    pub headers: String,
    /// `Access-Control-Expose-Headers`.
    pub expose: String,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age: u64,
    /// `expose` as a header value (built once, not per response).
    pub expose_value: Option<http::HeaderValue>,
    /// `expose` plus the headers of the gateway's own refusals a script needs
    /// (`Retry-After`, `WWW-Authenticate`).
    pub expose_refusal: Option<http::HeaderValue>,
}

/// Response headers of the gateway's own answers that a browser script must be able to read.
const REFUSAL_HEADERS: &str = "Retry-After, WWW-Authenticate";

impl Cors {
    /// A policy for these origins, methods, request headers and exposed headers.
    pub fn new(
        origins: Vec<String>,
        methods: String,
        headers: String,
        expose: String,
        max_age: u64,
    ) -> Cors {
        let refusal = if expose.is_empty() {
            REFUSAL_HEADERS.to_owned()
        } else {
            format!("{expose}, {REFUSAL_HEADERS}")
        };
        Cors {
            expose_value: (!expose.is_empty())
                .then(|| http::HeaderValue::from_str(&expose).ok())
                .flatten(),
            expose_refusal: http::HeaderValue::from_str(&refusal).ok(),
            origins,
            methods,
            headers,
            expose,
            max_age,
        }
    }
}

impl Cors {
    /// Whether `origin` may call this route.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

/// Rate-limit backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// In this process.
    Memory,
    /// Shared through Redis.
    Redis {
        /// `redis://…` (may hold a password; registered for redaction).
        url: String,
        /// Where it was written.
        origin: Origin,
    },
}

/// Alert thresholds.
#[derive(Debug, Clone)]
pub struct Alerting {
    /// Auth failures per minute overall.
    pub auth_failures: u32,
    /// Auth failures per minute per IP.
    pub auth_failures_per_ip: u32,
    /// Requests per minute per IP.
    pub requests_per_ip: u32,
    /// Token expiry warning, in seconds.
    pub token_expiry: u64,
    /// Webhook URL.
    pub webhook_url: Option<String>,
}

/// Everything the gateway needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Public URL, without a trailing slash.
    pub public_url: String,
    /// Whether `public_url` was configured (else it follows the bound address).
    pub explicit_public_url: bool,
    /// Authorization servers for RFC 9728 metadata.
    pub authorization_servers: Vec<String>,
    /// Body limit in bytes.
    pub body_limit: u64,
    /// Head limit in bytes.
    pub header_limit: usize,
    /// Head timeout.
    pub header_timeout: Duration,
    /// Trusted proxies.
    pub trusted_proxies: Vec<Cidr>,
    /// CSP header value.
    pub csp: String,
    /// Whether HSTS is sent.
    pub hsts: bool,
    /// Certificate and key files of `[gateway.tls]`, as written (relative to `vigil.toml`).
    pub tls_files: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The TLS configuration loaded from `tls_files` (by [`crate::tls::load`]); plain HTTP
    /// when `None`.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Routes, in file order.
    pub routes: Vec<Route>,
    /// Burst override (None: the window's count).
    pub backend: Backend,
    /// Alerts.
    pub alerts: Alerting,
    /// Time a client has to send its whole request body.
    pub body_timeout: Duration,
    /// Listen backlog.
    pub backlog: u32,
    /// `MCP-Protocol-Version` values accepted.
    pub protocol_versions: Vec<String>,
    /// Networks allowed to read `/metrics` (empty: no network restriction).
    pub metrics_allow: Vec<Cidr>,
    /// Bearer token allowed to read `/metrics`.
    pub metrics_token: Option<vigil_core::Secret<String>>,
    /// Per-IP rate of `/readyz` and `/metrics` (`[gateway.rate_limit] per_ip`).
    pub endpoint_rate: Option<Rate>,
    /// `[gateway.validation] mode`.
    pub validation: ValidationMode,
    /// `[gateway] tools_ttl`.
    pub tools_ttl: Duration,
    /// The browser policy of answers outside any route (404s, the gateway's own endpoints):
    /// `[gateway] allowed_origins` with the default methods and headers.
    pub cors: Cors,
    /// What `[gateway.scan]` does with secrets in calls and results.
    pub scan: ScanPolicy,
    /// `[gateway.audit]`, when set.
    pub audit: Option<AuditSettings>,
}

/// What a secret in a `tools/call`'s arguments (or `Mcp-Param-*` headers) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentsMode {
    /// Answered by the gateway; the upstream never sees the call.
    Block,
    /// Replaced by `[REDACTED:<rule>]` before the call goes up.
    Redact,
    /// Counted, alerted and let through.
    Log,
    /// Not scanned.
    Off,
}

impl ArgumentsMode {
    /// The setting as written in vigil.toml (`[gateway.scan] arguments`).
    pub fn as_str(self) -> &'static str {
        match self {
            ArgumentsMode::Block => "block",
            ArgumentsMode::Redact => "redact",
            ArgumentsMode::Log => "log",
            ArgumentsMode::Off => "off",
        }
    }
}

/// What a secret in a result gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsMode {
    /// Replaced by `[REDACTED:<rule>]` in what the client reads.
    Redact,
    /// Counted, alerted and let through.
    Log,
    /// Not scanned.
    Off,
}

impl ResultsMode {
    /// The setting as written in vigil.toml (`[gateway.scan] results`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResultsMode::Redact => "redact",
            ResultsMode::Log => "log",
            ResultsMode::Off => "off",
        }
    }
}

/// `[gateway.scan]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPolicy {
    /// Arguments and `Mcp-Param-*` headers.
    pub arguments: ArgumentsMode,
    /// Results.
    pub results: ResultsMode,
    /// Longest scan of one call's arguments (`budget`).
    pub budget: Duration,
}

impl ScanPolicy {
    /// Whether any scanning is on (the rules are built only then).
    pub fn any(&self) -> bool {
        self.arguments != ArgumentsMode::Off || self.results != ResultsMode::Off
    }
}

/// `[gateway.audit]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The log file.
    pub path: std::path::PathBuf,
    /// The head file.
    pub head: std::path::PathBuf,
    /// Longest wait before a line is flushed.
    pub flush_interval: Duration,
    /// Where `path` was written (for errors).
    pub origin: Origin,
    /// The chain's key (from `VIGIL_GATEWAY_AUDIT_KEY`), when keyed.
    pub key: Option<crate::audit::AuditKey>,
}

impl Settings {
    /// Whether reading `/metrics` is restricted (by network or token).
    pub fn metrics_restricted(&self) -> bool {
        !self.metrics_allow.is_empty() || self.metrics_token.is_some()
    }
}

/// Why a network is refused; each names it as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not an address.
    #[error("`{0}` is not an IP address or CIDR block")]
    NotAnAddress(String),
    /// A prefix length beyond the address's bits.
    #[error("`{0}`: prefix length must be 0 to {1}")]
    PrefixLength(String, u8),
}

/// An IP network (`10.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8` or `192.0.2.1`.
    pub fn parse(s: &str) -> Result<Cidr, CidrError> {
        let (a, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| CidrError::NotAnAddress(s.to_owned()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| CidrError::PrefixLength(s.to_owned(), max))?,
            None => max,
        };
        Ok(Cidr { addr, bits })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Entropy a `/metrics` bearer token must reach: 16 random bytes.
const MIN_METRICS_TOKEN_BITS: f64 = 128.0;
const DEFAULT_METHODS: [&str; 4] = ["GET", "POST", "DELETE", "OPTIONS"];
const DEFAULT_EXPOSE: &str = "Mcp-Session-Id";
const DEFAULT_ALLOW_HEADERS: &str =
    "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id";

impl Section for GatewaySection {
    const NAME: &'static str = "gateway";
}

impl Settings {
    /// Validates `section` (read from `config`) into settings; `listen` (`--listen`) overrides
    /// `[gateway] listen`. The `[gateway.tls]` files are read here, relative to `config`'s
    /// folder. Every error names its key and line in `config`, or the flag.
    pub fn resolve(
        config: &Config,
        section: &GatewaySection,
        listen: Option<&str>,
    ) -> Result<Settings, SettingsError> {
        let mut settings = section.validate(config, listen).map_err(|p| p.at(config))?;
        for r in &mut settings.routes {
            if let Some(p) = &mut r.pins {
                p.path = config.base_dir().join(&p.path);
                if let Err(e) = vigil_core::pin::LockFile::load(&p.path) {
                    return Err(problem(
                        format!("gateway.routes[{}].pins", r.index),
                        Invalid::Pins(e.to_string()),
                    )
                    .at(config));
                }
            }
        }
        if let Some((cert, key)) = &settings.tls_files {
            let base = config.base_dir();
            let loaded = crate::tls::load(&base.join(cert), &base.join(key)).map_err(|e| {
                let key = e.setting.key();
                problem(key, e).at(config)
            })?;
            settings.tls = Some(loaded);
        }
        Ok(settings)
    }

    /// Points `public_url` at the address actually bound (`http`, or `https` with TLS), unless
    /// `[gateway] public_url` was configured.
    pub(crate) fn use_bound_address(&mut self, bound: SocketAddr) {
        if !self.explicit_public_url {
            let scheme = if self.tls_files.is_some() {
                "https"
            } else {
                "http"
            };
            self.public_url = format!("{scheme}://{bound}");
        }
    }
}

impl GatewaySection {
    /// Validates the section; `listen` overrides `[gateway] listen`.
    fn validate(&self, config: &Config, listen: Option<&str>) -> Result<Settings, Problem> {
        let (listen_text, listen_key) = match listen {
            Some(l) => (l, "--listen"),
            None => (
                self.listen.as_deref().unwrap_or(defaults::LISTEN),
                "gateway.listen",
            ),
        };
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| problem(listen_key, Invalid::NotAnAddress))?;
        let tls_files = match &self.tls {
            None => None,
            Some(t) => {
                let cert = t.cert.as_deref().ok_or_else(|| {
                    problem(
                        "gateway.tls.cert",
                        Invalid::Missing("a PEM certificate file"),
                    )
                })?;
                let key = t.key.as_deref().ok_or_else(|| {
                    problem(
                        "gateway.tls.key",
                        Invalid::Missing("a PEM private-key file"),
                    )
                })?;
                Some((cert.into(), key.into()))
            }
        };
        let scheme = if tls_files.is_some() { "https" } else { "http" };
        let public_url = match &self.public_url {
            Some(u) => {
                let uri: http::Uri = u
                    .parse()
                    .map_err(|_| problem("gateway.public_url", Invalid::NotAUrl))?;
                // Route paths and `/.well-known/…` are appended to it: a query or fragment
                // would end up in the middle of every URL built (tester 158).
                if uri.scheme().is_none()
                    || uri.authority().is_none()
                    || uri.query().is_some()
                    || u.contains(['?', '#'])
                {
                    return Err(problem("gateway.public_url", Invalid::PublicUrl));
                }
                u.trim_end_matches('/').to_owned()
            }
            None => format!("{scheme}://{listen}"),
        };
        let size = |v: &Option<SizeValue>, key: &str, default: u64| -> Result<u64, Problem> {
            match v {
                Some(v) => v
                    .bytes()
                    .map_err(|m| problem(key, Invalid::Size(m.to_string()))),
                None => Ok(default),
            }
        };
        let body_limit = size(&self.body_limit, "gateway.body_limit", defaults::BODY_LIMIT)?;
        let header_limit = size(
            &self.header_limit,
            "gateway.header_limit",
            defaults::HEADER_LIMIT,
        )?;
        if header_limit < 8192 {
            // hyper's smallest read buffer.
            return Err(problem("gateway.header_limit", Invalid::HeaderLimit));
        }
        let mut trusted_proxies = Vec::new();
        for (i, p) in self.trusted_proxies.iter().flatten().enumerate() {
            trusted_proxies.push(
                Cidr::parse(p).map_err(|e| problem(format!("gateway.trusted_proxies[{i}]"), e))?,
            );
        }
        let global_origins = origins(
            self.allowed_origins.as_deref().unwrap_or_default(),
            "gateway.allowed_origins",
        )?;
        let base_rate = self.rate_limit.clone().unwrap_or_default();
        let backend = match (base_rate.backend.as_deref(), &base_rate.url) {
            (None | Some("memory"), None) => Backend::Memory,
            (None | Some("memory"), Some(_)) => {
                return Err(problem("gateway.rate_limit.url", Invalid::UrlWithoutRedis))
            }
            (Some("redis"), Some(u)) => {
                if !u.starts_with("redis://") {
                    return Err(problem("gateway.rate_limit.url", Invalid::RedisUrl));
                }
                // It may hold a password.
                vigil_core::redact::register(u);
                Backend::Redis {
                    url: u.clone(),
                    origin: config.origin("gateway.rate_limit.url"),
                }
            }
            (Some("redis"), None) => {
                return Err(problem("gateway.rate_limit.url", Invalid::RedisWithoutUrl))
            }
            (Some(_), _) => return Err(problem("gateway.rate_limit.backend", Invalid::Backend)),
        };
        if self.routes.is_empty() {
            return Err(problem("gateway.routes", Invalid::NoRoutes));
        }
        let timeout = self.upstream_timeout.unwrap_or(defaults::UPSTREAM_TIMEOUT);
        let mut routes = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            routes.push(route(i, r, &base_rate, &global_origins, timeout)?);
        }
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[..i] {
                if a.prefix == b.prefix && a.host == b.host {
                    return Err(problem(
                        format!("gateway.routes[{i}].path"),
                        Invalid::SameRoute(b.index),
                    ));
                }
            }
        }
        let a = self.alerts.clone().unwrap_or_default();
        if let Some(u) = &a.webhook_url {
            let uri: http::Uri = u
                .parse()
                .map_err(|_| problem("gateway.alerts.webhook_url", Invalid::NotAUrl))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
                return Err(problem("gateway.alerts.webhook_url", Invalid::Webhook));
            }
        }
        let alerts = Alerting {
            auth_failures: a.auth_failures_per_minute.unwrap_or(10),
            auth_failures_per_ip: a.auth_failures_per_ip_per_minute.unwrap_or(10),
            requests_per_ip: a.requests_per_ip_per_minute.unwrap_or(100),
            token_expiry: a.token_expiry.map_or(3600, |d| d.as_secs()),
            webhook_url: a.webhook_url.clone(),
        };
        if let Some(u) = &alerts.webhook_url {
            vigil_core::redact::register(u);
        }
        let backlog = self.backlog.unwrap_or(defaults::BACKLOG);
        if !(1..=65_535).contains(&backlog) {
            return Err(problem("gateway.backlog", Invalid::Backlog));
        }
        let protocol_versions: Vec<String> = match &self.protocol_versions {
            None => defaults::PROTOCOL_VERSIONS
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(problem(
                        "gateway.protocol_versions",
                        Invalid::NoProtocolVersions,
                    ));
                }
                for (i, v) in list.iter().enumerate() {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) {
                        return Err(problem(
                            format!("gateway.protocol_versions[{i}]"),
                            Invalid::ProtocolVersion,
                        ));
                    }
                }
                list.clone()
            }
        };
        let mut metrics_allow = Vec::new();
        for (i, p) in self.metrics_allow.iter().flatten().enumerate() {
            metrics_allow.push(
                Cidr::parse(p).map_err(|e| problem(format!("gateway.metrics_allow[{i}]"), e))?,
            );
        }
        let metrics_token = match &self.metrics_token {
            None => None,
            Some(t) => {
                let t = t.trim();
                vigil_core::redact::register(t);
                if vigil_core::strength::is_known_default(t)
                    || vigil_core::strength::estimate_bits(t) < MIN_METRICS_TOKEN_BITS
                {
                    return Err(problem("gateway.metrics_token", Invalid::WeakMetricsToken));
                }
                Some(vigil_core::Secret::from(t))
            }
        };
        let endpoint_rate = rate(
            &Some(
                base_rate
                    .per_ip
                    .clone()
                    .unwrap_or_else(|| defaults::PER_IP.into()),
            ),
            "gateway.rate_limit.per_ip",
            base_rate.burst,
        )?;
        let sc = self.scan.clone().unwrap_or_default();
        let scan = ScanPolicy {
            arguments: match sc.arguments.as_deref() {
                None | Some("block") => ArgumentsMode::Block,
                Some("redact") => ArgumentsMode::Redact,
                Some("log") => ArgumentsMode::Log,
                Some("off") => ArgumentsMode::Off,
                Some(_) => {
                    return Err(problem(
                        "gateway.scan.arguments",
                        Invalid::Mode("\"block\", \"redact\", \"log\", \"off\""),
                    ))
                }
            },
            results: match sc.results.as_deref() {
                None | Some("redact") => ResultsMode::Redact,
                Some("log") => ResultsMode::Log,
                Some("off") => ResultsMode::Off,
                Some(_) => {
                    return Err(problem(
                        "gateway.scan.results",
                        Invalid::Mode("\"redact\", \"log\", \"off\""),
                    ))
                }
            },
            budget: match sc.budget.unwrap_or(Duration::from_secs(5)) {
                b if (Duration::from_millis(1)..=Duration::from_secs(600)).contains(&b) => b,
                _ => return Err(problem("gateway.scan.budget", Invalid::ScanBudget)),
            },
        };
        let audit = match &self.audit {
            None => None,
            Some(a) => {
                let path = a.path.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
                    problem(
                        "gateway.audit.path",
                        Invalid::Missing("the audit log file, e.g. \"audit/tools.jsonl\""),
                    )
                })?;
                let base = config.base_dir();
                let path = base.join(path);
                let head = match a.head.as_deref() {
                    Some("") => return Err(problem("gateway.audit.head", Invalid::Empty)),
                    Some(h) => base.join(h),
                    None => {
                        let mut h = path.clone().into_os_string();
                        h.push(".head");
                        h.into()
                    }
                };
                let flush_interval = a.flush_interval.unwrap_or(Duration::from_millis(100));
                if flush_interval < Duration::from_millis(1)
                    || flush_interval > Duration::from_secs(10)
                {
                    return Err(problem(
                        "gateway.audit.flush_interval",
                        Invalid::FlushInterval,
                    ));
                }
                Some(AuditSettings {
                    path,
                    head,
                    flush_interval,
                    origin: config.origin("gateway.audit.path"),
                    key: None,
                })
            }
        };
        let validation = match self.validation.as_ref().and_then(|v| v.mode.as_deref()) {
            None | Some("off") => ValidationMode::Off,
            Some("log") => ValidationMode::Log,
            Some("enforce") => ValidationMode::Enforce,
            Some(_) => {
                return Err(problem(
                    "gateway.validation.mode",
                    Invalid::Mode("\"enforce\", \"log\", \"off\""),
                ))
            }
        };
        Ok(Settings {
            scan,
            audit,
            validation,
            tools_ttl: self.tools_ttl.unwrap_or(Duration::from_secs(300)),
            endpoint_rate,
            body_timeout: self.body_timeout.unwrap_or(defaults::BODY_TIMEOUT),
            backlog,
            protocol_versions,
            metrics_allow,
            metrics_token,
            cors: Cors::new(
                global_origins.clone(),
                DEFAULT_METHODS.join(", "),
                DEFAULT_ALLOW_HEADERS.into(),
                DEFAULT_EXPOSE.into(),
                600,
            ),
            listen,
            hsts: self
                .hsts
                .unwrap_or_else(|| tls_files.is_some() || public_url.starts_with("https://")),
            tls_files,
            tls: None,
            public_url,
            explicit_public_url: self.public_url.is_some(),
            authorization_servers: self.authorization_servers.clone().unwrap_or_default(),
            body_limit,
            header_limit: header_limit as usize,
            header_timeout: self.header_timeout.unwrap_or(defaults::HEADER_TIMEOUT),
            trusted_proxies,
            csp: self
                .content_security_policy
                .clone()
                .unwrap_or_else(|| defaults::CSP.into()),
            routes,
            backend,
            alerts,
        })
    }
}

fn origins(list: &[String], key: &str) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    for (i, o) in list.iter().enumerate() {
        if o == "*" {
            out.push(o.clone());
            continue;
        }
        let uri: http::Uri = o
            .parse()
            .map_err(|_| problem(format!("{key}[{i}]"), Invalid::NotAnOrigin))?;
        if uri.scheme().is_none()
            || uri.host().is_none()
            || uri.path_and_query().is_some_and(|p| p.as_str() != "/")
        {
            return Err(problem(format!("{key}[{i}]"), Invalid::OriginParts));
        }
        out.push(o.trim_end_matches('/').to_ascii_lowercase());
    }
    Ok(out)
}

fn rate(spec: &Option<String>, key: &str, burst: Option<u32>) -> Result<Option<Rate>, Problem> {
    match spec.as_deref() {
        None | Some("off") => Ok(None),
        Some(s) => Rate::parse(s, burst).map(Some).map_err(|e| problem(key, e)),
    }
}

fn route(
    i: usize,
    r: &RouteSection,
    base: &RateLimitSection,
    global_origins: &[String],
    default_timeout: Duration,
) -> Result<Route, Problem> {
    let at = |f: &str| format!("gateway.routes[{i}].{f}");
    let path = r.path.as_deref().ok_or_else(|| {
        problem(
            at("path"),
            Invalid::Missing("e.g. path = \"/mcp/filesystem\""),
        )
    })?;
    if !path.starts_with('/') || path.contains("..") || path.contains('?') || path.contains('#') {
        return Err(problem(at("path"), Invalid::RoutePath));
    }
    let prefix = path.trim_end_matches('/').to_owned();
    let upstream = match (&r.upstream, &r.command) {
        (Some(u), None) => u.as_str(),
        // Served by the gateway itself; the port is known once it listens.
        (None, Some(_)) => "http://127.0.0.1:0/mcp",
        (Some(_), Some(_)) => return Err(problem(at("command"), Invalid::CommandAndUpstream)),
        (None, None) => return Err(problem(
            at("upstream"),
            Invalid::Missing(
                "e.g. upstream = \"http://127.0.0.1:9001\", or command = [...] for a stdio server",
            ),
        )),
    };
    if r.command.is_none() && (r.env.is_some() || r.cwd.is_some() || r.stdio.is_some()) {
        return Err(problem(
            at("command"),
            Invalid::Missing("env, cwd and stdio are for a route with command = [...]"),
        ));
    }
    // Another scheme (`file:///…`, `unix:…`) says so, even where it is no URL `http` reads.
    let scheme = upstream.split_once(':').map(|(s, _)| s).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme.is_some_and(|s| !s.eq_ignore_ascii_case("http")) {
        return Err(problem(at("upstream"), Invalid::UpstreamScheme));
    }
    let uri: http::Uri = upstream
        .parse()
        .map_err(|_| problem(at("upstream"), Invalid::NotAUrl))?;
    if uri.scheme_str() != Some("http") {
        return Err(problem(at("upstream"), Invalid::UpstreamScheme));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| problem(at("upstream"), Invalid::NoHost))?
        .to_string();
    if authority.contains('@') {
        return Err(problem(at("upstream"), Invalid::UpstreamUserinfo));
    }
    if uri.query().is_some() {
        return Err(problem(at("upstream"), Invalid::UpstreamQuery));
    }
    let upstream_path = uri.path().trim_end_matches('/').to_owned();
    let audience = match &r.audience {
        Some(a) if !a.is_empty() => a.clone(),
        Some(_) => return Err(problem(at("audience"), Invalid::Empty)),
        None => match prefix.rsplit('/').next().filter(|s| !s.is_empty()) {
            Some(last) => last.to_owned(),
            None => {
                return Err(problem(
                    at("audience"),
                    Invalid::Missing("the path `/` has no last segment to default to"),
                ))
            }
        },
    };
    let mut claims = Vec::new();
    for (k, v) in r.claims.iter().flatten() {
        let json = serde_json::to_value(v)
            .map_err(|e| problem(at(&format!("claims.{k}")), Invalid::Claim(e)))?;
        claims.push((k.clone(), json));
    }
    let mut headers = Vec::new();
    for (k, v) in r.headers.iter().flatten() {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| problem(at(&format!("headers.{k}")), Invalid::HeaderName))?;
        // In any case and with `_` or `.` for `-`, as servers read names (review).
        let cgi = crate::proxy::cgi_name(name.as_str()).into_owned();
        if headers
            .iter()
            .any(|(n, _): &(http::HeaderName, _)| crate::proxy::cgi_name(n.as_str()) == cgi)
        {
            return Err(problem(
                at(&format!("headers.{k}")),
                Invalid::DuplicateHeader,
            ));
        }
        if gateway_sets(name.as_str()) {
            return Err(problem(
                at(&format!("headers.{k}")),
                Invalid::ReservedHeader,
            ));
        }
        let mut value = http::HeaderValue::from_str(v)
            .map_err(|_| problem(at(&format!("headers.{k}")), Invalid::HeaderValue))?;
        value.set_sensitive(true);
        vigil_core::redact::register(v);
        // `Bearer <token>`: the token alone is the secret an upstream may echo (in a tool name,
        // an answer) without its scheme.
        if let Some((scheme, rest)) = v.trim().split_once(' ') {
            if ["bearer", "basic", "token", "bot", "apikey"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
            {
                vigil_core::redact::register(rest.trim());
            }
        }
        headers.push((name, value));
    }
    let rl = r.rate_limit.clone().unwrap_or_default();
    if rl.backend.is_some() || rl.url.is_some() {
        return Err(problem(at("rate_limit.backend"), Invalid::RouteBackend));
    }
    let burst = rl.burst.or(if r.rate_limit.is_some() {
        None
    } else {
        base.burst
    });
    let per_ip = match &rl.per_ip {
        Some(_) => rate(&rl.per_ip, &at("rate_limit.per_ip"), burst)?,
        None => rate(
            &Some(
                base.per_ip
                    .clone()
                    .unwrap_or_else(|| defaults::PER_IP.into()),
            ),
            "gateway.rate_limit.per_ip",
            burst,
        )?,
    };
    let per_subject = match &rl.per_subject {
        Some(_) => rate(&rl.per_subject, &at("rate_limit.per_subject"), burst)?,
        None => rate(&base.per_subject, "gateway.rate_limit.per_subject", burst)?,
    };
    let c = r.cors.clone().unwrap_or_default();
    let mut route_origins = global_origins.to_vec();
    route_origins.extend(origins(
        c.origins.as_deref().unwrap_or_default(),
        &at("cors.origins"),
    )?);
    let methods = c
        .methods
        .clone()
        .unwrap_or_else(|| DEFAULT_METHODS.iter().map(|m| (*m).to_owned()).collect());
    for (j, m) in methods.iter().enumerate() {
        if http::Method::from_bytes(m.as_bytes()).is_err() {
            return Err(problem(at(&format!("cors.methods[{j}]")), Invalid::Method));
        }
    }
    let allow_headers = match &c.headers {
        Some(h) => {
            for (j, name) in h.iter().enumerate() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(problem(
                        at(&format!("cors.headers[{j}]")),
                        Invalid::HeaderName,
                    ));
                }
            }
            h.join(", ").to_ascii_lowercase()
        }
        None => DEFAULT_ALLOW_HEADERS.into(),
    };
    // Written as they are in logs, metric labels and `gateway check` (the host lowercased,
    // which no redactor reads back): a secret there is refused, as it was written.
    for (field, value) in [
        ("path", path),
        ("host", r.host.as_deref().unwrap_or("")),
        ("audience", audience.as_str()),
    ] {
        let rules = crate::logs::found(value);
        if !rules.is_empty() {
            return Err(problem(at(field), Invalid::HoldsSecret(rules.join(", "))));
        }
    }
    let host = r.host.as_ref().map(|h| h.to_ascii_lowercase());
    let mut tools = Vec::new();
    for (j, t) in r.tools.iter().flatten().enumerate() {
        let name = t.name.as_deref().ok_or_else(|| {
            problem(
                at(&format!("tools[{j}].name")),
                Invalid::Missing("a tool name or glob, e.g. name = \"delete_*\""),
            )
        })?;
        // The folded twin is written folded too (`ﬁx_*` is `fix_*`).
        let folded_name = crate::jsonrpc::folded(name);
        let glob = |case_insensitive: bool| {
            globset::GlobBuilder::new(if case_insensitive { &folded_name } else { name })
                .case_insensitive(case_insensitive)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| {
                    problem(
                        at(&format!("tools[{j}].name")),
                        Invalid::Glob(e.kind().to_string()),
                    )
                })
        };
        let (matcher, folded) = (glob(false)?, glob(true)?);
        let scopes = t.scopes.clone().unwrap_or_default();
        if scopes
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace) || s.contains('"'))
        {
            return Err(problem(
                at(&format!("tools[{j}].scopes")),
                Invalid::BadScope,
            ));
        }
        tools.push(ToolRule {
            name: name.to_owned(),
            matcher,
            folded,
            scopes,
        });
    }
    let pins = match &r.pins {
        None => None,
        Some(p) => Some(Pinning {
            path: p.into(),
            mode: match r.pin_mode.as_deref() {
                None | Some("enforce") => PinMode::Enforce,
                Some("alert") => PinMode::Alert,
                Some(_) => {
                    return Err(problem(
                        at("pin_mode"),
                        Invalid::Mode("\"enforce\", \"alert\""),
                    ))
                }
            },
            server: r.pin_server.clone().unwrap_or_else(|| audience.clone()),
        }),
    };
    Ok(Route {
        tools,
        pins,
        index: i,
        label: match &host {
            Some(h) => format!("{h}{prefix}"),
            None => {
                if prefix.is_empty() {
                    "/".into()
                } else {
                    prefix.clone()
                }
            }
        },
        prefix,
        host,
        upstream_base: format!("http://{authority}"),
        host_header: http::HeaderValue::from_str(&authority).ok(),
        audience_header: http::HeaderValue::from_str(&audience).ok(),
        assertion: None,
        webhook: None,
        oidc: None,
        stdio: None,
        upstream_authority: authority.into(),
        upstream_path,
        audience,
        issuer: r.issuer.clone(),
        scopes: r.scopes.clone().unwrap_or_default(),
        claims,
        auth: r.auth.unwrap_or(true),
        keep_prefix: r.keep_prefix.unwrap_or(false),
        headers,
        per_ip,
        per_subject,
        cors: Cors::new(
            route_origins,
            methods.join(", "),
            allow_headers,
            c.expose
                .clone()
                .map_or_else(|| DEFAULT_EXPOSE.to_owned(), |e| e.join(", ")),
            c.max_age.map_or(600, |d| d.as_secs()),
        ),
        timeout: r.timeout.unwrap_or(default_timeout),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        let config = Config::parse("vigil.toml".into(), text.to_owned()).unwrap();
        let s: GatewaySection = config.read(&|_| None).unwrap();
        Settings::resolve(&config, &s, None)
    }

    #[test]
    fn the_minimal_form_works_with_defaults() {
        let s = parse(
            "[gateway]\nlisten = \"127.0.0.1:8443\"\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
             upstream = \"http://127.0.0.1:9001\"\naudience = \"filesystem\"\n\
             [gateway.rate_limit]\nper_ip = \"100/minute\"\n",
        )
        .unwrap();
        let r = &s.routes[0];
        assert_eq!(r.prefix, "/mcp/filesystem");
        assert_eq!(r.audience, "filesystem");
        assert_eq!(r.per_ip.unwrap().burst, 100);
        assert!(r.auth && r.per_subject.is_none());
        assert_eq!(s.body_limit, 1 << 20);
        assert_eq!(s.backend, Backend::Memory);
        assert!(!s.hsts);
    }

    #[test]
    fn problems_name_their_key() {
        let e = parse("[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"ftp://x\"\n")
            .unwrap_err();
        assert_eq!(e.key(), "gateway.routes[0].upstream");
        assert_eq!(
            e.to_string(),
            "vigil.toml:4: gateway.routes[0].upstream: must be an http:// URL (upstreams are reached over loopback or a private network)"
        );
        let e = parse(
            "[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n\
             rate_limit = { per_ip = \"5/fortnight\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.key(), "gateway.routes[0].rate_limit.per_ip");
        assert!(matches!(*e.error, Invalid::Rate(RateError::NotARate(_))));
        let e = parse("[gateway]\n").unwrap_err();
        assert_eq!(e.key(), "gateway.routes");
        // bb-gw-s9 S2: a budget that refuses everything or holds the scanning turns for ever.
        for budget in ["0s", "100d"] {
            let e = parse(&format!(
                "[gateway]\n[gateway.scan]\nbudget = \"{budget}\"\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n"
            ))
            .unwrap_err();
            assert_eq!(e.key(), "gateway.scan.budget", "{budget}");
        }
        let config = Config::parse("vigil.toml".into(), "[gateway]\n".into()).unwrap();
        let s: GatewaySection = config.read(&|_| None).unwrap();
        let e = Settings::resolve(&config, &s, Some("here")).unwrap_err();
        assert_eq!(e.origin, Origin::Flag("--listen".into()));
        assert_eq!(
            e.to_string(),
            "--listen: not an address such as 127.0.0.1:8443"
        );
    }

    #[test]
    fn a_route_never_sets_the_gateways_own_headers_in_any_spelling() {
        // Tester 161: `X_Vigil_Subject` is `X-Vigil-Subject` to CGI, WSGI, PHP and Rack.
        // Tester 164: forwarding headers, `X-Vigil*` without a dash, the MCP protocol's own and
        // `Content-Type` replaced what the gateway set or checked.
        for name in [
            "X-Vigil-Subject",
            "X_Vigil_Subject",
            "x.vigil.subject",
            "X-VigilSubject",
            "Xvigil-Subject",
            "X-Vigil",
            "Host",
            "X-Forwarded-For",
            "X_Forwarded_Host",
            "Forwarded",
            "X-Real-IP",
            "Mcp-Session-Id",
            "MCP-Protocol-Version",
            "Mcp-Param-Path",
            "Content-Type",
        ] {
            let e = parse(&format!(
                "[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n\
                 headers = {{ \"{name}\" = \"alice\" }}\n"
            ))
            .unwrap_err();
            assert_eq!(
                e.key(),
                format!("gateway.routes[0].headers.{name}"),
                "{name}"
            );
            assert!(matches!(*e.error, Invalid::ReservedHeader), "{name}");
        }
        // Tester 164: two cases of one name, one value silently lost.
        let e = parse(
            "[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n\
             headers = { \"X-Api-Key\" = \"one\", \"x-api-key\" = \"two\" }\n",
        )
        .unwrap_err();
        assert!(matches!(*e.error, Invalid::DuplicateHeader), "{e}");
        let e = parse(
            "[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n\
             headers = { \"X-Api-Key\" = \"one\", \"X_Api_Key\" = \"two\" }\n",
        )
        .unwrap_err();
        assert!(matches!(*e.error, Invalid::DuplicateHeader), "{e}");
        parse(
            "[gateway]\n[[gateway.routes]]\npath = \"/a\"\nupstream = \"http://x\"\n\
             headers = { \"X_Team\" = \"blue\", Authorization = \"Bearer t\", \
             X-Api-Key = \"k\", Accept = \"application/json\", User-Agent = \"bot\" }\n",
        )
        .unwrap();
    }

    #[test]
    fn cidrs_contain_what_they_should() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }
}

/// Whether a route's `headers` may not set the header `name` (lower-case): the gateway sets
/// or checks it itself, in any spelling a server reads as it (`X_Vigil_Subject` is
/// `X-Vigil-Subject` to CGI, WSGI, PHP and Rack; tester 161). Hop-by-hop and framing headers;
/// `X-Vigil*` (the subject and audience the gateway vouches for); what says where the request
/// came from (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`, `Via`, …: the gateway's own values
/// would be replaced; tester 164); the MCP protocol's own (`Mcp-Session-Id`, which the gateway
/// binds to a subject, `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`, which
/// it checks against the body, `Last-Event-ID`) and `Content-Type` (the body was read as what
/// the client's said).
fn gateway_sets(name: &str) -> bool {
    let n = crate::proxy::cgi_name(name);
    let glued: String = n.chars().filter(char::is_ascii_alphanumeric).collect();
    matches!(
        &*n,
        "host"
            | "connection"
            | "content-length"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "keep-alive"
            | "content-type"
            | "mcp-session-id"
            | "mcp-protocol-version"
            | "mcp-method"
            | "mcp-name"
            | "last-event-id"
    ) || n.starts_with("mcp-param-")
        || glued.starts_with("xvigil")
        || glued.starts_with("xforwarded")
        || crate::proxy::forwarding(&n)
}

/// A problem of one part of a route's section, with the key suffix it concerns (`.scheme`,
/// `oidc.issuer`, `command`): the caller joins it to the route's key for the `Origin`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct KeyedError<P: std::error::Error> {
    /// The key (or key suffix) the problem is about.
    pub key: String,
    /// What is wrong.
    pub problem: P,
}
