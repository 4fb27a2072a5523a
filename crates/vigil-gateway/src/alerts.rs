//! The design's alert thresholds, counted in one-minute windows: each alert fires at most once per
//! window (per IP or subject where it has one) as an `alert` log event, a counter, and a POST to
//! a Discord/Slack-compatible webhook. An alert never carries a token.

use crate::config::Alerting;
use crate::metrics::{AlertLabel, Metrics};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// IPs tracked per window at most; past that, new IPs are not counted individually (the
/// overall auth-failure alert still sees them).
const MAX_TRACKED: usize = 100_000;

/// Which alert fired; its serialized name is the stable one of the webhook and the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Auth failures per minute, all clients.
    AuthFailures,
    /// Auth failures per minute from one IP.
    AuthFailuresPerIp,
    /// Requests per minute from one IP.
    RequestsPerIp,
    /// A long-lived token close to its expiry.
    TokenExpiring,
    /// A secret in a tool call's arguments (or parameter headers).
    SecretInArguments,
    /// A secret in a tool's result.
    SecretInResult,
    /// A tool whose definition is not the pinned one (or is new).
    ToolChanged,
}

impl AlertKind {
    /// The stable name: `auth_failures`, `auth_failures_per_ip`, `requests_per_ip`,
    /// `token_expiring`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AuthFailures => "auth_failures",
            AlertKind::AuthFailuresPerIp => "auth_failures_per_ip",
            AlertKind::RequestsPerIp => "requests_per_ip",
            AlertKind::TokenExpiring => "token_expiring",
            AlertKind::SecretInArguments => "secret_in_arguments",
            AlertKind::SecretInResult => "secret_in_result",
            AlertKind::ToolChanged => "tool_changed",
        }
    }
}

/// One fired alert.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    /// Which alert.
    pub alert: AlertKind,
    /// Human summary (no secret).
    pub summary: String,
    /// Client IP, when the alert is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Token subject, when the alert is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The count that crossed the threshold (or seconds left for `token_expiring`).
    pub value: u64,
    /// The threshold.
    pub threshold: u64,
    /// Unix time it fired.
    pub at: u64,
}

#[derive(Default)]
struct Window {
    minute: u64,
    auth_failures: u32,
    auth_per_ip: HashMap<IpAddr, u32>,
    requests_per_ip: HashMap<IpAddr, u32>,
    /// `auth_failures` fired in this window.
    fired_overall: bool,
    /// `(alert, IP)` fired in this window (looked up without allocating).
    fired_ip: HashSet<(AlertKind, IpAddr)>,
    /// Subjects whose `token_expiring` fired in this window.
    fired_subject: HashSet<String>,
    /// `(alert, route)` of the secret alerts fired in this window.
    fired_secret: HashSet<(AlertKind, String)>,
}

/// Per worker: the alerts that worker has seen fire in the current minute, so an IP or subject
/// past its threshold (a flood, an expiring token in use) costs no lock per request. Keyed by
/// the [`Alerts`] instance (a reload builds a new one).
#[derive(Debug, Default)]
pub struct Memo {
    owner: u64,
    minute: u64,
    ip: Option<IpAddr>,
    subject: Option<String>,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Counts events and fires alerts.
pub struct Alerts {
    id: u64,
    cfg: Alerting,
    metrics: Arc<Metrics>,
    window: Mutex<Window>,
    webhook: Option<mpsc::Sender<Alert>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Alerts")
    }
}

