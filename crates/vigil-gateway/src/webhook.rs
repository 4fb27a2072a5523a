//! Webhook ingress: a route with `webhook = { scheme, secrets, tolerance }` needs no bearer token;
//! its requests carry an HMAC-SHA256 signature instead, checked against every configured secret
//! (the rotation's new default and promoted backup) in constant time (`hmac`, `sha2`, `subtle`).
//! Standard Webhooks signs `webhook-id`, `webhook-timestamp` and the body: stale timestamps and
//! ids seen before are refused (a bounded cache in this process, or Redis when the rate limits
//! use it). GitHub signs only the body: `X-GitHub-Delivery` is unsigned, so its replay check is
//! best effort. `hmac-sha256` is a bare body signature in a header of the route's choice, with
//! no replay protection. Which secret matched is counted by its name (the `${VARIABLE}` it came
//! from, or `secrets[i]`), never its value.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, StatusCode};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};
use vigil_core::{duration, Secret};

/// `[gateway.routes.webhook]`, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// `standard-webhooks`, `github` or `hmac-sha256`.
    pub scheme: Option<String>,
    /// The secrets accepted, usually `["${WEBHOOK_SECRET_DEFAULT}", "${WEBHOOK_SECRET_BACKUP}"]`.
    pub secrets: Option<Vec<String>>,
    /// How far a signed timestamp may be from now, and how long ids are remembered (default 5m).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub tolerance: Option<Duration>,
    /// The signature header of `hmac-sha256` (default `X-Signature-256`).
    pub header: Option<String>,
    /// Most delivery ids remembered at once (default 100000).
    pub replay_cache: Option<usize>,
}

/// How deliveries are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// <https://www.standardwebhooks.com>: `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64>`, `whsec_<base64>` secrets.
    StandardWebhooks,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
    GitHub,
    /// A hex (optionally `sha256=`) or base64 HMAC-SHA256 of the body in one header.
    HmacSha256,
}

impl Scheme {
    /// The name as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::GitHub => "github",
            Scheme::HmacSha256 => "hmac-sha256",
        }
    }
}

/// Why a webhook setting is refused (each is reported at its key).
#[derive(Debug, thiserror::Error)]
pub enum WebhookProblem {
    /// No or an unknown scheme.
    #[error("must be \"standard-webhooks\", \"github\" or \"hmac-sha256\"")]
    Scheme,
    /// No secrets.
    #[error("no secrets listed (list the rotation's variables, e.g. ${{WEBHOOK_SECRET_DEFAULT}} and ${{WEBHOOK_SECRET_BACKUP}})")]
    NoSecrets,
    /// An empty secret.
    #[error("{0} is empty")]
    Empty(String),
    /// A weak or default secret.
    #[error("{0} is too weak to verify webhooks with (generate one: openssl rand -base64 32; Standard Webhooks: whsec_ and 24 to 64 random bytes in base64)")]
    Weak(String),
    /// A Standard Webhooks secret that is not base64 (after `whsec_`).
    #[error("{0} is not a Standard Webhooks secret (whsec_ followed by base64)")]
    NotBase64(String),
    /// The same secret twice.
    #[error("{0} equals {1} (the rotation did not change the secret)")]
    Duplicate(String, String),
    /// A zero or over-a-day tolerance.
    #[error("must be between 1s and 24h")]
    Tolerance,
    /// `header` on a scheme with fixed headers, or not a header name.
    #[error("only hmac-sha256 takes a header, and it must be a header name")]
    Header,
    /// A zero replay cache.
    #[error("must be at least 1")]
    ReplayCache,
    /// `oidc` on a webhook route.
    #[error("a webhook route is authenticated by its signature, not by oidc tokens")]
    WithOidc,
    /// `auth = false` with a webhook.
    #[error("a webhook route is authenticated by its signature; remove auth = false")]
    WithoutAuth,
}

/// One secret and the name `/metrics` shows for it.
struct Key {
    name: String,
    bytes: Secret<Vec<u8>>,
}

