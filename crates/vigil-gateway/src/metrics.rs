//! The gateway's Prometheus metrics (`prometheus-client`), served as text on `/metrics`.

use crate::sharded::{Shard, ShardedCounter, ShardedHistogram};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One route's metric handles, as a worker keeps them.
struct RouteHandles {
    latency: ShardedHistogram,
    by_status: Vec<(u16, ShardedCounter)>,
}

/// One worker's handles on the per-request metrics, by route, and the shard it writes: the hot
/// path allocates no label and takes no family lock.
#[derive(Default)]
pub struct Handles {
    /// The [`Metrics`] these handles belong to.
    owner: u64,
    shard: Shard,
    // Keyed by route labels from the configuration: a fast hasher is safe.
    routes: HashMap<String, RouteHandles, foldhash::fast::RandomState>,
}

impl Handles {
    /// Handles of a worker writing `shard`.
    pub fn new(shard: Shard) -> Handles {
        Handles {
            owner: u64::MAX,
            shard,
            routes: HashMap::default(),
        }
    }
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles")
            .field("shard", &self.shard)
            .field("routes", &self.routes.len())
            .finish()
    }
}

/// `route`, `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    /// Route label.
    pub route: String,
    /// HTTP status code.
    pub status: u16,
}

/// `route`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// Route label.
    pub route: String,
}

/// `reason`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// Why.
    pub reason: String,
}

/// `route`, `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteKind {
    /// Route label.
    pub route: String,
    /// `ip` or `subject` (rate limits), `connect`/`timeout`/… (upstream errors).
    pub kind: String,
}

/// `route`, `secret`: which configured webhook secret verified a delivery (by its name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteSecret {
    /// Route label.
    pub route: String,
    /// The secret's name: its `${VARIABLE}`, or `secrets[i]`.
    pub secret: String,
}

/// Which rate limit refused a request (the `kind` label of `rate_limited`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Per client IP.
    Ip,
    /// Per token subject.
    Subject,
}

impl Limit {
    /// The label value: `ip`, `subject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Ip => "ip",
            Limit::Subject => "subject",
        }
    }
}

/// Why an upstream gave no answer (the `kind` label of `upstream_errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// No connection could be made.
    Connect,
    /// The connection failed during the exchange.
    Protocol,
    /// No response head within the route's timeout.
    Timeout,
}

impl UpstreamFailure {
    /// The label value: `connect`, `protocol`, `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamFailure::Connect => "connect",
            UpstreamFailure::Protocol => "protocol",
            UpstreamFailure::Timeout => "timeout",
        }
    }
}

/// Why a request head was refused before the pipeline (the `reason` label of
/// `malformed_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadRefusal {
    /// Not HTTP/1.1 hyper can read (answered 400).
    BadHead,
    /// Over `header_limit` (answered 431).
    HeadTooLarge,
    /// Not sent within `header_timeout`.
    HeaderTimeout,
}

impl HeadRefusal {
    /// The label value: `bad_head`, `head_too_large`, `header_timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            HeadRefusal::BadHead => "bad_head",
            HeadRefusal::HeadTooLarge => "head_too_large",
            HeadRefusal::HeaderTimeout => "header_timeout",
        }
    }

    /// The status hyper answered with, when it answered.
    pub fn status(self) -> Option<u16> {
        match self {
            HeadRefusal::BadHead => Some(400),
            HeadRefusal::HeadTooLarge => Some(431),
            HeadRefusal::HeaderTimeout => None,
        }
    }
}

/// `route`, `place`, `rule`: a secret found by `[gateway.scan]`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SecretLabel {
    /// Route label.
    pub route: String,
    /// `arguments`, `header` or `results`.
    pub place: String,
    /// The rule that found it (`github-pat`), never the secret.
    pub rule: String,
}

/// `alert`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabel {
    /// The alert's name.
    pub alert: String,
}

fn latency() -> ShardedHistogram {
    // 0.1 ms .. ~3.3 s
    ShardedHistogram::new(exponential_buckets(0.0001, 2.0, 16))
}