/// `t` in seconds since the Unix epoch (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Alerts {
    /// Alerts under `cfg`; when a webhook is configured, a task (on the current tokio runtime)
    /// posts each alert to it.
    pub fn new(cfg: Alerting, metrics: Arc<Metrics>) -> Self {
        let webhook = cfg.webhook_url.clone().map(|url| {
            let (tx, mut rx) = mpsc::channel::<Alert>(256);
            tokio::spawn(async move {
                while let Some(a) = rx.recv().await {
                    let url = url.clone();
                    let _ = tokio::task::spawn_blocking(move || post(&url, &a)).await;
                }
            });
            tx
        });
        Alerts {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            cfg,
            metrics,
            window: Mutex::new(Window::default()),
            webhook,
        }
    }

    fn with_window<R>(&self, now: u64, f: impl FnOnce(&mut Window) -> R) -> R {
        let minute = now / 60;
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.minute != minute {
            *w = Window {
                minute,
                ..Window::default()
            };
        }
        f(&mut w)
    }

    /// Whether the worker of `m` already saw `check` fire in `minute` (for this instance).
    fn seen(&self, m: &Memo, minute: u64, check: impl FnOnce(&Memo) -> bool) -> bool {
        m.owner == self.id && m.minute == minute && check(m)
    }

    /// Notes in a worker's memo that an alert is fired in `minute`.
    fn remember(&self, m: &mut Memo, minute: u64, note: impl FnOnce(&mut Memo)) {
        if m.owner != self.id || m.minute != minute {
            *m = Memo {
                owner: self.id,
                minute,
                ..Memo::default()
            };
        }
        note(m);
    }

    /// A request arrived from `ip` at `now` (seconds since the epoch), seen by the worker whose
    /// memo is `memo`.
    pub fn request(&self, memo: &mut Memo, ip: IpAddr, now: u64) {
        let limit = self.cfg.requests_per_ip;
        let minute = now / 60;
        // Fired already this window: it cannot fire again, so the count no longer matters.
        if self.seen(memo, minute, |m| m.ip == Some(ip)) {
            return;
        }
        let (fire, over) = self.with_window(now, |w| {
            if w.requests_per_ip.len() >= MAX_TRACKED && !w.requests_per_ip.contains_key(&ip) {
                return (None, false);
            }
            let n = w.requests_per_ip.entry(ip).or_insert(0);
            *n += 1;
            let n = *n;
            if n <= limit {
                return (None, false);
            }
            let first = w.fired_ip.insert((AlertKind::RequestsPerIp, ip));
            (first.then_some(n), true)
        });
        if over {
            self.remember(memo, minute, |m| m.ip = Some(ip));
        }
        if let Some(n) = fire {
            self.fire(Alert {
                alert: AlertKind::RequestsPerIp,
                summary: format!("{n} requests in a minute from {ip} (threshold {limit})"),
                client_ip: Some(ip.to_string()),
                subject: None,
                value: n.into(),
                threshold: limit.into(),
                at: now,
            });
        }
    }

    /// A request from `ip` was refused for its token at `now` (seconds since the epoch).
    pub fn auth_failure(&self, ip: IpAddr, now: u64) {
        let (overall, per_ip) = (self.cfg.auth_failures, self.cfg.auth_failures_per_ip);
        let (all, one) = self.with_window(now, |w| {
            w.auth_failures += 1;
            let all = (w.auth_failures > overall && !std::mem::replace(&mut w.fired_overall, true))
                .then_some(w.auth_failures);
            let one = if w.auth_per_ip.len() < MAX_TRACKED || w.auth_per_ip.contains_key(&ip) {
                let n = w.auth_per_ip.entry(ip).or_insert(0);
                *n += 1;
                let n = *n;
                (n > per_ip && w.fired_ip.insert((AlertKind::AuthFailuresPerIp, ip))).then_some(n)
            } else {
                None
            };
            (all, one)
        });
        if let Some(n) = all {
            self.fire(Alert {
                alert: AlertKind::AuthFailures,
                summary: format!("{n} authentication failures in a minute (threshold {overall})"),
                client_ip: None,
                subject: None,
                value: n.into(),
                threshold: overall.into(),
                at: now,
            });
        }
        if let Some(n) = one {
            self.fire(Alert {
                alert: AlertKind::AuthFailuresPerIp,
                summary: format!(
                    "{n} authentication failures in a minute from {ip} (threshold {per_ip})"
                ),
                client_ip: Some(ip.to_string()),
                subject: None,
                value: n.into(),
                threshold: per_ip.into(),
                at: now,
            });
        }
    }

    /// A valid token of `subject`, presented by `ip` at `now` (seconds since the epoch) to the
    /// worker whose memo is `memo`, expires
    /// in `secs` and lives `lifetime` seconds in all (`exp` − `iat`). `token_expiring` fires for
    /// a token that is now inside the threshold but lived longer than it: a long-lived
    /// credential about to lapse. A token issued for less than the threshold (every 15-minute
    /// token against a 1-hour threshold) is short-lived by design, not expiring. Without `iat`
    /// the lifetime is unknown and the token counts as long-lived.
    pub fn token_seen(
        &self,
        memo: &mut Memo,
        subject: &str,
        secs: u64,
        lifetime: Option<u64>,
        ip: IpAddr,
        now: u64,
    ) {
        let limit = self.cfg.token_expiry;
        if secs >= limit || lifetime.is_some_and(|l| l <= limit) {
            return;
        }
        let minute = now / 60;
        if self.seen(memo, minute, |m| m.subject.as_deref() == Some(subject)) {
            return;
        }
        let first = self.with_window(now, |w| {
            !w.fired_subject.contains(subject) && w.fired_subject.insert(subject.to_owned())
        });
        self.remember(memo, minute, |m| m.subject = Some(subject.to_owned()));
        if first {
            self.fire(Alert {
                alert: AlertKind::TokenExpiring,
                summary: format!(
                    "a token of subject {} used from {ip} expires in {} (threshold {})",
                    subject.escape_debug(),
                    vigil_token::rejection::human(secs),
                    vigil_token::rejection::human(limit)
                ),
                client_ip: Some(ip.to_string()),
                subject: Some(subject.to_owned()),
                value: secs,
                threshold: limit,
                at: now,
            });
        }
    }

    /// Secrets of `rules` were found in a tool call (`kind`: arguments or result) on `route`,
    /// from `ip` for `subject`: fires once per kind and route per minute, naming the rules,
    /// never the secrets.
    pub fn secret(
        &self,
        kind: AlertKind,
        route: &str,
        rules: &[String],
        subject: Option<&str>,
        ip: IpAddr,
        now: u64,
    ) {
        let first = self.with_window(now, |w| {
            !w.fired_secret.iter().any(|(k, r)| *k == kind && r == route)
                && w.fired_secret.insert((kind, route.to_owned()))
        });
        if !first {
            return;
        }
        let place = match kind {
            AlertKind::SecretInResult => "a tool result",
            _ => "a tool call's arguments",
        };
        self.fire(Alert {
            alert: kind,
            summary: format!(
                "secret ({}) in {place} on route {}",
                rules.join(", "),
                route.escape_debug()
            ),
            client_ip: Some(ip.to_string()),
            subject: subject.map(str::to_owned),
            value: rules.len() as u64,
            threshold: 0,
            at: now,
        });
    }

    /// A tool of `server` whose definition is not the pinned one (`what` says how), once per
    /// definition; `held`: it is hidden and refused until approved.
    pub fn tool_changed(&self, server: &str, tool: &str, what: &str, held: bool) {
        self.fire(Alert {
            alert: AlertKind::ToolChanged,
            summary: format!(
                "tool {} of server {} {what}{}",
                tool.escape_debug(),
                server.escape_debug(),
                if held {
                    // Refused while the upstream lists it so (the gateway's own fetch); a hold
                    // that outlasts the upstream's next listing is made only by a client's.
                    "; its calls are refused while the upstream lists it so, until approved (vigil gateway pin, then --approve DIGEST)"
                } else {
                    ""
                }
            ),
            client_ip: None,
            subject: None,
            value: 1,
            threshold: 0,
            at: unix_secs(SystemTime::now()),
        });
    }

    /// Tools of `server` a client's listing gave with a definition that is not the approved
    /// one (or twice): one alert naming how many and the first few; `held`: their calls are
    /// refused until approved.
    pub fn tools_given(&self, server: &str, tools: &[&str], held: bool) {
        const NAMED: usize = 5;
        let clip = |t: &str| {
            let t = t.escape_debug().to_string();
            match t.char_indices().nth(64) {
                Some((i, _)) => format!("{}…", &t[..i]),
                None => t,
            }
        };
        let named: Vec<String> = tools.iter().take(NAMED).map(|t| clip(t)).collect();
        let which = match tools.len() {
            1 => format!("tool {} of server {} was", named[0], server.escape_debug()),
            n if n <= NAMED => format!(
                "{n} tools of server {} ({}) were",
                server.escape_debug(),
                named.join(", ")
            ),
            n => format!(
                "{n} tools of server {} ({} and {} more) were",
                server.escape_debug(),
                named.join(", "),
                n - NAMED
            ),
        };
        self.fire(Alert {
            alert: AlertKind::ToolChanged,
            summary: format!(
                "{which} in a listing for a client with a definition that is not the approved one (or twice){}",
                if held {
                    "; hidden where the pins enforce, and held until approved (vigil gateway pin, then --approve DIGEST)"
                } else {
                    ""
                }
            ),
            client_ip: None,
            subject: None,
            value: tools.len() as u64,
            threshold: 0,
            at: unix_secs(SystemTime::now()),
        });
    }

    fn fire(&self, mut a: Alert) {
        // Text a client or an upstream chose (a token's subject, a tool's name) may hold a
        // secret: through the logs' redactor before it is logged, counted or posted.
        a.summary = vigil_core::redact::redact(&a.summary).into_owned();
        a.subject = a
            .subject
            .map(|s| vigil_core::redact::redact(&s).into_owned());
        tracing::warn!(
            target: "vigil::alert",
            alert = a.alert.as_str(),
            client_ip = a.client_ip.as_deref().unwrap_or(""),
            subject = a.subject.as_deref().unwrap_or(""),
            value = a.value,
            threshold = a.threshold,
            "alert: {}",
            a.summary
        );
        self.metrics
            .alerts
            .get_or_create(&AlertLabel {
                alert: a.alert.as_str().to_owned(),
            })
            .inc();
        if let Some(tx) = &self.webhook {
            if tx.try_send(a).is_err() {
                tracing::warn!("alert webhook queue full; alert not posted");
            }
        }
    }
}

