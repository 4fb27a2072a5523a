//! `remote-without-auth`: a remote server with no way to authenticate; and
//! `remote-oauth-discovery`: a client's remote server that leaves authentication to MCP OAuth
//! discovery.
//!
//! ## What it finds
//! `remote-without-auth`: a server reached at a host that is not loopback (nor in
//! `[lint] allowed_hosts`) whose authentication is absent or empty: no `Authorization` (or other
//! credential) header with a value, no bearer-token setting, and no `oauth2`/`authentication`/
//! `auth` entry other than an empty one (`"type": "none"`, `"anonymous"`, `"basic"` with no
//! credentials, `"enabled": false`). An empty header (`"Authorization": ""` or `"Bearer"`) is
//! no header. In a voice manifest every remote server must declare its authentication; in an
//! MCP client's configuration this holds for a server reached over plain `http://` or one
//! whose entry says "no authentication".
//!
//! `remote-oauth-discovery` (a note): an MCP client's remote `https://` server with no
//! authentication entry at all. That is the normal, documented way to add an OAuth-capable
//! server (GitHub's `https://api.githubcopilot.com/mcp/`, Sentry, Linear): the client asks the
//! server (401 with an RFC 9728 `resource_metadata`) and runs OAuth itself. A file cannot show
//! whether the server really demands it; `vigil lint --probe URL` can.
//!
//! ## Why it matters
//! An MCP endpoint without authentication lets anyone who finds it call its tools; the design
//! asks for user keys or an OAuth block on every server.

use super::common::{host, is_remote};
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use crate::model::Server;
use crate::node::{loose_eq, Node};
use crate::secrets::{is_secret_name_as_written as is_secret_name, strip_references, strip_scheme};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "remote-without-auth",
    family: Family::Authentication,
    severity: Severity::Warning,
    summary: "A remote server declares no authentication, or an empty one",
    fix: "Add an Authorization header built from a reference, or an authentication block of type oauth2 with authorization_url and token_url",
    check: Check::File(check),
    examples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": «"https://api.example.com/mcp"}}}}"#),
        fx(".gemini/settings.json", r#"{"mcpServers": {"docs": {"httpUrl": «"http://mcp.example.com/mcp", "timeout": 30000}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"a": {"url": «"https://a.example.com/mcp", "authentication": {"type": "none"}},
  "b": {"url": «"https://b.example.com/mcp", "authentication": {"type": "basic"}},
  "c": {"url": «"https://c.example.com/mcp", "headers": {"Authorization": "Bearer"}},
  "d": {"url": «"https://d.example.com/mcp", "auth": "anonymous"}}}}"#),
        fx(".cursor/mcp.json", r#"{"mcpServers": {"x": {"url": «"https://x.example.com/mcp", "headers": {"Authorization": ""}}}}"#),
        // A proxy's credential does not authenticate to the server (black-box tester, session
        // 12 round 8: F2).
        fx(".cursor/mcp.json", r#"{"mcpServers": {"x": {"url": «"http://x.example.com/mcp", "headers": {"Proxy-Authorization": "Bearer ${T}"}}}}"#),
        fx(".cursor/mcp.json", r#"{"mcpServers": {"x": {"url": «"https://x.example.com/mcp", "auth": {}}}}"#),
        // A header that only looks filled: invisible characters, a scheme and a lone `$`, a
        // dash, `null`.
        fx(".cursor/mcp.json", "{\"mcpServers\": {\"a\": {\"url\": «\"https://a.example.com/mcp\", \"headers\": {\"Authorization\": \"\u{200b}\"}},
  \"b\": {\"url\": «\"https://b.example.com/mcp\", \"headers\": {\"Authorization\": \"Bearer $\"}},
  \"c\": {\"url\": «\"https://c.example.com/mcp\", \"headers\": {\"Authorization\": \"-\"}},
  \"d\": {\"url\": «\"https://d.example.com/mcp\", \"headers\": {\"Authorization\": \"null\"}},
  \"e\": {\"url\": «\"https://e.example.com/mcp\", \"headers\": {\"Authorization\": []}},
  \"g\": {\"url\": «\"https://g.example.com/mcp\", \"headers\": {\"Authorization\": \"Bearer 0\"}},
  \"h\": {\"url\": «\"https://h.example.com/mcp\", \"headers\": {\"Authorization\": \"Bearer X\"}},
  \"f\": {\"url\": «\"https://f.example.com/mcp\", \"headers\": {\"Authorization\": {}}}}}"),
        // A duplicate key: the client sends the last one (black-box tester, session 14 round
        // 10: F4).
        fx(".mcp.json", r#"{"mcpServers": {"d": {"type": "http", "url": «"https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${K}", "Authorization": "none"}}}}"#),
        // Values that send nothing (black-box tester, session 15 round 11: F14).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": «"https://a.example.com/mcp", "headers": {"Authorization": "Bearer:"}}, "b": {"url": «"https://b.example.com/mcp", "headers": {"Authorization": "Basic Og=="}},
  "c": {"url": «"https://c.example.com/mcp", "headers": {"Authorization": "N/A"}}, "d": {"url": «"https://d.example.com/mcp", "headers": {"Authorization": "Bearer ${env:}"}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"a": {"url": «"https://a.example.com/mcp", "authentication": {"type": "bearer"}},
  "b": {"url": «"https://b.example.com/mcp", "authentication": {"type": "api_key"}},
  "c": {"url": «"https://c.example.com/mcp", "authentication": {"type": "api_key", "in": "header", "name": "X-API-Key"}},
  "d": {"url": «"https://d.example.com/mcp", "authentication": {"type": "bearer", "header": "Authorization"}}}}}"#),
    ],
    counterexamples: &[
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "headers": {"Authorization": "Bearer ${API_KEY}"}},
  "oauth": {"url": "https://b.example.com/mcp", "authentication": {"type": "oauth2", "authorization_url": "https://auth.example.com/oauth/authorize", "token_url": "https://auth.example.com/oauth/token"}},
  "basic": {"url": "https://c.example.com/mcp", "authentication": {"type": "basic", "username": "bot", "password": "${PW}"}},
  "local": {"url": "http://127.0.0.1:9000/mcp"}}}}"#),
        fx(".vscode/mcp.json", r#"{"servers": {"github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"d": {"type": "http", "url": "http://mcp.example.com/mcp", "headers": {"Authorization": "none", "Authorization": "Bearer ${K}"}}}}"#),
    ],
};

