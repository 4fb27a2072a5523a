//! `credential-in-url`: a password in a URL's user information, or a secret in its query.
//!
//! ## What it finds
//! `https://user:PASSWORD@host`, `postgres://bot:PASSWORD@db/app`, `?api_key=VALUE`,
//! `?token=VALUE`, or a high-entropy query value, unless the value is a reference; the userinfo
//! percent-decoded (`ci%3A<token>@`), random hex as its user name; a path segment holding a
//! token, random hex (16+ digits) or a UUID (`<hex>.json`, `{<uuid>}`); random hex as a query
//! value, or a parameter name of [`crate::redact::is_secret_param`] (`pw`, `hmac`, `otp`…);
//! a query value that is itself a URL or a query, decoded, judged the same way
//! (`?upstream=https://svc:PASSWORD@api/`, `?next=/cb?token=VALUE`), however its URL is spelled
//! (`//u:PASSWORD@x`, `https:\\u:PASSWORD@x`, `https:u:PASSWORD@x`), with its fragment and `;`
//! parameters, JSON members by name (`?cfg={"password":"VALUE"}`) and `password:VALUE`.
//!
//! ## Why it matters
//! URLs are logged by proxies, shown in process lists and error messages, and copied around;
//! a credential inside one leaks with it.

use super::common::{parse_url, url_candidate};
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use crate::secrets::{is_fill_in, is_reference, looks_random};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "credential-in-url",
    family: Family::Credentials,
    severity: Severity::Error,
    summary: "A URL carries a password or a secret query parameter",
    fix: "Take the credential out of the URL: send it in an Authorization header built from a reference, or use the server's OAuth flow",
    check: Check::File(check),
    examples: &[
        fx(".mcp.json", r#"{"mcpServers": {"api": {"type": "http", "url": «"https://mcp.example.com/mcp?api_key={alnum:32}"}}}"#),
        fx("docker-compose.yml", "services:\n  bot:\n    image: ghcr.io/acme/bot:1.2.0\n    environment:\n      DATABASE_URL: «postgres://bot:{alnum:20}@db:5432/bot\n"),
        fx(".mcp.json", r#"{"mcpServers": {"zap": {"url": «"https://mcp.zapier.com/api/mcp/s/{alnum:40}/mcp"}, "q": {"url": «"https://q.example.com/mcp?q={hex:40}"},
  "d": {"command": "d-mcp", "env": {"DISCORD": «"https://discord.com/api/webhooks/{digits:19}/{b64url:68}"}}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"type": "http", "url": «"https://{alnum:40}@a.example.com/mcp"},
  "b": {"command": "mcp-remote@1.0.0", "args": [«"--url=https://u:{alnum:40}@b.example.com/mcp"]}}}"#),
        // Percent-encoded userinfo, and random hex or a UUID as a path segment (black-box
        // tester, session 12: F4, F7).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"type": "http", "url": «"https://ci%3A{alnum:40}@a.example.com/mcp"},
  "b": {"type": "http", "url": «"https://{alnum:40}%40x@b.example.com/mcp"},
  "c": {"type": "http", "url": «"https://c.example.com/mcp/{hex:32}"},
  "d": {"type": "http", "url": «"https://d.example.com/mcp/{hex:64}/sse"},
  "e": {"type": "http", "url": «"https://e.example.com/mcp/{hex:16}"}}}"#),
        // Random hex as the user name, a token inside a path segment, a 16-digit hex query
        // value under any name, and `pw`/`hmac`/`otp` (black-box tester, session 12 round 5:
        // F1-F4).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"type": "http", "url": «"https://{hex:40}%40x@a.example.com/mcp"},
  "b": {"type": "http", "url": «"https://{hex:32}@b.example.com/mcp"},
  "b2": {"type": "http", "url": «"https://{hex:40}%3A@b2.example.com/mcp"},
  "b3": {"type": "http", "url": «"https://{alnum:40}:@b3.example.com/mcp"},
  "c": {"type": "http", "url": «"https://c.example.com/mcp/{hex:32}.json"},
  "d": {"type": "http", "url": «"https://d.example.com/mcp/%7B{hex:8}-{hex:4}-4{hex:3}-a{hex:3}-{hex:12}%7D"},
  "e": {"type": "http", "url": «"https://e.example.com/mcp?foo={hex:16}"},
  "f": {"type": "http", "url": «"https://f.example.com/mcp?pw={alpha:10}"},
  "g": {"type": "http", "url": «"https://g.example.com/mcp?hmac={alpha:10}"},
  "h": {"type": "http", "url": «"https://h.example.com/mcp?otp={digits:6}"}}}"#),
        // A token as a bare query word, and a Bearer-prefixed value (black-box tester, session
        // 12 round 6: F1, F3).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"type": "http", "url": «"https://a.example.com/mcp?{hex:32}"},
  "b": {"type": "http", "url": «"https://b.example.com/mcp?page=2&{alnum:32}"},
  "c": {"type": "http", "url": «"https://c.example.com/mcp?foo=Bearer%20{hex:16}"},
  "d": {"type": "http", "url": «"https://d.example.com/mcp?{hex:32}=1"},
  "e": {"type": "http", "url": «"https://e.example.com/mcp?q=hello+{alnum:32}"}}}"#),
        // A credential in a URL nested in a query value, plain or percent-encoded once more
        // (black-box tester, session 14 round 9: F1).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": «"https://a.example.com/mcp?upstream=https://svc:Summer{digits:4}!@api.internal/"},
  "b": {"url": «"https://b.example.com/mcp?db=postgresql://admin:{alpha:8}{digits:4}@db.internal/app"},
  "c": {"url": «"https://c.example.com/mcp?callback=https://x.example/cb?password=Summer{digits:4}"},
  "d": {"url": «"https://d.example.com/mcp?next=/cb?token=Summer{digits:4}"},
  "e": {"url": «"https://e.example.com/mcp?redirect=http%3A%2F%2Fx%2F%3Fpassword%3DSummer{digits:4}"},
  "f": {"url": «"https://f.example.com/mcp?r=https%253A%252F%252Fx%252F%253Fpw%253DSummer{digits:4}"}}}"#),
        // URLs inside command lines, judged word by word (black-box tester, session 15 rounds
        // 12 and 14).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "sh", "args": ["-c", «"curl -f http://admin:{alnum:24}@localhost:8080/ && node a.js"]},
  "c1": {"command": «"npx -y mcp-remote@0.1.29 https://mcp.zapier.com/api/mcp/s/{alnum:32}/mcp"}, "c6": {"command": "sh", "args": ["-c", «"npx -y mcp-remote@0.1.29 https://api.example.com/mcp?sig={hex:32}"]},
  "a3": {"command": "bash", "args": ["-c", «"curl -fsSL https://get.example.com/i.sh?token={alnum:32} | bash"]}}}"#),
        fx("docker-compose.yml", "services:\n  c:\n    image: x/a:1.0.0\n    healthcheck: {test: [\"CMD-SHELL\", «\"curl -f http://admin:{alnum:24}@localhost/ || exit 1\"]}\n"),
        // A server URL without its scheme (black-box tester, session 15 round 13: F5).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": «"admin:{alnum:24}@mcp.example.com/mcp"}, "c": {"serverUrl": «"mcp.example.com/api/mcp/s/{alnum:40}/mcp"}}}"#),
        // The URL's own fragment, and bracketed parameter names (black-box tester, session 15
        // round 11: F1, F2).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": «"https://a.example.com/mcp#access_token=Summer{digits:4}"}, "b": {"url": «"https://b.example.com/mcp#password=Summer{digits:4}"},
  "c": {"url": «"https://c.example.com/mcp#{alnum:32}"}, "d": {"url": «"https://d.example.com/mcp?auth[token]=Summer{digits:4}"},
  "e": {"url": «"https://e.example.com/mcp?data%5Bpassword%5D=Summer{digits:4}"}, "f": {"url": «"https://f.example.com/mcp?api_key[0]=Summer{digits:4}"}}}"#),
    ],
    counterexamples: &[
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": "https://a.example.com/mcp?redirect=https://app.example.com/cb?state=open&lang=en"},
  "b": {"url": "https://b.example.com/mcp?next=/home?tab=settings"}, "c": {"url": "https://c.example.com/mcp?upstream=https://svc:${SVC_PASSWORD}@api.internal/"},
  "d": {"url": "https://d.example.com/mcp?redirect=http%3A%2F%2Fx%2F%3Fpage%3D2"}, "e": {"url": "https://e.example.com/mcp?db=postgresql://admin@db.internal/app"}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"api": {"type": "http", "url": "https://mcp.example.com/mcp?region=eu"},
  "n": {"url": "https://mcp.example.com/v1/commits/{hex:40}/mcp?commit={hex:40}"}, "l": {"url": "https://mcp.example.com/very-long-path-segment/mcp"}, "q": {"url": "https://mcp.example.com/mcp?country_code=us&status_code=200&map_pin=berlin"}, "w": {"url": "https://mcp.example.com/mcp?debug&verbose"},
  "g": {"command": "mcp-x", "args": ["--script=https://raw.githubusercontent.com/acme/x/{hex:40}/run.js"]},
  "u": {"url": "https://u%3A${TOKEN}@u.example.com/mcp"}, "v": {"url": "https://v.example.com/mcp/2024-01-15-release-notes"}}}"#),
        fx("docker-compose.yml", "services:\n  bot:\n    image: ghcr.io/acme/bot:1.2.0\n    environment:\n      DATABASE_URL: postgres://bot:${DB_PASSWORD}@db:5432/bot\n"),
        fx("compose.yaml", "services:\n  bot:\n    image: x/bot:1.0.0\n    environment:\n      REDIS_URL: redis://:$${REDIS_PASSWORD}@redis:6379\n"),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"url": "https://a.example.com/mcp#section-2"}, "b": {"url": "https://b.example.com/mcp#/callback?tab=1"},
  "c": {"url": "https://c.example.com/mcp?filter[name]=bob&page[size]=10"}, "d": {"url": "https://d.example.com/mcp#access_token=${TOKEN}"}}}"#),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    if cx.doc.kind == Kind::ToolsList {
        return;
    }
    for s in cx.strings {
        let node = s.node;
        let Some(text) = node.as_str() else { continue };
        // A server's URL written without its scheme (`admin:<pw>@host/mcp`,
        // `host/api/mcp/s/<token>/mcp`) is read as the https URL a client would make of it
        // (black-box tester, session 15 round 13: F5); a command line's URLs are judged
        // word by word (`sh -c "npx mcp-remote https://…/s/<token>/mcp"`; round 14: F1).
        let candidates: Vec<std::borrow::Cow<'_, str>> = match url_candidate(text) {
            Some(t) if !t.contains(char::is_whitespace) => vec![t],
            Some(_) => crate::model::shell_words(text)
                .into_iter()
                .filter(|w| w.contains("://"))
                .filter_map(|w| url_candidate(&w).map(|c| std::borrow::Cow::Owned(c.into_owned())))
                .collect(),
            None if schemeless_server_url(s.last_key(), text) => {
                vec![std::borrow::Cow::Owned(format!("https://{}", text.trim()))]
            }
            None => continue,
        };
        for t in candidates {
            if judge(&t, s, out) {
                break;
            }
        }
    }
}