/// A route's webhook verification: scheme, secrets, tolerance, replay memory.
pub struct Webhook {
    scheme: Scheme,
    keys: Vec<Key>,
    tolerance: u64,
    header: HeaderName,
    replay: Replay,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("scheme", &self.scheme)
            .field(
                "secrets",
                &self
                    .keys
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

/// Why a delivery is refused; `reason` is the metrics label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401, 400 for a header given twice or under another spelling, or 503 when the replay
    /// memory is full.
    pub status: StatusCode,
    /// `missing_signature`, `bad_signature`, `stale_timestamp`, `replayed`, `replay_cache_full`.
    pub reason: &'static str,
    /// For the client.
    pub description: &'static str,
}

fn refuse(reason: &'static str, description: &'static str) -> Refusal {
    Refusal {
        status: StatusCode::UNAUTHORIZED,
        reason,
        description,
    }
}

/// A secret's name for messages and metrics: the variable of a `${VARIABLE}` value as written,
/// else `secrets[i]`.
pub fn secret_name(raw: Option<&str>, i: usize) -> String {
    raw.and_then(|r| r.strip_prefix("${"))
        .and_then(|r| r.strip_suffix('}'))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map_or_else(|| format!("secrets[{i}]"), str::to_owned)
}

impl Webhook {
    /// Validates a route's section. `names[i]` names `secrets[i]`; `allow_weak` accepts a weak
    /// secret (the caller allows it on loopback only). Errors carry the key suffix they concern
    /// (`.scheme`, `.secrets`, …).
    pub fn new(
        s: &WebhookSection,
        names: &[String],
        allow_weak: bool,
    ) -> Result<Webhook, crate::config::KeyedError<WebhookProblem>> {
        Self::new_keyed(s, names, allow_weak)
            .map_err(|(key, problem)| crate::config::KeyedError { key, problem })
    }