/// The note for client servers that rely on MCP OAuth discovery.
pub(crate) static DISCOVERY: Rule = Rule {
    id: "remote-oauth-discovery",
    family: Family::Authentication,
    severity: Severity::Note,
    summary: "A remote https:// server relies on MCP OAuth discovery (nothing in the file shows it demands authentication)",
    fix: "Check that the server answers 401 with resource_metadata (`vigil lint --probe URL`), or add an Authorization header built from a reference",
    check: Check::File(check_discovery),
    examples: &[
        fx(".vscode/mcp.json", r#"{"servers": {"github": {"type": "http", "url": «"https://api.githubcopilot.com/mcp/"}}}"#),
        fx(".gemini/settings.json", r#"{"mcpServers": {"docs": {"httpUrl": «"https://mcp.example.com/mcp", "timeout": 30000}}}"#),
    ],
    counterexamples: &[
        fx(".cursor/mcp.json", r#"{"mcpServers": {"a": {"url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${env:TOKEN}"}}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "authentication": {"type": "user_key"}}}}}"#),
    ],
};

/// How a server's configuration says it authenticates.
enum Auth {
    /// A header with a value, a bearer-token setting or an authentication entry.
    Declared,
    /// An entry that says there is none, or one that is empty.
    Empty,
    /// Nothing at all.
    Absent,
}

/// Words that say "no authentication" in a `type` or a string entry.
fn says_none(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    matches!(
        t.as_str(),
        "none"
            | "no"
            | "noauth"
            | "no_auth"
            | "no-auth"
            | "anonymous"
            | "anon"
            | "off"
            | "false"
            | "disabled"
            | "null"
            | "na"
            | "tbd"
    )
}

/// Whether a value carries a credential or a reference to one: not empty, not only a scheme,
/// not only invisible characters or punctuation (`"\u200b"`, `"Bearer $"`, `"-"`), not a word
/// for nothing (`"null"`, `"none"`).
fn has_value(n: &Node) -> bool {
    // A list or object holds a value only if one of its items does: `"Authorization": []`
    // sends nothing (black-box tester, session 14 round 9: F8).
    let Some(t) = n.scalar_text() else {
        return n.elements().iter().any(has_value)
            || n.members().iter().any(|m| has_value(&m.value));
    };
    let visible: String = t.chars().filter(|c| !super::invisible_char(*c)).collect();
    // A value that sends nothing (`Bearer:`, `Basic Og==`, `${env:}`) (black-box tester,
    // session 15 round 11: F14).
    if crate::secrets::sends_nothing(&visible) {
        return false;
    }
    let (rest, had) = strip_references(&visible);
    if had {
        return true;
    }
    let v = strip_scheme(rest.trim()).trim();
    // One or two characters after a scheme (`Bearer 0`, `Bearer X`) are a placeholder, not a
    // token (black-box tester, session 14 round 9: F8).
    let schemed = v.len() < rest.trim().len();
    if schemed && v.chars().count() < 3 {
        return false;
    }
    v.chars().any(char::is_alphanumeric) && !says_none(v)
}

/// Whether a header's name says it carries a credential for the server: a secret's name (its
/// surrounding spaces ignored, as the other rules read it), but not one addressed to a proxy
/// (`Proxy-Authorization` authenticates to the proxy, not to the MCP server).
fn server_credential(key: &str) -> bool {
    let key = key.trim();
    is_secret_name(key) && !key.to_ascii_lowercase().starts_with("proxy-")
}

fn auth_of(s: &Server<'_>) -> Auth {
    // A duplicated header counts as the client reads it: JSON readers keep the last value, so
    // `"Authorization": "Bearer ${K}", "Authorization": "none"` sends `none` (black-box
    // tester, session 14 round 10: F4).
    let header = s.headers.iter().enumerate().any(|(i, h)| {
        server_credential(&h.key)
            && has_value(&h.value)
            && !s.headers[i + 1..].iter().any(|l| l.key == h.key)
    });
    let bearer = s
        .node
        .get_loose(&[
            "bearer_token",
            "bearer_token_env_var",
            "authProviderType",
            "env_http_headers",
        ])
        .is_some_and(|m| has_value(&m.value));
    // A credential in the URL (`?api_key=`, userinfo) is credential-in-url's, but it is one.
    let in_url = s.parsed_url().is_some_and(|u| {
        !u.username().is_empty()
            || u.password().is_some()
            || u.query_pairs()
                .any(|(k, v)| is_secret_name(&k) && !v.is_empty())
    });
    if header || bearer || in_url {
        return Auth::Declared;
    }
    let empty_header = s.headers.iter().any(|h| server_credential(&h.key));
    let Some(auth) = s.auth else {
        return if empty_header {
            Auth::Empty
        } else {
            Auth::Absent
        };
    };
    if let Some(t) = auth.value.as_str() {
        // `"auth": "oauth"` declares; `"auth": "none"` or `""` does not.
        return if t.trim().is_empty() || says_none(t) {
            Auth::Empty
        } else {
            Auth::Declared
        };
    }
    let v = &auth.value;
    // `"auth": {}`, or a block whose every value is empty.
    if v.is_object() && v.get("type").is_none() && !v.members().iter().any(|m| has_value(&m.value))
    {
        return Auth::Empty;
    }
    if v.get("enabled")
        .and_then(Node::scalar_text)
        .is_some_and(|e| says_none(&e))
    {
        return Auth::Empty;
    }
    let Some(ty) = v.get("type").and_then(Node::as_str) else {
        // No type: oauth2-incomplete's (an `oauth` switch asks for discovery).
        return Auth::Declared;
    };
    if ty.trim().is_empty() {
        return Auth::Declared; // oauth2-incomplete reports the missing type.
    }
    if says_none(ty) {
        return Auth::Empty;
    }
    // A bearer token or API key with nothing that supplies it (`user_key` is the design's
    // per-user key, supplied at run time).
    let typed = ty.trim().to_ascii_lowercase().replace('-', "_");
    if matches!(
        typed.as_str(),
        "bearer" | "api_key" | "apikey" | "token" | "header" | "bearer_token"
    ) && !v.members().iter().any(|m| {
        // Keys that say where the token goes (`"in": "header", "name": "X-API-Key"`) supply
        // none.
        let describes = [
            "type",
            "in",
            "name",
            "header",
            "header_name",
            "scheme",
            "location",
            "description",
        ]
        .iter()
        .any(|k| loose_eq(&m.key, k));
        !describes && has_value(&m.value)
    }) {
        return Auth::Empty;
    }
    if ty.trim().eq_ignore_ascii_case("basic") {
        let creds = v.members().iter().any(|m| {
            ["username", "user", "password", "credentials", "token"]
                .iter()
                .any(|k| loose_eq(&m.key, k))
                && has_value(&m.value)
        });
        if !creds {
            return Auth::Empty;
        }
    }
    Auth::Declared
}

/// Whether a client's server is left to OAuth discovery: https, nothing declared, not a voice
/// manifest (whose servers must declare their authentication).
fn discovery(cx: &Cx<'_>, s: &Server<'_>) -> bool {
    cx.doc.kind != Kind::VoiceManifest
        && s.parsed_url()
            .is_some_and(|u| matches!(u.scheme(), "https" | "wss"))
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if !is_remote(s, cx.settings) {
            continue;
        }
        let what = match auth_of(s) {
            Auth::Declared => continue,
            Auth::Absent if discovery(cx, s) => continue, // remote-oauth-discovery's
            Auth::Absent => "declares no authentication (no Authorization header, oauth2 block or authentication entry)",
            Auth::Empty => "declares an empty authentication (none, anonymous, basic without credentials, or a header without a value)",
        };
        let Some(url) = s.url else { continue };
        out.at(
            url.value.span,
            s.key.join(url.key.clone()),
            format!("`{}` is remote and {what}", s.name),
        );
    }
}

fn check_discovery(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if !is_remote(s, cx.settings) || !matches!(auth_of(s), Auth::Absent) || !discovery(cx, s) {
            continue;
        }
        let Some(url) = s.url else { continue };
        let h = s.parsed_url().map(host).unwrap_or_default();
        out.at(
            url.value.span,
            s.key.join(url.key.clone()),
            format!("`{}` declares no credentials, so the client relies on {h} to demand OAuth (MCP authorization discovery); check it with `vigil lint --probe`", s.name),
        );
    }
}