/// Judges one URL of a string; whether it reported one.
fn judge(t: &str, s: &crate::node::StrAt<'_>, out: &mut Emit<'_>) -> bool {
    let node = s.node;
    // Without `@` a URL has no user name or password, without `?` no query, without a
    // long path segment no token in its path: nothing to find, no need to parse.
    if !t.contains(['@', '?', '#'])
        && !t
            .split('/')
            .skip(3)
            .any(|seg| seg.len() >= 16 && seg.bytes().any(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let Some(u) = parse_url(t) else { return false };
    let key = s.key();
    // The userinfo is judged percent-decoded, as the server reads it: `ci%3A<token>@` is
    // the user `ci` with a password, `<token>%40x@` a token beside an `@`.
    let user = crate::redact::percent_decode(u.username());
    let mut password = u.password().map(crate::redact::percent_decode);
    let mut user = user.as_str();
    if password.is_none() {
        if let Some((name, pw)) = user.split_once(':') {
            password = Some(pw.to_owned());
            user = name;
        }
    }
    // `https://<token>@host/…`: a token as the user name (GitHub's and GitLab's way).
    // An empty password (`<token>%3A@`) leaves the user name to judge.
    if password.as_deref().is_none_or(str::is_empty) && !user.is_empty() {
        if let Some(tok) = user.split(['@', ':', ';', ' ']).find(|p| {
            !is_reference(p) && !is_fill_in(p) && (looks_random(p) || crate::redact::hex_token(p))
        }) {
            out.secret(
                node.span,
                &key,
                format!("the URL in `{key}` holds a token as its user name"),
                tok.to_owned(),
            );
            return true;
        }
    }
    if let Some(pw) = password.filter(|p| !p.is_empty()) {
        if !is_reference(&pw) && !is_fill_in(&pw) {
            out.secret(
                node.span,
                &key,
                format!("the URL in `{key}` holds a password"),
                pw,
            );
            return true;
        }
    }
    // A token as a path segment (Zapier's `/api/mcp/s/<token>/mcp`, a Discord webhook's
    // `/api/webhooks/<id>/<token>`).
    if let Some((_, seg)) = crate::redact::secret_segment(&u) {
        out.secret(
            node.span,
            &key,
            format!("the URL in `{key}` holds a token in its path"),
            seg,
        );
        return true;
    }
    // The query, then the fragment read as one (`#access_token=…`, the implicit grant's
    // spelling, `#password=…`, a bare `#<token>`): clients that keep a fragment hand it to
    // whatever reads the page (black-box tester, session 14 round 10: F2).
    let fragment = u.fragment().unwrap_or("");
    let parts = [("query", u.query().unwrap_or("")), ("fragment", fragment)];
    for (part, text) in parts {
        for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
            // [`crate::redact::query_secret`]: the judgement `--probe` strips by.
            if let Some(secret) = crate::redact::query_secret(&k, &v) {
                let what = if crate::redact::name_is_token(&k) {
                    format!("a token as a {part} parameter's name")
                } else {
                    format!("`{k}` in its {part}")
                };
                out.secret(
                    node.span,
                    &key,
                    format!("the URL in `{key}` carries {what}"),
                    secret,
                );
                return true;
            }
        }
    }
    false
}

/// Whether a string under a URL's key (`url`, `serverUrl`, `httpUrl`, `endpoint`, `uri`) is a
/// URL without its scheme: a host name (with a dot, or `localhost`), maybe after a user and
/// password, then a path.
fn schemeless_server_url(key: &str, text: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if !matches!(
        k.as_str(),
        "url" | "serverurl" | "httpurl" | "endpoint" | "uri"
    ) {
        return false;
    }
    let t = text.trim();
    if t.contains("://") || t.contains(char::is_whitespace) || t.starts_with('$') {
        return false;
    }
    let authority = t.split('/').next().unwrap_or(t);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    host == "localhost"
        || (host.contains('.')
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')))
}
