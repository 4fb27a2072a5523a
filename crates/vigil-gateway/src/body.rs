//! The one body type the gateway passes around (boxed, streaming), and the gateway's own small
//! answers (errors as JSON, 429 with `Retry-After`).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// Errors inside bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streaming body of any origin: the client's, an upstream's, or the gateway's own.
pub type Body = BoxBody<Bytes, BoxError>;

/// A body from bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A gateway answer: JSON `{"error": code, "message": ...}` with this status.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A gateway answer with a content type.
pub fn typed(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// A 429 with `Retry-After` (whole seconds, at least one).
pub fn too_many(wait: std::time::Duration) -> Response<Body> {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("too many requests; retry in {secs}s"),
    );
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    r
}
