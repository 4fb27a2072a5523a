//! What a probe saw, as data, and the one function that judges it. Recorded observations are
//! the probe rules' fixtures, so the rules are tested without a network.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One answer: status, headers (lowercase names) and at most 64 KiB of body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercased; repeated headers joined with `, `.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The start of the body.
    #[serde(default)]
    pub body: String,
}

impl Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A burst of unauthenticated requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    /// How many were sent.
    pub sent: u32,
    /// The 1-based number of the first one answered 429, if any.
    pub first_429: Option<u32>,
    /// The 1-based number of the first one answered 2xx (served without a token), if any.
    #[serde(default)]
    pub first_2xx: Option<u32>,
}

/// Everything a probe of one URL saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// The URL probed.
    pub url: String,
    /// Whether it was HTTPS with a verified certificate.
    pub tls: bool,
    /// `POST` without a token (JSON-RPC `initialize`).
    #[serde(default)]
    pub unauthenticated: Option<Answer>,
    /// `POST` without a token, JSON-RPC `ping` (no `Origin`).
    #[serde(default)]
    pub unauthenticated_ping: Option<Answer>,
    /// `GET` of the RFC 9728 metadata named by the challenge (same origin only).
    #[serde(default)]
    pub metadata: Option<Answer>,
    /// `OPTIONS` preflight from a foreign origin.
    #[serde(default)]
    pub foreign_preflight: Option<Answer>,
    /// `POST` from a foreign origin without a token (JSON-RPC `ping`).
    #[serde(default)]
    pub foreign_post: Option<Answer>,
    /// An origin the manifest allows, if it lists any.
    #[serde(default)]
    pub allowed_origin: Option<String>,
    /// `OPTIONS` preflight from that origin.
    #[serde(default)]
    pub allowed_preflight: Option<Answer>,
    /// `--probe-burst N`.
    #[serde(default)]
    pub burst: Option<Burst>,
}

/// The foreign origin the probe claims to come from.
pub const FOREIGN_ORIGIN: &str = "https://probe.vigil.invalid";

/// Judges what was seen: `(rule id, message)` for each problem.
pub fn judge(o: &Observed) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let answers: Vec<&Answer> = [
        &o.unauthenticated,
        &o.metadata,
        &o.foreign_preflight,
        &o.foreign_post,
        &o.allowed_preflight,
    ]
    .into_iter()
    .flatten()
    .collect();
    let main = o.unauthenticated.as_ref().or(answers.first().copied());
    if !o.tls {
        out.push((
            "probe-plaintext",
            format!("{} is served over plain HTTP", o.url),
        ));
    } else if let Some(a) = main {
        if a.header("strict-transport-security").is_none() {
            out.push((
                "probe-no-hsts",
                "no Strict-Transport-Security header".into(),
            ));
        }
    }
    // A server that asks for a token on `initialize` but answers other methods without one
    // is not authenticated either.
    let served_later = o
        .unauthenticated_ping
        .as_ref()
        .filter(|p| (200..300).contains(&p.status))
        .map(|p| format!("a JSON-RPC ping without a token got {}", p.status))
        .or_else(|| {
            o.burst
                .as_ref()
                .and_then(|b| b.first_2xx)
                .map(|i| format!("ping #{i} of the burst, without a token, was answered 2xx"))
        });
    if let Some(a) = &o.unauthenticated {
        if a.status != 401 && a.status != 403 && a.status != 429 {
            out.push((
                "probe-no-auth",
                format!("a request without a token got {} instead of 401", a.status),
            ));
        } else if let Some(what) = served_later {
            out.push((
                "probe-no-auth",
                format!(
                    "initialize without a token got {}, but {what}: the token is not checked on every request",
                    a.status
                ),
            ));
        }
        if a.status == 401 {
            let challenge = a.header("www-authenticate").unwrap_or("");
            if !challenge
                .to_ascii_lowercase()
                .contains("resource_metadata=")
            {
                out.push((
                    "probe-no-resource-metadata",
                    "the 401 answer's WWW-Authenticate has no resource_metadata (RFC 9728)".into(),
                ));
            } else {
                let named = super::resource_metadata(challenge);
                let foreign = match (&named, url::Url::parse(&o.url)) {
                    (Some(m), Ok(u)) => !super::same_origin(m, &u),
                    _ => false,
                };
                match &o.metadata {
                    None if foreign => out.push((
                        "probe-bad-resource-metadata",
                        format!(
                            "resource_metadata names another origin ({}); RFC 9728 metadata lives under the resource's own origin, so it was not fetched",
                            crate::redact::redact_builtin(named.as_deref().unwrap_or(""))
                        ),
                    )),
                    None => {}
                    Some(m) => {
                        if let Err(why) = metadata_ok(m, &o.url) {
                            out.push(("probe-bad-resource-metadata", why));
                        }
                    }
                }
            }
        }
    }
    let accepts = |a: &Answer| {
        let acao = a.header("access-control-allow-origin").unwrap_or("");
        acao == "*" || acao == FOREIGN_ORIGIN
    };
    let foreign_ok = o
        .foreign_post
        .as_ref()
        .is_some_and(|a| (200..300).contains(&a.status) || accepts(a))
        || o.foreign_preflight.as_ref().is_some_and(accepts);
    if foreign_ok {
        out.push((
            "probe-foreign-origin",
            format!("a request with Origin {FOREIGN_ORIGIN} was accepted"),
        ));
    }
    if answers.iter().any(|a| {
        accepts(a)
            && a.header("access-control-allow-credentials")
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("true"))
    }) {
        out.push((
            "probe-cors-wildcard-credentials",
            "CORS allows any origin together with credentials".into(),
        ));
    }
    if let (Some(origin), Some(a)) = (&o.allowed_origin, &o.allowed_preflight) {
        let acao = a.header("access-control-allow-origin").unwrap_or("");
        let methods = a
            .header("access-control-allow-methods")
            .unwrap_or("")
            .to_ascii_lowercase();
        let headers = a
            .header("access-control-allow-headers")
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut wrong = Vec::new();
        if acao != origin && acao != "*" {
            wrong.push(format!(
                "Access-Control-Allow-Origin is `{acao}`, not {origin}"
            ));
        }
        if !methods.contains("post") {
            wrong.push("POST is not an allowed method".to_owned());
        }
        for h in ["authorization", "content-type"] {
            if !headers.contains(h) {
                wrong.push(format!("{h} is not an allowed header"));
            }
        }
        if !wrong.is_empty() {
            out.push((
                "probe-cors-mismatch",
                format!(
                    "the preflight for the manifest's origin {origin}: {}",
                    wrong.join("; ")
                ),
            ));
        }
    }
    if let Some(a) = main {
        if a.header("content-security-policy").is_none() {
            out.push(("probe-no-csp", "no Content-Security-Policy header".into()));
        }
        let mut missing = Vec::new();
        if !a
            .header("x-content-type-options")
            .is_some_and(|v| v.eq_ignore_ascii_case("nosniff"))
        {
            missing.push("X-Content-Type-Options: nosniff");
        }
        let frame = a.header("x-frame-options").is_some()
            || a.header("content-security-policy")
                .is_some_and(|c| c.contains("frame-ancestors"));
        if !frame {
            missing.push("X-Frame-Options (or CSP frame-ancestors)");
        }
        if a.header("referrer-policy").is_none() {
            missing.push("Referrer-Policy");
        }
        if !missing.is_empty() {
            out.push((
                "probe-missing-security-headers",
                format!("missing {}", missing.join(", ")),
            ));
        }
    }
    if let Some(b) = &o.burst {
        if b.first_429.is_none() {
            out.push((
                "probe-no-rate-limit",
                format!("{} requests in a burst got no 429", b.sent),
            ));
        }
    }
    out
}