    fn new_keyed(
        s: &WebhookSection,
        names: &[String],
        allow_weak: bool,
    ) -> Result<Webhook, (String, WebhookProblem)> {
        // The key of a secret's problem names its index: text right after `secrets: ` would
        // be masked as a value by the log redactor.
        let at = |i: usize| format!(".secrets[{i}]");
        let scheme = match s.scheme.as_deref() {
            Some("standard-webhooks") => Scheme::StandardWebhooks,
            Some("github") => Scheme::GitHub,
            Some("hmac-sha256") => Scheme::HmacSha256,
            _ => return Err((".scheme".into(), WebhookProblem::Scheme)),
        };
        let secrets = s
            .secrets
            .as_deref()
            .filter(|l| !l.is_empty())
            .ok_or((String::new(), WebhookProblem::NoSecrets))?;
        let mut keys: Vec<Key> = Vec::new();
        for (i, value) in secrets.iter().enumerate() {
            let name = names
                .get(i)
                .cloned()
                .unwrap_or_else(|| secret_name(None, i));
            let value = value.trim();
            if value.is_empty() {
                return Err((at(i), WebhookProblem::Empty(name)));
            }
            vigil_core::redact::register(value);
            let bytes = match scheme {
                Scheme::StandardWebhooks => {
                    let b64 = value.strip_prefix("whsec_").unwrap_or(value);
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|_| (at(i), WebhookProblem::NotBase64(name.clone())))?;
                    let distinct = bytes.iter().collect::<BTreeSet<_>>().len();
                    let weak = bytes.len() < 24
                        || distinct < 12
                        || vigil_core::strength::is_known_default(value);
                    if weak && !allow_weak {
                        return Err((at(i), WebhookProblem::Weak(name)));
                    }
                    bytes
                }
                Scheme::GitHub | Scheme::HmacSha256 => {
                    if vigil_token::compliance::secret_weakness(value).is_some() && !allow_weak {
                        return Err((at(i), WebhookProblem::Weak(name)));
                    }
                    value.as_bytes().to_vec()
                }
            };
            let bytes = Secret::new(bytes);
            if let Some(same) = keys.iter().find(|k| k.bytes.ct_eq(&bytes)) {
                return Err((at(i), WebhookProblem::Duplicate(name, same.name.clone())));
            }
            keys.push(Key { name, bytes });
        }
        let tolerance = s.tolerance.unwrap_or(Duration::from_secs(300)).as_secs();
        if tolerance == 0 || tolerance > 86_400 {
            return Err((".tolerance".into(), WebhookProblem::Tolerance));
        }
        let header = match (&s.header, scheme) {
            (None, Scheme::HmacSha256) => HeaderName::from_static("x-signature-256"),
            (None, Scheme::GitHub) => HeaderName::from_static("x-hub-signature-256"),
            (None, Scheme::StandardWebhooks) => HeaderName::from_static("webhook-signature"),
            (Some(h), Scheme::HmacSha256) => HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| (".header".into(), WebhookProblem::Header))?,
            (Some(_), _) => return Err((".header".into(), WebhookProblem::Header)),
        };
        let cap = s.replay_cache.unwrap_or(100_000);
        if cap == 0 {
            return Err((".replay_cache".into(), WebhookProblem::ReplayCache));
        }
        Ok(Webhook {
            scheme,
            keys,
            tolerance,
            header,
            replay: Replay::new(cap, scheme == Scheme::GitHub),
        })
    }

    /// Shares replay memory through Redis (`prefix` + id), falling back to this process's
    /// memory when Redis does not answer.
    pub fn use_redis(&self, conn: redis::aio::ConnectionManager, prefix: String) {
        let _ = self.replay.redis.set((conn, prefix));
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Keeps remembering the delivery ids `old` (this route before a reload, same scheme) has
    /// seen, so a reload does not open a window for replays when Redis is not used.
    pub fn carry_replay(&mut self, old: &Webhook) {
        if old.scheme == self.scheme {
            self.replay.local = old.replay.local.clone();
        }
    }

    /// The secrets' names, in order.
    pub fn secret_names(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.name.as_str()).collect()
    }

    /// The HMAC key bytes each secret is used as (trimmed; a Standard Webhooks secret
    /// base64-decoded), in the order of [`Webhook::secret_names`].
    pub(crate) fn key_bytes(&self) -> Vec<&[u8]> {
        self.keys
            .iter()
            .map(|k| k.bytes.expose_secret().as_slice())
            .collect()
    }

    /// Verifies one delivery at `now` (seconds since the epoch): the name of the secret that
    /// signed it, or why it is refused. Every secret is tried, whichever matches.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<&str, Refusal> {
        let checked: &[&str] = match self.scheme {
            Scheme::StandardWebhooks => &["webhook-id", "webhook-timestamp", "webhook-signature"],
            Scheme::GitHub => &["x-hub-signature-256", "x-github-delivery"],
            Scheme::HmacSha256 => &[self.header.as_str()],
        };
        unambiguous(headers, checked)?;
        match self.scheme {
            Scheme::StandardWebhooks => {
                let id = one(headers, "webhook-id")?;
                let ts = one(headers, "webhook-timestamp")?;
                let sig = one(headers, "webhook-signature")?;
                if id.is_empty()
                    || id.len() > 256
                    || !id.bytes().all(|b| b.is_ascii_graphic())
                    || id.contains('.')
                {
                    return Err(refuse("bad_id", "the webhook-id header is malformed"));
                }
                let ts_n: u64 = ts
                    .parse()
                    .map_err(|_| refuse("bad_timestamp", "webhook-timestamp is not a number"))?;
                if ts_n.abs_diff(now) > self.tolerance {
                    return Err(refuse(
                        "stale_timestamp",
                        "webhook-timestamp is too far from now",
                    ));
                }
                let mut candidates = Vec::new();
                for part in sig.split(' ').filter(|p| !p.is_empty()) {
                    if let Some(b64) = part.strip_prefix("v1,") {
                        if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(b64) {
                            candidates.push(b);
                        }
                    }
                }
                let name = self.matching(
                    &candidates,
                    &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
                )?;
                // Remembered until its timestamp is stale anyway.
                let until = ts_n.max(now) + self.tolerance + 1;
                self.replay.check(id, now, until).await?;
                Ok(name)
            }
            Scheme::GitHub => {
                let sig = one(headers, "x-hub-signature-256")?;
                let candidates: Vec<Vec<u8>> = sig
                    .strip_prefix("sha256=")
                    .and_then(hex)
                    .into_iter()
                    .collect();
                let name = self.matching(&candidates, &[body])?;
                // Unsigned: best effort against a replay that keeps the id. GitHub sends
                // exactly one id (a GUID) with every delivery, so none, two, or one that is not
                // a short printable token is refused rather than let through unremembered;
                // the id is remembered case-folded (`D1` is `d1`).
                let mut ids = headers.get_all("x-github-delivery").iter();
                let id = match (ids.next().and_then(|v| v.to_str().ok()), ids.next()) {
                    (Some(id), None)
                        if !id.trim().is_empty()
                            && id.trim().len() <= 256
                            && id.trim().bytes().all(|b| b.is_ascii_graphic()) =>
                    {
                        id.trim().to_ascii_lowercase()
                    }
                    _ => {
                        return Err(refuse(
                            "missing_delivery",
                            "X-GitHub-Delivery is missing, given twice, or not a delivery id",
                        ))
                    }
                };
                self.replay.check(&id, now, now + self.tolerance).await?;
                Ok(name)
            }
            Scheme::HmacSha256 => {
                let sig = one(headers, self.header.as_str())?;
                let text = sig.strip_prefix("sha256=").unwrap_or(sig);
                let candidates: Vec<Vec<u8>> = hex(text)
                    .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
                    .into_iter()
                    .collect();
                self.matching(&candidates, &[body])
            }
        }
    }

    /// The name of the first secret whose HMAC of `parts` is among `candidates`, every secret
    /// and candidate compared in constant time.
    fn matching(&self, candidates: &[Vec<u8>], parts: &[&[u8]]) -> Result<&str, Refusal> {
        if candidates.is_empty() {
            return Err(refuse(
                "missing_signature",
                "the delivery carries no signature of this scheme",
            ));
        }
        let mut found: Option<usize> = None;
        for (i, k) in self.keys.iter().enumerate() {
            // The key's bytes go only into the MAC.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(k.bytes.expose_secret()) else {
                continue;
            };
            for p in parts {
                mac.update(p);
            }
            let expected = mac.finalize().into_bytes();
            let mut hit = Choice::from(0);
            for c in candidates {
                hit |= expected.as_slice().ct_eq(c.as_slice());
            }
            if bool::from(hit) && found.is_none() {
                found = Some(i);
            }
        }
        match found {
            Some(i) => Ok(&self.keys[i].name),
            None => Err(refuse(
                "bad_signature",
                "the signature matches no configured secret",
            )),
        }
    }
}

