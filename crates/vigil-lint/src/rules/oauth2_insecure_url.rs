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
    examples: &[
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": «"http://auth.example.com/oauth/token"}}}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": «"javascript:alert(1)", "token_url": «"/oauth/token"}},
  "b": {"url": "https://b.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": «"//auth.example.com/a", "token_url": «"data:text/html,hi"}}}}}"#,
        ),
    ],
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
            let Some(text) = node.as_str() else {
                return;
            };
            let last = key.0.last().map(|k| crate::node::loose(k));
            let redirect = last.as_deref().is_some_and(|k| k.starts_with("redirect"));
            let said = match parse_url(text) {
                Some(u) if u.scheme() == "https" => return,
                Some(u) if redirect && cx.settings.is_trusted_host(&host(&u)) => return,
                Some(u) => format!("is {}://, not https://", u.scheme()),
                // An endpoint's key with a value that is no absolute URL (`javascript:…`,
                // `//host/a`, `/token`): not https either. Empty ones are oauth2-incomplete's.
                None if last.as_deref().is_some_and(|k| {
                    k.ends_with("url") || k.ends_with("uri") || k.contains("endpoint")
                }) && !text.trim().is_empty()
                    && !crate::secrets::is_reference(text) =>
                {
                    "is not an absolute https:// URL".to_owned()
                }
                None => return,
            };
            let mut full = base.clone();
            full.0.extend(key.0.iter().cloned());
            out.at(node.span, &full, format!("`{full}` {said}"));
        });
    }
}
