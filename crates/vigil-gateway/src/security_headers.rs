//! Security headers on every response the gateway sends, its own and the upstreams'.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `Cross-Origin-Resource-Policy`, which `http` has no constant for (built once, not per answer).
const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");

/// The fixed set, built once from the settings.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: bool,
}

impl SecurityHeaders {
    /// Headers with this CSP, and HSTS when `hsts`.
    pub fn new(csp: &str, hsts: bool) -> Self {
        SecurityHeaders {
            csp: HeaderValue::from_str(csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
            hsts,
        }
    }

    /// Sets the headers, replacing an upstream's own values.
    pub fn apply(&self, h: &mut HeaderMap) {
        h.reserve(6); // room for all of them at once, not a growth midway
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            CROSS_ORIGIN_RESOURCE_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if self.hsts {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}