/// Refuses (400) a delivery that also carries a checked header under another spelling the
/// upstream may read instead: underscores for hyphens (CGI and WSGI servers read
/// `X_GitHub_Delivery` as `X-GitHub-Delivery`) or Svix's names for Standard Webhooks' (`svix-id`
/// for `webhook-id`). Any header of the webhook families (`X-GitHub-*`, `X-Hub-*`, `Webhook-*`,
/// `Svix-*`, the route's own signature header) spelled with underscores is refused too, checked
/// or not: no sender spells them so, and beside the real one an upstream could read either.
/// So is one of them given twice (a second `X-GitHub-Event`: the signature covers the body
/// only, and an upstream that routes by the event may take either value), or an `X-GitHub-*`
/// value holding a list (`push, issues`).
fn unambiguous(headers: &HeaderMap, checked: &[&str]) -> Result<(), Refusal> {
    for name in headers.keys() {
        let twice = headers.get_all(name).iter().nth(1).is_some();
        let name = name.as_str();
        let dashed = crate::proxy::cgi_name(name);
        let svix = dashed
            .strip_prefix("svix-")
            .map(|rest| format!("webhook-{rest}"));
        let family = |n: &str| {
            ["x-github-", "x-hub-", "webhook-", "svix-"]
                .iter()
                .any(|p| {
                    n.len() > p.len() && n.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
                })
                || checked.iter().any(|c| n.eq_ignore_ascii_case(c))
        };
        let twin = (crate::proxy::odd_separator(name) && family(&dashed))
            || svix
                .as_deref()
                .is_some_and(|s| checked.iter().any(|c| s.eq_ignore_ascii_case(c)));
        if twin {
            return Err(Refusal {
                status: StatusCode::BAD_REQUEST,
                reason: "ambiguous_header",
                description:
                    "a webhook header is given under another spelling (underscores, or svix-*)",
            });
        }
        // A list in one GitHub header (`X-GitHub-Event: push, issues`): an upstream that
        // routes by the event may take either item. GitHub's own values never hold a comma.
        let listed = name.len() > 9
            && name.as_bytes()[..9].eq_ignore_ascii_case(b"x-github-")
            && headers
                .get_all(name)
                .iter()
                .any(|v| v.as_bytes().contains(&b','));
        if listed {
            return Err(Refusal {
                status: StatusCode::BAD_REQUEST,
                reason: "ambiguous_header",
                description: "a GitHub webhook header holds a list",
            });
        }
        if twice && family(name) {
            return Err(Refusal {
                status: StatusCode::BAD_REQUEST,
                reason: "ambiguous_header",
                description: "a webhook header is given twice",
            });
        }
    }
    Ok(())
}

