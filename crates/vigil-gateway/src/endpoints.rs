//! The gateway's own endpoints, exempt from auth and rate limits: `/healthz`, `/readyz`,
//! `/metrics` and the RFC 9728 protected-resource metadata.

use crate::body::{self, Body};
use crate::gateway::Gateway;
use http::{Response, StatusCode};
use std::time::Duration;

/// The well-known path of RFC 9728 metadata.
pub const METADATA: &str = "/.well-known/oauth-protected-resource";

/// Answers `path` if it is one of the gateway's own endpoints.
pub async fn answer(gw: &Gateway, path: &str) -> Option<Response<Body>> {
    match path {
        "/healthz" => Some(body::typed(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n",
        )),
        "/readyz" => Some(ready(gw).await),
        "/metrics" => Some(body::typed(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gw.metrics.render(),
        )),
        p if p == METADATA || p.starts_with("/.well-known/oauth-protected-resource/") => {
            Some(metadata(gw, &p[METADATA.len()..]))
        }
        _ => None,
    }
}

/// RFC 9728 §3.2: `resource`, `authorization_servers`, `bearer_methods_supported`,
/// `scopes_supported`.
fn metadata(gw: &Gateway, suffix: &str) -> Response<Body> {
    let s = &gw.settings;
    let scopes: Vec<&str> = if suffix.is_empty() {
        let mut all: Vec<&str> = s
            .routes
            .iter()
            .flat_map(|r| r.scopes.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    } else {
        match s.routes.iter().find(|r| r.prefix == suffix) {
            Some(r) => r.scopes.iter().map(String::as_str).collect(),
            None => return body::error(StatusCode::NOT_FOUND, "not_found", "no such resource"),
        }
    };
    let mut doc = serde_json::json!({
        "resource": format!("{}{}", s.public_url, suffix),
        "authorization_servers": s.authorization_servers,
        "bearer_methods_supported": ["header"],
        "resource_name": "Vigil MCP gateway",
    });
    if !scopes.is_empty() {
        doc["scopes_supported"] = serde_json::json!(scopes);
    }
    body::typed(StatusCode::OK, "application/json", doc.to_string())
}

/// 200 when every upstream accepts a TCP connection within a second, else 503; JSON either way.
async fn ready(gw: &Gateway) -> Response<Body> {
    let mut authorities: Vec<&str> = gw
        .settings
        .routes
        .iter()
        .map(|r| r.upstream_authority.as_str())
        .collect();
    authorities.sort_unstable();
    authorities.dedup();
    let checks = authorities.iter().map(|a| async move {
        let ok = matches!(
            tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(*a)).await,
            Ok(Ok(_))
        );
        (a.to_string(), ok)
    });
    let mut results = Vec::new();
    for c in checks {
        results.push(c.await);
    }
    let all = results.iter().all(|(_, ok)| *ok);
    let doc = serde_json::json!({
        "ready": all,
        "upstreams": results.iter().map(|(a, ok)| (a.clone(), serde_json::json!(ok))).collect::<serde_json::Map<_, _>>(),
    });
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
