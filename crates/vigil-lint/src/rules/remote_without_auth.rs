//! `remote-without-auth`: a remote server with no way to authenticate.
//!
//! ## What it finds
//! A server reached at a host that is not loopback (nor in `[lint] allowed_hosts`) with no
//! `Authorization` (or other credential) header, no `oauth2`/`authentication`/`auth` entry and
//! no bearer-token setting.
//!
//! ## Why it matters
//! An MCP endpoint without authentication lets anyone who finds it call its tools; the design
//! asks for user keys or an OAuth block on every server.

use super::common::is_remote;
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::secrets::is_secret_name;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "remote-without-auth",
    family: Family::Authentication,
    severity: Severity::Warning,
    summary: "A remote server declares no authentication",
    fix: "Add an Authorization header built from a reference, or an authentication block of type oauth2 with authorization_url and token_url",
    check: Check::File(check),
    examples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": «"https://api.example.com/mcp"}}}}"#),
        fx(".gemini/settings.json", r#"{"mcpServers": {"docs": {"httpUrl": «"https://mcp.example.com/mcp", "timeout": 30000}}}"#),
    ],
    counterexamples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "headers": {"Authorization": "Bearer ${API_KEY}"}},
  "oauth": {"url": "https://b.example.com/mcp", "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": "https://auth.example.com/oauth/token"}},
  "local": {"url": "http://127.0.0.1:9000/mcp"}}}}"#),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if !is_remote(s, cx.settings) || s.auth.is_some() {
            continue;
        }
        let header = s.headers.iter().any(|h| is_secret_name(&h.key));
        let bearer = s
            .node
            .get_loose(&[
                "bearer_token",
                "bearer_token_env_var",
                "authProviderType",
                "env_http_headers",
            ])
            .is_some();
        if header || bearer {
            continue;
        }
        let Some(url) = s.url else { continue };
        out.at(
            url.value.span,
            s.key.join(url.key.clone()),
            format!("`{}` is remote and declares no authentication (no Authorization header, oauth2 block or authentication entry)", s.name),
        );
    }
}
