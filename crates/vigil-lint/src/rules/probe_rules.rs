//! The probe rules: what `--probe URL` reports about a live endpoint (see [`crate::probe`]).
//! Their fixtures are recorded observations (`crate::probe::Observed` as JSON), judged by the
//! same function the live probe uses.

use super::{fx, Check, Family, Rule};
use vigil_report::Severity;

const fn probe(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    fix: &'static str,
    examples: &'static [super::Fixture],
    counterexamples: &'static [super::Fixture],
) -> Rule {
    Rule {
        id,
        family: Family::Probe,
        severity,
        summary,
        fix,
        check: Check::Probe,
        examples,
        counterexamples,
    }
}

const GOOD: &str = r#"{"url": "https://mcp.example.com/mcp", "tls": true,
 "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"", "strict-transport-security": "max-age=31536000", "content-security-policy": "default-src 'none'", "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}},
 "metadata": {"status": 200, "headers": {}, "body": "{\"resource\": \"https://mcp.example.com/mcp\", \"authorization_servers\": [\"https://auth.example.com\"]}"},
 "foreign_preflight": {"status": 403, "headers": {}}, "foreign_post": {"status": 403, "headers": {}},
 "allowed_origin": "https://app.example.com", "allowed_preflight": {"status": 204, "headers": {"access-control-allow-origin": "https://app.example.com", "access-control-allow-methods": "POST, OPTIONS", "access-control-allow-headers": "authorization, content-type"}},
 "burst": {"sent": 12, "first_429": 9}}"#;

/// Plain HTTP.
pub(crate) static PLAINTEXT: Rule = probe(
    "probe-plaintext",
    Severity::Error,
    "The endpoint answers over plain HTTP",
    "Serve it over HTTPS only (vigil gateway [gateway.tls], or a TLS-terminating proxy)",
    &[fx(
        "probe",
        r#"{"url": "http://mcp.example.com/mcp", "tls": false}"#,
    )],
    &[fx("probe", GOOD)],
);

/// No HSTS.
pub(crate) static NO_HSTS: Rule = probe(
    "probe-no-hsts",
    Severity::Warning,
    "An HTTPS endpoint sends no Strict-Transport-Security header",
    "Send Strict-Transport-Security: max-age=31536000; includeSubDomains",
    &[fx(
        "probe",
        r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {}}}"#,
    )],
    &[fx("probe", GOOD)],
);

/// No authentication.
pub(crate) static NO_AUTH: Rule = probe("probe-no-auth", Severity::Error,
    "A request without a token is not refused with 401",
    "Require a bearer token (vigil gateway in front) and answer 401 with a WWW-Authenticate challenge",
    &[fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 200, "headers": {}}}"#),
      fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer"}}, "unauthenticated_ping": {"status": 200, "headers": {}}}"#),
      fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer"}}, "burst": {"sent": 5, "first_429": null, "first_2xx": 1}}"#)],
    &[fx("probe", GOOD)]);

/// 401 without RFC 9728 metadata.
pub(crate) static NO_RESOURCE_METADATA: Rule = probe("probe-no-resource-metadata", Severity::Warning,
    "A 401 answer has no WWW-Authenticate resource_metadata (RFC 9728)",
    "Answer 401 with WWW-Authenticate: Bearer resource_metadata=\"https://host/.well-known/oauth-protected-resource/…\"",
    &[fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer"}}}"#)], &[fx("probe", GOOD)]);

/// Metadata that does not parse.
pub(crate) static BAD_RESOURCE_METADATA: Rule = probe("probe-bad-resource-metadata", Severity::Warning,
    "The protected-resource metadata is missing, not JSON, lacks resource or authorization_servers, names another resource, or a non-https authorization server",
    "Serve RFC 9728 metadata: {\"resource\": \"https://host/mcp\", \"authorization_servers\": [\"https://auth…\"]}",
    &[fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""}}, "metadata": {"status": 200, "headers": {}, "body": "{\"resource\": 5}"}}"#),
      fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""}}, "metadata": {"status": 200, "headers": {}, "body": "{\"resource\": \"https://evil.example.com/other\", \"authorization_servers\": [\"https://auth.example.com\"]}"}}"#),
      fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"www-authenticate": "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""}}, "metadata": {"status": 200, "headers": {}, "body": "{\"resource\": \"https://mcp.example.com/mcp\", \"authorization_servers\": [\"http://auth.evil.example\"]}"}}"#)],
    &[fx("probe", GOOD)]);