/// Text a client chose (a token's subject) made inert for Discord: no mention pings (`@` gets a
/// zero-width space after it) and no markup (`<`, `>`, `` ` ``, `*`, `_`, `~`, `|`, `\\`
/// escaped).
fn for_discord(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '@' => out.push_str("@\u{200b}"),
            '<' | '>' | '`' | '*' | '_' | '~' | '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The same for Slack: `&`, `<` and `>` as entities, so `<!channel>` or `<@U123>` is text.
fn for_slack(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Posts one alert: `content` for Discord (with `allowed_mentions` empty, so nothing in it can
/// ping anyone), `text` for Slack, each escaped for its reader, and the alert itself.
fn post(url: &str, a: &Alert) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build()
        .into();
    let text = format!("[vigil gateway] {}", a.summary);
    let body = serde_json::json!({
        "content": for_discord(&text),
        "allowed_mentions": { "parse": [] },
        "text": for_slack(&text),
        "alert": a,
    });
    if let Err(e) = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
    {
        tracing::warn!(alert = a.alert.as_str(), error = %e, "alert webhook failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(requests_per_ip: u32) -> (Alerts, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let cfg = Alerting {
            auth_failures: 10,
            auth_failures_per_ip: 10,
            requests_per_ip,
            token_expiry: 3600,
            webhook_url: None,
        };
        (Alerts::new(cfg, metrics.clone()), metrics)
    }

    fn fired(m: &Metrics, alert: &str) -> u64 {
        m.alerts
            .get_or_create(&AlertLabel {
                alert: alert.into(),
            })
            .get()
    }

    #[test]
    fn each_alert_fires_once_per_window_and_again_in_the_next() {
        let (a, m) = alerts(100);
        let (one, two): (IpAddr, IpAddr) = ([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
        let t = 6_000_000; // the start of a minute
        let mut m1 = Memo::default();
        for _ in 0..100 {
            a.request(&mut m1, one, t);
        }
        assert_eq!(
            fired(&m, "requests_per_ip"),
            0,
            "100 is the threshold, not over it"
        );
        for _ in 0..500 {
            a.request(&mut m1, one, t + 30);
        }
        assert_eq!(fired(&m, "requests_per_ip"), 1);
        // Another IP has its own count, and another worker its own memo.
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut m2 = Memo::default();
                for _ in 0..101 {
                    a.request(&mut m2, two, t + 59);
                }
                a.request(&mut m2, one, t + 59);
            });
        });
        assert_eq!(fired(&m, "requests_per_ip"), 2);
        // The next minute starts from zero.
        for _ in 0..100 {
            a.request(&mut m1, one, t + 60);
        }
        assert_eq!(fired(&m, "requests_per_ip"), 2);
        a.request(&mut m1, one, t + 61);
        assert_eq!(fired(&m, "requests_per_ip"), 3);
        // A second gateway does not inherit this one's memo.
        let (b, mb) = alerts(1);
        b.request(&mut m1, one, t + 61);
        b.request(&mut m1, one, t + 61);
        assert_eq!(fired(&mb, "requests_per_ip"), 1);
    }

    #[test]
    fn an_expiring_token_alerts_once_per_subject_per_window() {
        let (a, m) = alerts(100);
        let t = 6_000_000;
        let ip: IpAddr = [192, 0, 2, 9].into();
        let mut memo = Memo::default();
        let day = Some(86_400);
        a.token_seen(&mut memo, "svc-a", 7200, day, ip, t);
        assert_eq!(fired(&m, "token_expiring"), 0, "two hours left is fine");
        a.token_seen(&mut memo, "svc-a", 600, Some(900), ip, t);
        assert_eq!(
            fired(&m, "token_expiring"),
            0,
            "a 15-minute token is short-lived, not expiring"
        );
        a.token_seen(&mut memo, "svc-a", 600, Some(3600), ip, t);
        assert_eq!(
            fired(&m, "token_expiring"),
            0,
            "a lifetime equal to the threshold"
        );
        for _ in 0..5 {
            a.token_seen(&mut memo, "svc-a", 600, day, ip, t);
        }
        assert_eq!(fired(&m, "token_expiring"), 1);
        a.token_seen(&mut memo, "svc-b", 600, None, ip, t + 1);
        a.token_seen(&mut memo, "svc-a", 600, day, ip, t + 2);
        assert_eq!(fired(&m, "token_expiring"), 2);
        a.token_seen(&mut memo, "svc-a", 500, day, ip, t + 60);
        assert_eq!(fired(&m, "token_expiring"), 3);
    }

    #[test]
    fn auth_failures_fire_overall_and_per_ip() {
        let (a, m) = alerts(100);
        for i in 0..11u8 {
            a.auth_failure([192, 0, 2, i].into(), 6_000_000);
        }
        assert_eq!(fired(&m, "auth_failures"), 1);
        assert_eq!(fired(&m, "auth_failures_per_ip"), 0);
        for _ in 0..20 {
            a.auth_failure([192, 0, 2, 200].into(), 6_000_001);
        }
        assert_eq!(fired(&m, "auth_failures"), 1);
        assert_eq!(fired(&m, "auth_failures_per_ip"), 1);
    }
}