fn ttl() -> Histogram {
    // 1 min .. ~1.4 days
    Histogram::new(exponential_buckets(60.0, 2.0, 12))
}

/// Every metric the gateway keeps.
pub struct Metrics {
    id: u64,
    registry: Registry,
    /// Requests by route and status.
    pub requests: Family<RouteStatus, ShardedCounter>,
    /// Latency by route, in seconds.
    pub latency: Family<RouteLabel, ShardedHistogram, fn() -> ShardedHistogram>,
    /// Auth failures by reason.
    pub auth_failures: Family<Reason, Counter>,
    /// Rate-limit refusals by route and kind.
    pub rate_limited: Family<RouteKind, Counter>,
    /// Seconds until expiry of each accepted token, observed when it is verified (a token
    /// remembered by a worker is verified again at most every 30 s).
    pub token_ttl: Histogram,
    /// Upstream failures by route and kind.
    pub upstream_errors: Family<RouteKind, Counter>,
    /// Alerts fired.
    pub alerts: Family<AlertLabel, Counter>,
    /// Requests let through by `MCP_DEV_BYPASS`.
    pub bypassed: Counter,
    /// Request heads refused before the pipeline (`bad_head`, `head_too_large`,
    /// `header_timeout`).
    pub malformed: Family<Reason, Counter>,
    /// Webhook deliveries verified, by route and the secret that matched.
    pub webhook_verified: Family<RouteSecret, Counter>,
    /// Webhook deliveries refused, by route and reason (`kind`).
    pub webhook_refused: Family<RouteKind, Counter>,
    /// Lines a stdio server wrote to stdout that were not JSON-RPC (ignored), by route.
    pub stdio_stray_output: Family<RouteLabel, Counter>,
    /// Secrets found in tool calls and results, by route, place and rule.
    pub secrets: Family<SecretLabel, Counter>,
    /// Requests refused by the MCP protocol checks, by reason (`header_mismatch`, `batch`).
    pub protocol_refusals: Family<Reason, Counter>,
    /// Tool calls and lists the MCP-aware checks refused, by route and reason (`scope`,
    /// `arguments`, `unknown_tool`, `pin`, `batch`, `tools_unavailable`).
    pub tool_refusals: Family<RouteKind, Counter>,
    /// Audit lines written.
    pub audit_lines: Counter,
    /// Audit batches that could not be written.
    pub audit_failures: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vigil_gateway");
        let requests = Family::<RouteStatus, ShardedCounter>::default();
        let latency =
            Family::<RouteLabel, ShardedHistogram, fn() -> ShardedHistogram>::new_with_constructor(
                latency as fn() -> ShardedHistogram,
            );
        let auth_failures = Family::<Reason, Counter>::default();
        let rate_limited = Family::<RouteKind, Counter>::default();
        let token_ttl = ttl();
        let upstream_errors = Family::<RouteKind, Counter>::default();
        let alerts = Family::<AlertLabel, Counter>::default();
        let bypassed = Counter::default();
        let malformed = Family::<Reason, Counter>::default();
        registry.register("requests", "Requests by route and status", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from request head to response head, by route",
            latency.clone(),
        );
        registry.register(
            "auth_failures",
            "Requests refused for their token, by reason",
            auth_failures.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by route and kind",
            rate_limited.clone(),
        );
        registry.register(
            "token_time_to_expiry_seconds",
            "Seconds left before expiry of each accepted token, when verified",
            token_ttl.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream failures by route and kind",
            upstream_errors.clone(),
        );
        registry.register("alerts", "Alerts fired, by alert", alerts.clone());
        registry.register(
            "dev_bypassed_requests",
            "Requests let through without a token by MCP_DEV_BYPASS",
            bypassed.clone(),
        );
        registry.register(
            "malformed_requests",
            "Request heads refused before routing, by reason",
            malformed.clone(),
        );
        let webhook_verified = Family::<RouteSecret, Counter>::default();
        let webhook_refused = Family::<RouteKind, Counter>::default();
        registry.register(
            "webhook_verified",
            "Webhook deliveries verified, by route and the name of the secret that matched",
            webhook_verified.clone(),
        );
        registry.register(
            "webhook_refused",
            "Webhook deliveries refused, by route and reason",
            webhook_refused.clone(),
        );
        let stdio_stray_output = Family::<RouteLabel, Counter>::default();
        registry.register(
            "stdio_stray_output_lines",
            "Non-protocol lines a stdio server wrote to stdout (ignored), by route",
            stdio_stray_output.clone(),
        );
        let secrets = Family::<SecretLabel, Counter>::default();
        let protocol_refusals = Family::<Reason, Counter>::default();
        let audit_lines = Counter::default();
        let audit_failures = Counter::default();
        registry.register(
            "secrets",
            "Secrets found by [gateway.scan] in tool-call arguments, parameter headers and results, by route, place and rule",
            secrets.clone(),
        );
        registry.register(
            "protocol_refusals",
            "Requests refused by the MCP protocol checks, by reason",
            protocol_refusals.clone(),
        );
        let tool_refusals = Family::<RouteKind, Counter>::default();
        registry.register(
            "tool_refusals",
            "Tool calls refused by per-tool scopes, argument validation, the tool catalog or pins, by route and reason",
            tool_refusals.clone(),
        );
        registry.register(
            "audit_lines",
            "Tool-call lines written to the audit log",
            audit_lines.clone(),
        );
        registry.register(
            "audit_failures",
            "Batches of audit lines that could not be written",
            audit_failures.clone(),
        );
        static IDS: AtomicU64 = AtomicU64::new(0);
        Metrics {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            registry,
            requests,
            latency,
            auth_failures,
            rate_limited,
            token_ttl,
            upstream_errors,
            alerts,
            bypassed,
            malformed,
            webhook_verified,
            webhook_refused,
            stdio_stray_output,
            secrets,
            protocol_refusals,
            tool_refusals,
            audit_lines,
            audit_failures,
        }
    }

    /// Counts one tool call (or list) of `route` the MCP-aware checks refused for `reason`.
    pub fn count_tool_refusal(&self, route: &str, reason: &str) {
        self.tool_refusals
            .get_or_create(&RouteKind {
                route: route.to_owned(),
                kind: reason.to_owned(),
            })
            .inc();
    }

    /// Counts one finished request of `route` with `status` that took `secs`, through a
    /// worker's `handles`.
    pub fn request_done(&self, handles: &mut Handles, route: &str, status: u16, secs: f64) {
        if handles.owner != self.id {
            handles.owner = self.id;
            handles.routes.clear();
        }
        let shard = handles.shard;
        if !handles.routes.contains_key(route) {
            let latency = self
                .latency
                .get_or_create(&RouteLabel {
                    route: route.to_owned(),
                })
                .clone();
            handles.routes.insert(
                route.to_owned(),
                RouteHandles {
                    latency,
                    by_status: Vec::new(),
                },
            );
        }
        let Some(r) = handles.routes.get_mut(route) else {
            return;
        };
        r.latency.observe(shard, secs);
        if let Some((_, c)) = r.by_status.iter().find(|(s, _)| *s == status) {
            c.inc(shard);
            return;
        }
        let c = self
            .requests
            .get_or_create(&RouteStatus {
                route: route.to_owned(),
                status,
            })
            .clone();
        c.inc(shard);
        r.by_status.push((status, c));
    }

    /// Counts a request refused by a rate limit of `route` (`kind`: per IP or per subject).
    pub fn count_rate_limited(&self, route: &str, kind: Limit) {
        self.rate_limited
            .get_or_create(&RouteKind {
                route: route.to_owned(),
                kind: kind.as_str().into(),
            })
            .inc();
    }

    /// Counts the secrets `rules` found in `place` of a request to `route`.
    pub fn count_secrets(&self, route: &str, place: &str, rules: &[String]) {
        for r in rules {
            self.secrets
                .get_or_create(&SecretLabel {
                    route: route.to_owned(),
                    place: place.to_owned(),
                    rule: r.clone(),
                })
                .inc();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
