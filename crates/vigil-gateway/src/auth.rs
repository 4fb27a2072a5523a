//! Bearer authentication for one route: the token from `Authorization`, verified by
//! `vigil-token`'s [`Verifier`] for the route's audience, then issuer, scopes and required claims;
//! failures become RFC 6750 answers with a `WWW-Authenticate` header pointing at the RFC 9728
//! metadata. No message ever holds the token.

use crate::config::Route;
use http::{HeaderMap, HeaderValue, StatusCode};
use vigil_token::{Rejection, Verified, Verifier};

/// Who a request acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub`, when it has one (then the upstream gets it as `X-Vigil-Subject`;
    /// without one it gets no such header).
    pub subject: Option<String>,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The token's whole lifetime (`exp` − `iat`), when it says when it was issued.
    pub lifetime: Option<u64>,
    /// The token's scopes, kept only on routes with `[[gateway.routes.tools]]` rules (shared:
    /// a request's checks and its answer's filter take them without copying).
    pub scopes: std::sync::Arc<[String]>,
}

/// No scopes (one shared empty list, so a principal without them allocates nothing).
pub fn no_scopes() -> std::sync::Arc<[String]> {
    static EMPTY: std::sync::LazyLock<std::sync::Arc<[String]>> =
        std::sync::LazyLock::new(|| std::sync::Arc::from(Vec::new()));
    EMPTY.clone()
}

/// The RFC 6750 error code of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// `invalid_request`: not a bearer token, or an empty one.
    InvalidRequest,
    /// `invalid_token`: expired, malformed, wrong audience, issuer, signature…
    InvalidToken,
    /// `insufficient_scope`: a scope or claim the route needs is missing.
    InsufficientScope,
}

impl BearerError {
    /// The code as RFC 6750 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401 or 403.
    pub status: StatusCode,
    /// RFC 6750 error code; `None` when the request carried no credentials at all.
    pub error: Option<BearerError>,
    /// Human description (no token).
    pub description: String,
    /// Stable reason for metrics: `missing`, `not_bearer`, a [`Rejection::code`], `scope`, `claim`,
    /// `issuer`.
    pub reason: &'static str,
    /// Scopes the route needs (for `insufficient_scope`).
    pub scope: Option<String>,
}

impl Refusal {
    pub(crate) fn invalid(reason: &'static str, description: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            error: Some(BearerError::InvalidToken),
            description: description.into(),
            reason,
            scope: None,
        }
    }

    /// The `WWW-Authenticate` value for this refusal.
    pub fn challenge(&self, resource_metadata: &str) -> HeaderValue {
        let mut v = String::from("Bearer");
        let mut sep = " ";
        if let Some(e) = self.error {
            v.push_str(&format!("{sep}error=\"{}\"", e.as_str()));
            sep = ", ";
            v.push_str(&format!(
                "{sep}error_description=\"{}\"",
                quoted(&self.description)
            ));
        }
        if let Some(s) = &self.scope {
            v.push_str(&format!("{sep}scope=\"{}\"", quoted(s)));
            sep = ", ";
        }
        v.push_str(&format!(
            "{sep}resource_metadata=\"{}\"",
            quoted(resource_metadata)
        ));
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// Keeps what may appear inside a quoted-string of a header: visible ASCII and spaces, without
/// `"` and `\`.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .take(200)
        .collect()
}

/// The token of an `Authorization: Bearer <token>` header as [`bearer`] reads it (scheme in
/// any case, blanks around the token trimmed), without its checks: for a request that already
/// passed them, or that needs none, to find where else the client put the token.
pub fn bearer_bytes(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(http::header::AUTHORIZATION)?.as_bytes();
    let space = v.iter().position(|&c| c == b' ')?;
    let (scheme, token) = (&v[..space], &v[space + 1..]);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// The bearer token of a request, if it has an `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    let Some(v) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    // `HeaderValue::to_str`'s rule (visible ASCII or a tab): a `HeaderValue` never holds
    // another control byte or DEL (`http` and `httparse` refuse them), so ASCII is the whole
    // test, and `is_ascii` reads a word at a time (`to_str` a byte at a time: ~750
    // instructions per request over a 300-byte token).
    let v = std::str::from_utf8(v.as_bytes())
        .ok()
        .filter(|v| v.is_ascii())
        .ok_or_else(|| {
            Refusal::invalid("malformed", "the Authorization header is not visible ASCII")
        })?;
    let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            error: Some(BearerError::InvalidRequest),
            description: "use the Bearer scheme".into(),
            reason: "not_bearer",
            scope: None,
        });
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            error: Some(BearerError::InvalidRequest),
            description: "empty bearer token".into(),
            reason: "missing",
            scope: None,
        });
    }
    // `Bearer A, Bearer B` (two credentials folded into one header) or a token with spaces is
    // refused as what it is, not read as a token of five parts. (Any other character a token68
    // never has fails the token's own decoding; one vectorised search here, as this runs on
    // every request: a byte-by-byte check cost ~7k instructions per request.)
    if memchr::memchr3(b' ', b',', b'\t', token.as_bytes()).is_some() {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            error: Some(BearerError::InvalidRequest),
            description:
                "the Authorization header holds more than one bearer token, or characters a token never has"
                    .into(),
            reason: "malformed",
            scope: None,
        });
    }
    Ok(Some(token))
}

