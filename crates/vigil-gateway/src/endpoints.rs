//! The gateway's own endpoints, without a token: `/healthz`, `/readyz`, `/metrics` and the
//! RFC 9728 protected-resource metadata. `/readyz` and `/metrics` count against the per-IP
//! limit of `[gateway.rate_limit]`; readiness is probed at most once a second and shown in detail
//! (which upstream is down) only to callers allowed to read `/metrics` when that is restricted
//! (`metrics_allow`, `metrics_token`); everyone else sees ready or not ready.

use crate::body::{self, Body};
use crate::gateway::Gateway;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use std::net::IpAddr;

/// The well-known path of RFC 9728 metadata.
pub const METADATA: &str = "/.well-known/oauth-protected-resource";

/// Whether `path` is one of the gateway's own endpoints (what [`answer`] answers): checked
/// first, so a request for a route never builds the endpoints' future.
pub fn is_own(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path == METADATA
        || path.starts_with("/.well-known/oauth-protected-resource/")
}

/// Answers `path` if it is one of the gateway's own endpoints; `ip` is the client's.
pub async fn answer(
    gw: &Gateway,
    path: &str,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    match path {
        "/healthz" => Some(body::typed(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n",
        )),
        "/readyz" | "/metrics" => {
            if let Some(l) = &gw.endpoint_limit {
                if let Err(wait) = l.check(&ip).await {
                    gw.metrics
                        .count_rate_limited("(gateway)", crate::metrics::Limit::Ip);
                    return Some(body::too_many(wait));
                }
            }
            let access = access(gw, ip, headers);
            Some(if path == "/readyz" {
                ready(gw, matches!(access, Access::Granted)).await
            } else {
                match access {
                    Access::Refused(r) => r,
                    Access::Open | Access::Granted => body::typed(
                        StatusCode::OK,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        gw.metrics.render(),
                    ),
                }
            })
        }
        p if p == METADATA || p.starts_with("/.well-known/oauth-protected-resource/") => {
            Some(metadata(gw, &p[METADATA.len()..]))
        }
        _ => {
            // `is_own` lists the same paths: the pipeline asks it before calling this.
            debug_assert!(!is_own(path), "{path} is listed by is_own but not answered");
            None
        }
    }
}

/// Who may read `/metrics`.
enum Access {
    /// Nothing restricts it.
    Open,
    /// Restricted, and this caller passed (by network or token).
    Granted,
    /// Restricted, and this caller did not: the answer to send.
    Refused(Response<Body>),
}

fn access(gw: &Gateway, ip: IpAddr, headers: &HeaderMap) -> Access {
    let s = &gw.settings;
    if !s.metrics_restricted() {
        return Access::Open;
    }
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let (first, second) = (auth.next(), auth.next());
    if let (Some(token), Some(v), None) = (&s.metrics_token, first, second) {
        use subtle::ConstantTimeEq;
        let presented = v
            .as_bytes()
            .strip_prefix(b"Bearer ")
            .or_else(|| v.as_bytes().strip_prefix(b"bearer "))
            .unwrap_or_default()
            .trim_ascii();
        if bool::from(presented.ct_eq(token.expose_secret().as_bytes())) {
            return Access::Granted;
        }
    }
    if s.metrics_allow.iter().any(|c| c.contains(ip)) {
        return Access::Granted;
    }
    Access::Refused(if s.metrics_token.is_some() {
        let mut r = body::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "reading metrics needs the metrics bearer token",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"vigil-metrics\""),
        );
        r
    } else {
        body::error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this address may not read metrics",
        )
    })
}

/// RFC 9728 §3.2: `resource`, `authorization_servers`, `bearer_methods_supported`,
/// `scopes_supported`.
fn metadata(gw: &Gateway, suffix: &str) -> Response<Body> {
    let s = &gw.settings;
    // The route's own scopes and those its tools need (`[[gateway.routes.tools]]`).
    let of = |r: &'_ crate::config::Route| -> Vec<String> {
        r.scopes
            .iter()
            .chain(r.tools.iter().flat_map(|t| t.scopes.iter()))
            .cloned()
            .collect()
    };
    let route = if suffix.is_empty() {
        None
    } else {
        // A webhook route is not a protected resource a client gets a token for: its
        // deliveries are signed.
        match s
            .routes
            .iter()
            .find(|r| r.prefix == suffix && r.webhook.is_none())
        {
            Some(r) => Some(r),
            None => return body::error(StatusCode::NOT_FOUND, "not_found", "no such resource"),
        }
    };
    let mut scopes: Vec<String> = match route {
        None => s
            .routes
            .iter()
            .filter(|r| r.webhook.is_none())
            .flat_map(of)
            .collect(),
        Some(r) => of(r),
    };
    // An OpenID Connect route is served by its configured issuer: clients find it here (RFC
    // 9728), ahead of `[gateway] authorization_servers`.
    let mut servers: Vec<String> = route
        .and_then(|r| r.oidc.as_ref())
        .map(|o| vec![o.issuer().to_owned()])
        .unwrap_or_default();
    for a in &s.authorization_servers {
        if !servers.contains(a) {
            servers.push(a.clone());
        }
    }
    scopes.sort_unstable();
    scopes.dedup();
    let mut doc = serde_json::json!({
        "resource": format!("{}{}", s.public_url, suffix),
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
        "resource_name": "Vigil MCP gateway",
    });
    if !scopes.is_empty() {
        doc["scopes_supported"] = serde_json::json!(scopes);
    }
    body::typed(StatusCode::OK, "application/json", doc.to_string())
}

/// 200 when every upstream accepts a TCP connection within a second, else 503; the upstreams by
/// name only for a caller allowed to see them (`detail`).
async fn ready(gw: &Gateway, detail: bool) -> Response<Body> {
    let mut authorities: Vec<&str> = gw
        .settings
        .routes
        .iter()
        .map(|r| &*r.upstream_authority)
        .collect();
    authorities.sort_unstable();
    authorities.dedup();
    let probed = gw.readiness.get(&authorities).await;
    let all = probed.len() == authorities.len() && probed.iter().all(|(_, ok)| *ok);
    let doc = if detail {
        serde_json::json!({
            "ready": all,
            "upstreams": probed.iter().map(|(a, ok)| (a.clone(), serde_json::json!(ok))).collect::<serde_json::Map<_, _>>(),
        })
    } else {
        serde_json::json!({ "ready": all })
    };
    body::typed(
        if all {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        "application/json",
        doc.to_string(),
    )
}