/// The one value of header `name` (none, two or not text: refused).
fn one<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Refusal> {
    let mut all = headers.get_all(name).iter();
    let (Some(v), None) = (all.next(), all.next()) else {
        return Err(refuse(
            "missing_signature",
            "a signature header is missing or given twice",
        ));
    };
    v.to_str()
        .map(str::trim)
        .map_err(|_| refuse("missing_signature", "a signature header is not text"))
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Delivery ids seen, each until it expires: in this process (bounded), or in Redis.
struct Replay {
    /// Shared with the route's next configuration on a reload ([`Webhook::carry_replay`]).
    local: std::sync::Arc<Mutex<Seen>>,
    cap: usize,
    /// Best effort (GitHub): a full memory forgets its oldest id rather than refusing.
    evict: bool,
    redis: std::sync::OnceLock<(redis::aio::ConnectionManager, String)>,
}

#[derive(Default)]
struct Seen {
    until: HashMap<String, u64>,
    by_expiry: BTreeSet<(u64, String)>,
}

impl Replay {
    fn new(cap: usize, evict: bool) -> Replay {
        Replay {
            local: std::sync::Arc::new(Mutex::new(Seen::default())),
            cap,
            evict,
            redis: std::sync::OnceLock::new(),
        }
    }

    /// Records `id` until `until`; refused when it was seen and has not expired.
    async fn check(&self, id: &str, now: u64, until: u64) -> Result<(), Refusal> {
        if let Some((conn, prefix)) = self.redis.get() {
            let mut conn = conn.clone();
            let ms = until.saturating_sub(now).max(1) * 1000;
            let answer: Result<Option<String>, _> = redis::cmd("SET")
                .arg(format!("{prefix}{id}"))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn)
                .await;
            match answer {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => return Err(replayed()),
                Err(e) => {
                    tracing::warn!(error = %e, "redis replay memory unavailable; remembering webhook ids in this instance only");
                }
            }
        }
        let mut s = self.local.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((t, _)) = s.by_expiry.first() {
            if *t > now {
                break;
            }
            if let Some((_, old)) = s.by_expiry.pop_first() {
                s.until.remove(&old);
            }
        }
        if s.until.get(id).is_some_and(|t| *t > now) {
            return Err(replayed());
        }
        if s.until.len() >= self.cap {
            if !self.evict {
                return Err(Refusal {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    reason: "replay_cache_full",
                    description: "too many deliveries within the tolerance; retry later",
                });
            }
            if let Some((_, old)) = s.by_expiry.pop_first() {
                s.until.remove(&old);
            }
        }
        s.until.insert(id.to_owned(), until);
        s.by_expiry.insert((until, id.to_owned()));
        Ok(())
    }
}

