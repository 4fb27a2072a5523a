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

/// One fired alert.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    /// Stable name: `auth_failures`, `auth_failures_per_ip`, `requests_per_ip`, `token_expiring`.
    pub alert: &'static str,
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
    fired: HashSet<(&'static str, String)>,
}

/// Counts events and fires alerts.
pub struct Alerts {
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

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now() -> u64 {
    unix_secs(SystemTime::now())
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
            cfg,
            metrics,
            window: Mutex::new(Window::default()),
            webhook,
        }
    }

    fn with_window<R>(&self, f: impl FnOnce(&mut Window) -> R) -> R {
        self.with_window_at(now(), f)
    }

    fn with_window_at<R>(&self, now: u64, f: impl FnOnce(&mut Window) -> R) -> R {
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

    /// A request arrived from `ip` at `now` (seconds since the epoch).
    pub fn request(&self, ip: IpAddr, now: u64) {
        let limit = self.cfg.requests_per_ip;
        let fire = self.with_window_at(now, |w| {
            if w.requests_per_ip.len() >= MAX_TRACKED && !w.requests_per_ip.contains_key(&ip) {
                return None;
            }
            let n = w.requests_per_ip.entry(ip).or_insert(0);
            *n += 1;
            let n = *n;
            (n > limit && w.fired.insert(("requests_per_ip", ip.to_string()))).then_some(n)
        });
        if let Some(n) = fire {
            self.fire(Alert {
                alert: "requests_per_ip",
                summary: format!("{n} requests in a minute from {ip} (threshold {limit})"),
                client_ip: Some(ip.to_string()),
                subject: None,
                value: n.into(),
                threshold: limit.into(),
                at: now,
            });
        }
    }

    /// A request from `ip` was refused for its token.
    pub fn auth_failure(&self, ip: IpAddr) {
        let (overall, per_ip) = (self.cfg.auth_failures, self.cfg.auth_failures_per_ip);
        let (all, one) = self.with_window(|w| {
            w.auth_failures += 1;
            let all = (w.auth_failures > overall
                && w.fired.insert(("auth_failures", String::new())))
            .then_some(w.auth_failures);
            let one = if w.auth_per_ip.len() < MAX_TRACKED || w.auth_per_ip.contains_key(&ip) {
                let n = w.auth_per_ip.entry(ip).or_insert(0);
                *n += 1;
                let n = *n;
                (n > per_ip && w.fired.insert(("auth_failures_per_ip", ip.to_string())))
                    .then_some(n)
            } else {
                None
            };
            (all, one)
        });
        if let Some(n) = all {
            self.fire(Alert {
                alert: "auth_failures",
                summary: format!("{n} authentication failures in a minute (threshold {overall})"),
                client_ip: None,
                subject: None,
                value: n.into(),
                threshold: overall.into(),
                at: now(),
            });
        }
        if let Some(n) = one {
            self.fire(Alert {
                alert: "auth_failures_per_ip",
                summary: format!(
                    "{n} authentication failures in a minute from {ip} (threshold {per_ip})"
                ),
                client_ip: Some(ip.to_string()),
                subject: None,
                value: n.into(),
                threshold: per_ip.into(),
                at: now(),
            });
        }
    }

    /// A valid token of `subject` expires in `secs`.
    pub fn token_seen(&self, subject: &str, secs: u64) {
        let limit = self.cfg.token_expiry;
        if secs >= limit {
            return;
        }
        let first = self.with_window(|w| w.fired.insert(("token_expiring", subject.to_owned())));
        if first {
            self.fire(Alert {
                alert: "token_expiring",
                summary: format!(
                    "a token of subject {subject} expires in {} (threshold {})",
                    vigil_token::rejection::human(secs),
                    vigil_token::rejection::human(limit)
                ),
                client_ip: None,
                subject: Some(subject.to_owned()),
                value: secs,
                threshold: limit,
                at: now(),
            });
        }
    }

    fn fire(&self, a: Alert) {
        tracing::warn!(
            target: "vigil::alert",
            alert = a.alert,
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
                alert: a.alert.to_owned(),
            })
            .inc();
        if let Some(tx) = &self.webhook {
            if tx.try_send(a).is_err() {
                tracing::warn!("alert webhook queue full; alert not posted");
            }
        }
    }
}

/// Posts one alert: `content` for Discord, `text` for Slack, and the alert itself.
fn post(url: &str, a: &Alert) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build()
        .into();
    let text = format!("[vigil gateway] {}", a.summary);
    let body = serde_json::json!({ "content": text, "text": text, "alert": a });
    if let Err(e) = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
    {
        tracing::warn!(alert = a.alert, error = %e, "alert webhook failed");
    }
}
