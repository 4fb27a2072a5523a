//! Browser rules: the `Origin` allow-list (MCP's DNS-rebinding defence), preflight answers, and
//! the CORS headers of allowed cross-origin responses.

use crate::config::Cors;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

/// What the gateway does about a request's origin.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No `Origin` header (not a browser, or same-origin navigation): go on.
    NoOrigin,
    /// An allowed origin: go on, and add CORS headers to the response.
    Allowed(HeaderValue),
    /// A preflight from an allowed origin: answer it here (204).
    Preflight(HeaderValue),
    /// An origin not on the list: 403.
    Refused,
}

/// Judges the request's `Origin` against the route's policy.
pub fn judge(cors: &Cors, method: &Method, headers: &HeaderMap) -> Verdict {
    let mut all = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = all.next() else {
        return Verdict::NoOrigin;
    };
    if all.next().is_some() {
        // Two origins: which one the browser sent cannot be told.
        return Verdict::Refused;
    }
    let allowed = origin.to_str().is_ok_and(|o| cors.allows(o));
    if !allowed {
        return Verdict::Refused;
    }
    if method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        Verdict::Preflight(origin.clone())
    } else {
        Verdict::Allowed(origin.clone())
    }
}

/// The headers of an answered preflight.
pub fn preflight(cors: &Cors, origin: HeaderValue) -> (StatusCode, HeaderMap) {
    let mut h = HeaderMap::new();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Ok(v) = HeaderValue::from_str(&cors.methods) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cors.headers) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(cors.max_age),
    );
    (StatusCode::NO_CONTENT, h)
}

/// Adds the CORS headers of an allowed cross-origin response. A script may read the exposed
/// headers, and on the gateway's refusals `Retry-After` and `WWW-Authenticate` too.
pub fn decorate(cors: &Cors, origin: HeaderValue, h: &mut HeaderMap) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    let refusal = h.contains_key(header::RETRY_AFTER) || h.contains_key(header::WWW_AUTHENTICATE);
    let expose = if refusal {
        &cors.expose_refusal
    } else {
        &cors.expose_value
    };
    if let Some(v) = expose {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
    }
}