/// Whether `resource` (from the metadata) covers the probed URL as MCP clients check it (RFC
/// 9728 §3.3, the MCP SDKs' `checkResourceAllowed`): same scheme, host and port, and a path
/// that is the probed path or one of its parents.
fn resource_covers(resource: &str, probed: &str) -> bool {
    let (Ok(r), Ok(p)) = (url::Url::parse(resource), url::Url::parse(probed)) else {
        return false;
    };
    let dir = |u: &url::Url| {
        let mut s = u.path().trim_end_matches('/').to_owned();
        s.push('/');
        s
    };
    r.scheme() == p.scheme()
        && r.host_str() == p.host_str()
        && r.port_or_known_default() == p.port_or_known_default()
        && dir(&p).starts_with(&dir(&r))
}

/// Whether an authorization server URL is https (plain http on loopback only).
fn secure_issuer(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        },
        _ => false,
    })
}

fn metadata_ok(m: &Answer, probed: &str) -> Result<(), String> {
    if m.status != 200 {
        return Err(format!(
            "the protected-resource metadata answered {}",
            m.status
        ));
    }
    let v: serde_json::Value = serde_json::from_str(&m.body)
        .map_err(|_| "the protected-resource metadata is not JSON".to_owned())?;
    if !v.get("resource").is_some_and(serde_json::Value::is_string) {
        return Err("the protected-resource metadata has no resource".into());
    }
    let servers = v
        .get("authorization_servers")
        .and_then(serde_json::Value::as_array);
    if !servers.is_some_and(|s| !s.is_empty() && s.iter().all(serde_json::Value::is_string)) {
        return Err("the protected-resource metadata lists no authorization_servers".into());
    }
    let resource = v
        .get("resource")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    if !resource_covers(resource, probed) {
        return Err(format!(
            "the protected-resource metadata names resource {}, not the probed URL (RFC 9728 §3.3)",
            crate::redact::redact_builtin(resource)
        ));
    }
    if let Some(bad) = servers
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .find(|s| !secure_issuer(s))
    {
        return Err(format!(
            "the protected-resource metadata lists an authorization server that is not https:// ({})",
            crate::redact::redact_builtin(bad)
        ));
    }
    Ok(())
}