/// The refusal for a request without credentials.
pub fn missing() -> Refusal {
    Refusal {
        status: StatusCode::UNAUTHORIZED,
        error: None,
        description: "a bearer token is required".into(),
        reason: "missing",
        scope: None,
    }
}

/// Verifies `token` for `route` at `now` (seconds since the epoch). With a JWKS URL this may
/// fetch the set again (blocking) on an unknown `kid`: call it off the async workers then.
pub fn check(
    verifier: &Verifier,
    default_issuer: Option<&str>,
    route: &Route,
    token: &str,
    now: u64,
) -> Result<Principal, Refusal> {
    let audiences = std::slice::from_ref(&route.audience);
    let v: Verified = verifier
        .verify_for(token, now, audiences)
        .map_err(|r: Rejection| {
            // A client is not told what the route expects (an audience or issuer the
            // configuration took from a variable could be a secret; tester 156).
            let description = match &r {
                Rejection::WrongAudience { .. } => "wrong audience".to_owned(),
                r => r.to_string(),
            };
            Refusal::invalid(r.code(), description)
        })?;
    if let Some(iss) = route.issuer.as_deref().or(default_issuer) {
        if v.claims.iss.as_deref() != Some(iss) {
            return Err(Refusal::invalid("wrong_issuer", "wrong issuer"));
        }
    }
    let have = scopes(&v)?;
    if !route.scopes.is_empty() {
        if let Some(missing) = route.scopes.iter().find(|s| !have.contains(&s.as_str())) {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                error: Some(BearerError::InsufficientScope),
                description: format!("scope `{missing}` is required"),
                reason: "scope",
                scope: Some(route.scopes.join(" ")),
            });
        }
    }
    for (name, want) in &route.claims {
        if v.claims.other.get(name) != Some(want) {
            // A claim is not a scope: RFC 6750 keeps `insufficient_scope` for scopes.
            return Err(Refusal::invalid(
                "claim",
                format!("claim `{name}` is missing or has another value"),
            ));
        }
    }
    if let Some(problem) = v
        .claims
        .sub
        .as_deref()
        .and_then(vigil_token::subject_problem)
    {
        // The upstream reads the subject from a header: one it could read differently (or not
        // at all) would leave an authenticated request without its identity.
        return Err(Refusal::invalid("subject", format!("subject {problem}")));
    }
    let lifetime = match (v.claims.iat, v.claims.exp) {
        (Some(iat), Some(exp)) => u64::try_from(exp.saturating_sub(iat)).ok(),
        _ => None,
    };
    Ok(Principal {
        subject: v.claims.sub.clone(),
        expires_in: v.expires_in,
        lifetime,
        scopes: if route.tools.is_empty() {
            no_scopes()
        } else {
            have.into_iter().map(str::to_owned).collect()
        },
    })
}

/// The token's scopes: `scope` (space-separated string) or `scp` (string or array). A token
/// with both must say the same in each: two claims that disagree are ambiguous, refused rather
/// than joined (a union would grant what one issuer's reading of the token does not).
fn scopes(v: &Verified) -> Result<Vec<&str>, Refusal> {
    let read = |key: &str| -> Option<Vec<&str>> {
        let mut out: Vec<&str> = match v.claims.other.get(key)? {
            // RFC 6749 §3.3: separated by SP only (a tab or U+00A0 is part of a scope).
            serde_json::Value::String(s) => s.split(' ').filter(|x| !x.is_empty()).collect(),
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => Vec::new(),
        };
        out.sort_unstable();
        out.dedup();
        Some(out)
    };
    match (read("scope"), read("scp")) {
        (Some(a), Some(b)) if a != b => Err(Refusal::invalid(
            "ambiguous_scopes",
            "the token's scope and scp claims disagree",
        )),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        let m = "http://127.0.0.1:8443/.well-known/oauth-protected-resource/mcp/fs";
        assert_eq!(
            missing().challenge(m),
            format!("Bearer resource_metadata=\"{m}\"").as_str()
        );
        let r = Refusal::invalid("expired", "expired 3m ago \"x\"");
        assert_eq!(
            r.challenge(m),
            format!(
                "Bearer error=\"invalid_token\", error_description=\"expired 3m ago x\", resource_metadata=\"{m}\""
            )
            .as_str()
        );
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Ok(None));
        // Every byte a header value can hold: read as `to_str` reads it.
        for c in 0..=255u8 {
            let Ok(v) =
                HeaderValue::from_bytes(&[b'B', b'e', b'a', b'r', b'e', b'r', b' ', c, b'x'])
            else {
                continue;
            };
            h.insert(http::header::AUTHORIZATION, v.clone());
            let not_ascii = matches!(bearer(&h), Err(r) if r.description.contains("visible ASCII"));
            assert_eq!(not_ascii, v.to_str().is_err(), "byte {c:#x}");
        }
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h).unwrap_err().reason, "not_bearer");
        h.insert("authorization", HeaderValue::from_static("bearer a.b.c"));
        assert_eq!(bearer(&h), Ok(Some("a.b.c")));
    }
}
