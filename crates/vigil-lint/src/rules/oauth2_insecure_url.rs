//! `oauth2-insecure-url`: an OAuth endpoint that is not HTTPS.
//!
//! ## What it finds
//! Any URL inside an `authentication`/`oauth2` block (`authorization_url`, `token_url`,
//! `redirect_uri` excepted on loopback) whose scheme is not `https`.
//!
//! ## Why it matters
//! Authorization codes and tokens travel to these endpoints; over plain HTTP anyone on the path
//! can take them.

use super::common::{host, parse_url, strings};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "oauth2-insecure-url",
    family: Family::Authentication,
    severity: Severity::Error,
    summary: "An OAuth2 endpoint is not an https:// URL",
    fix: "Use https:// for authorization_url and token_url",
    check: Check::File(check),
    examples: &[fx(
        "voice-manifest.json",
        r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": «"http://auth.example.com/oauth/token"}}}}}"#,
    )],
    counterexamples: &[fx(
        "voice-manifest.json",
        r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": "https://auth.example.com/oauth/token", "redirect_uri": "http://127.0.0.1:33418/callback"}}}}}"#,
    )],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        let Some(auth) = s.auth.filter(|a| a.value.is_object()) else {
            continue;
        };
        let base = s.key.join(auth.key.clone());
        strings(&auth.value, &mut |key, node| {
            let Some(u) = node.as_str().and_then(parse_url) else {
                return;
            };
            if u.scheme() == "https" {
                return;
            }
            let redirect = key
                .0
                .last()
                .is_some_and(|k| crate::node::loose(k).starts_with("redirect"));
            if redirect && cx.settings.is_trusted_host(&host(&u)) {
                return;
            }
            let mut full = base.clone();
            full.0.extend(key.0.iter().cloned());
            out.at(
                node.span,
                &full,
                format!("`{full}` is {}://, not https://", u.scheme()),
            );
        });
    }
}
