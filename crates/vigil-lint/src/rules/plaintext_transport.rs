//! `plaintext-transport`: `http://` or `ws://` to a host that is not loopback.
//!
//! ## What it finds
//! A server URL, OAuth URL or any other URL in a configuration or manifest that uses plain
//! HTTP or WebSocket to a host other than `localhost`, `127.0.0.0/8`, `::1`, a single-label name
//! (a compose service such as `http://redis:6379`, reached on the container network) or
//! `[lint] allowed_hosts`.
//!
//! ## Why it matters
//! Tokens, prompts and tool results cross the network in clear; the design asks for HTTPS on
//! every endpoint and `wss://` for WebSockets.

use super::common::{host, parse_url, url_candidate};
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "plaintext-transport",
    family: Family::Transport,
    severity: Severity::Error,
    summary: "An endpoint is reached over plain http:// or ws:// on the network",
    fix: "Use https:// (wss:// for WebSockets), or list the host in [lint] allowed_hosts if the link is private",
    check: Check::File(check),
    examples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": «"http://api.example.com/mcp"}}}}"#),
        fx("/h/.codeium/windsurf/mcp_config.json", r#"{"mcpServers": {"ws": {"serverUrl": «"ws://voice.example.com/mcp"}}}"#),
        fx(".cursor/mcp.json", r#"{"mcpServers": {"up": {"url": «"HTTP://Evil.Example.com/mcp", "headers": {"Authorization": "Bearer ${T}"}}}}"#),
        fx(".cursor/mcp.json", r#"{"mcpServers": {"a": {"url": «"http:evil.example.com/mcp", "headers": {"Authorization": "Bearer ${T}"}},
  "b": {"url": «"http:\\\\evil.example.com\\mcp", "headers": {"Authorization": "Bearer ${T}"}},
  "c": {"command": "npx", "args": ["-y", «"--registry=http://evil.example.com", "foo@1.0.0"]}}}"#),
        fx(".cursor/mcp.json", r#"{"mcpServers": {"d": {"url": «"${MCP_URL:-http://evil.example.com/mcp}", "headers": {"Authorization": "Bearer ${T}"}}}}"#),
    ],
    counterexamples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp"}, "local": {"url": "http://127.0.0.1:8080/mcp"}}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"dev": {"type": "http", "url": "http://localhost:3000/mcp"}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"dev": {"type": "http", "url": "http://host.docker.internal:3000/mcp"}}}"#),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if matches!(cx.doc.kind, Kind::ToolsList) {
        return;
    }
    for s in cx.strings {
        let node = s.node;
        let Some(text) = node.as_str() else { continue };
        // `${MCP_URL:-http://…}`: the default is used when the variable is unset, so it is
        // judged as a literal.
        let defaulted;
        let b = text.as_bytes();
        let text = if memchr::memchr_iter(b'$', b).any(|i| b.get(i + 1) == Some(&b'{')) {
            defaulted = crate::secrets::strip_references(text).0;
            defaulted.as_ref()
        } else {
            text
        };
        // Schemes compare without case (`HTTP://` is plain HTTP too): the `url` crate lowers
        // them. `http:host` and `--url=http://…` are read as clients read them.
        let Some(t) = url_candidate(text) else {
            continue;
        };
        if !(t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("http:"))
            || t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("ws:")))
        {
            continue;
        }
        let Some(u) = parse_url(&t) else { continue };
        if !matches!(u.scheme(), "http" | "ws") {
            continue;
        }
        let in_auth = s.path.iter().any(|k| match k {
            crate::node::Seg::Key(k) => ["authentication", "auth", "oauth", "oauth2"]
                .iter()
                .any(|a| crate::node::loose_eq(k, a)),
            crate::node::Seg::Index(_) => false,
        });
        if in_auth {
            continue; // oauth2-insecure-url's
        }
        let h = host(&u);
        if cx.settings.is_trusted_host(&h) {
            continue;
        }
        let key = s.key();
        out.at(
            node.span,
            &key,
            format!("`{key}` sends traffic to {h} over plain {}", u.scheme()),
        );
    }
}
