//! `oauth2-incomplete`: an authentication block without what a client needs to run the flow.
//!
//! ## What it finds
//! An `authentication` (or `auth`, `oauth`, `oauth2`) block of type `oauth2` without
//! `authorization_url` or `token_url`, or an `authentication` block without a `type`.
//!
//! ## Why it matters
//! A client cannot start the OAuth flow without both endpoints, and a block without a type
//! leaves each client to guess; either way users end up pasting tokens instead.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::Node;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "oauth2-incomplete",
    family: Family::Authentication,
    severity: Severity::Error,
    summary: "An OAuth2 block lacks authorization_url or token_url, or an authentication block has no type",
    fix: "Give the block type \"oauth2\" with both authorization_url and token_url (https)",
    check: Check::File(check),
    examples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "authentication": «{"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize"}}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": «{"token_url": "https://auth.example.com/t"}}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": «{"type": ""}}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": «{"type": "oauth2", "authorization_url": "", "token_url": ""}}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": «"oauth2"}}}}"#),
    ],
    counterexamples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp",
  "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": "https://auth.example.com/oauth/token"}}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": {"type": "user_key"}}}}}"#),
        fx(".gemini/settings.json", r#"{"mcpServers": {"docs": {"httpUrl": "https://mcp.example.com/mcp", "oauth": {"enabled": true}}}}"#),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        // A voice manifest's `"authentication": "oauth2"` names the flow without its URLs.
        if let Some(auth) = s
            .auth
            .filter(|_| cx.doc.kind == crate::input::Kind::VoiceManifest)
        {
            if auth
                .value
                .as_str()
                .is_some_and(|t| t.to_ascii_lowercase().contains("oauth"))
            {
                out.at(
                    auth.value.span,
                    s.key.join(auth.key.clone()),
                    format!(
                        "the OAuth2 authentication of `{}` lacks authorization_url and token_url",
                        s.name
                    ),
                );
                continue;
            }
        }
        let Some(auth) = s.auth.filter(|a| a.value.is_object()) else {
            continue;
        };
        let ty = auth
            .value
            .get("type")
            .and_then(Node::as_str)
            .filter(|t| !t.trim().is_empty()) // `"type": ""` is no type
            .map(str::to_ascii_lowercase);
        let key = s.key.join(auth.key.clone());
        let is_oauth = ty.as_deref().is_some_and(|t| t.contains("oauth"))
            || crate::node::loose(&auth.key).starts_with("oauth");
        if is_oauth {
            let mut missing = Vec::new();
            if auth
                .value
                .get_loose(&[
                    "authorization_url",
                    "authorization_endpoint",
                    "authorize_url",
                ])
                .is_none_or(|m| m.value.as_str().is_some_and(|u| u.trim().is_empty()))
            {
                missing.push("authorization_url");
            }
            if auth
                .value
                .get_loose(&["token_url", "token_endpoint"])
                .is_none_or(|m| m.value.as_str().is_some_and(|u| u.trim().is_empty()))
            {
                missing.push("token_url");
            }
            // An MCP client's `oauth` switch without URLs (Gemini CLI's `{"enabled": true}`)
            // asks for OAuth discovery (RFC 9728/8414): nothing is missing. A voice manifest
            // must name both URLs.
            let discovery = missing.len() == 2 && cx.doc.kind != crate::input::Kind::VoiceManifest;
            if !missing.is_empty() && !discovery {
                out.at(
                    auth.value.span,
                    key,
                    format!(
                        "the OAuth2 block of `{}` lacks {}",
                        s.name,
                        missing.join(" and ")
                    ),
                );
            }
        } else if ty.is_none() && crate::node::loose(&auth.key) == "authentication" {
            out.at(
                auth.value.span,
                key,
                format!("the authentication block of `{}` has no type", s.name),
            );
        }
    }
}