/// A foreign Origin accepted.
pub(crate) static FOREIGN_ORIGIN: Rule = probe(
    "probe-foreign-origin",
    Severity::Error,
    "A request from a foreign Origin is accepted",
    "Refuse Origins you do not serve with 403 (vigil gateway: allowed_origins / per-route cors)",
    &[fx(
        "probe",
        r#"{"url": "https://mcp.example.com/mcp", "tls": true, "foreign_post": {"status": 200, "headers": {"access-control-allow-origin": "*"}}}"#,
    )],
    &[fx("probe", GOOD)],
);

/// `*` with credentials.
pub(crate) static CORS_WILDCARD_CREDENTIALS: Rule = probe("probe-cors-wildcard-credentials", Severity::Error,
    "CORS answers allow any origin (or echo a foreign one) together with credentials",
    "Answer CORS only for listed origins; never pair Access-Control-Allow-Credentials: true with * or a reflected Origin",
    &[fx("probe", r#"{"url": "http://127.0.0.1:9/mcp", "tls": false, "foreign_preflight": {"status": 204, "headers": {"access-control-allow-origin": "*", "access-control-allow-credentials": "true"}}}"#)], &[fx("probe", GOOD)]);

/// CORS answers that differ from the manifest.
pub(crate) static CORS_MISMATCH: Rule = probe("probe-cors-mismatch", Severity::Warning,
    "The CORS preflight answer for an allowed origin does not match the manifest",
    "Answer the preflight of listed origins with that origin, POST and the Authorization and Content-Type headers",
    &[fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "allowed_origin": "https://app.example.com", "allowed_preflight": {"status": 403, "headers": {}}}"#)], &[fx("probe", GOOD)]);

/// No CSP.
pub(crate) static NO_CSP: Rule = probe(
    "probe-no-csp",
    Severity::Warning,
    "The endpoint sends no Content-Security-Policy header",
    "Send Content-Security-Policy: default-src 'none' (or what the design's CSP allows)",
    &[fx(
        "probe",
        r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"strict-transport-security": "max-age=1"}}}"#,
    )],
    &[fx("probe", GOOD)],
);

/// No 429 within the burst.
pub(crate) static NO_RATE_LIMIT: Rule = probe(
    "probe-no-rate-limit",
    Severity::Warning,
    "A burst of requests got no 429 (rate limiting not observed)",
    "Rate-limit the endpoint per client (vigil gateway [gateway.rate_limit])",
    &[fx(
        "probe",
        r#"{"url": "https://mcp.example.com/mcp", "tls": true, "burst": {"sent": 20, "first_429": null}}"#,
    )],
    &[fx("probe", GOOD)],
);

/// Missing nosniff, frame or referrer headers.
pub(crate) static SECURITY_HEADERS: Rule = probe("probe-missing-security-headers", Severity::Warning,
    "Security headers are missing (X-Content-Type-Options, X-Frame-Options or frame-ancestors, Referrer-Policy)",
    "Send X-Content-Type-Options: nosniff, X-Frame-Options: DENY and Referrer-Policy: no-referrer",
    &[fx("probe", r#"{"url": "https://mcp.example.com/mcp", "tls": true, "unauthenticated": {"status": 401, "headers": {"content-security-policy": "default-src 'none'"}}}"#)], &[fx("probe", GOOD)]);