fn replayed() -> Refusal {
    refuse("replayed", "this delivery id was seen before")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn strong(seed: usize) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..48)
            .map(|i| alphabet[(i * 37 + 11 + seed * 7) % 62] as char)
            .collect()
    }

    fn sign(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn section(scheme: &str, secrets: Vec<String>) -> WebhookSection {
        WebhookSection {
            scheme: Some(scheme.into()),
            secrets: Some(secrets),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn standard_webhooks_accept_either_secret_once_within_the_tolerance() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let raw: Vec<Vec<u8>> = (0..2)
            .map(|s| strong(s).as_bytes()[..32].to_vec())
            .collect();
        let secrets = raw
            .iter()
            .map(|r| format!("whsec_{}", b64.encode(r)))
            .collect();
        let names = vec!["DEFAULT".to_owned(), "BACKUP".to_owned()];
        let w = Webhook::new(&section("standard-webhooks", secrets), &names, false).unwrap();
        let now = 1_700_000_000u64;
        let body = br#"{"type":"ping"}"#;
        let headers = |id: &str, ts: u64, key: &[u8]| {
            let sig = sign(
                key,
                &[id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body],
            );
            let mut h = HeaderMap::new();
            h.insert("webhook-id", HeaderValue::from_str(id).unwrap());
            h.insert("webhook-timestamp", HeaderValue::from(ts));
            h.insert(
                "webhook-signature",
                HeaderValue::from_str(&format!("v1,AAAA v1,{}", b64.encode(sig))).unwrap(),
            );
            h
        };
        assert_eq!(
            w.verify(&headers("msg_1", now, &raw[1]), body, now).await,
            Ok("BACKUP")
        );
        assert_eq!(
            w.verify(&headers("msg_1", now, &raw[1]), body, now)
                .await
                .unwrap_err()
                .reason,
            "replayed"
        );
        assert_eq!(
            w.verify(&headers("msg_2", now - 301, &raw[0]), body, now)
                .await
                .unwrap_err()
                .reason,
            "stale_timestamp"
        );
        assert_eq!(
            w.verify(
                &headers("msg_3", now, b"0123456789abcdef0123456789"),
                body,
                now
            )
            .await
            .unwrap_err()
            .reason,
            "bad_signature"
        );
        assert_eq!(
            w.verify(&headers("msg_4", now, &raw[0]), body, now).await,
            Ok("DEFAULT")
        );
    }

    #[test]
    fn weak_duplicate_and_misnamed_secrets_are_refused() {
        let e = Webhook::new(&section("github", vec!["changeme".into()]), &[], false).unwrap_err();
        assert!(matches!(e.problem, WebhookProblem::Weak(ref n) if n == "secrets[0]"));
        assert!(Webhook::new(&section("github", vec!["changeme".into()]), &[], true).is_ok());
        let e =
            Webhook::new(&section("github", vec![strong(1), strong(1)]), &[], false).unwrap_err();
        assert!(matches!(e.problem, WebhookProblem::Duplicate(..)));
        let e = Webhook::new(
            &section("standard-webhooks", vec!["whsec_c2hvcnQ=".into()]),
            &[],
            false,
        )
        .unwrap_err();
        assert!(matches!(e.problem, WebhookProblem::Weak(_)));
        assert!(Webhook::new(&section("svix", vec![strong(1)]), &[], false).is_err());
        assert_eq!(
            secret_name(Some("${WEBHOOK_SECRET_BACKUP}"), 1),
            "WEBHOOK_SECRET_BACKUP"
        );
        assert_eq!(secret_name(Some("literal"), 1), "secrets[1]");
    }

    #[tokio::test]
    async fn a_full_replay_memory_refuses_or_forgets_its_oldest() {
        let strict = Replay::new(2, false);
        assert!(strict.check("a", 10, 20).await.is_ok());
        assert!(strict.check("b", 10, 21).await.is_ok());
        assert_eq!(
            strict.check("c", 10, 22).await.unwrap_err().reason,
            "replay_cache_full"
        );
        // Once `a` expires there is room again.
        assert!(strict.check("c", 20, 30).await.is_ok());
        let lenient = Replay::new(1, true);
        assert!(lenient.check("a", 10, 20).await.is_ok());
        assert!(lenient.check("b", 10, 20).await.is_ok());
        assert!(lenient.check("a", 10, 20).await.is_ok());
    }
}
