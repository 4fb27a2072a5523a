//! `cors-wildcard-credentials`: CORS that lets any site send credentialed requests.
//!
//! ## What it finds
//! A CORS setting (a `cors` block, or `Access-Control-Allow-*` headers) whose allowed origin is
//! `*` while credentials are allowed; `null`, or a pattern that matches any site (`https://*`,
//! `.*`, `https://*.com`), likewise.
//!
//! ## Why it matters
//! Browsers refuse `*` with credentials, so servers that want both end up reflecting any
//! `Origin`: then every web page a user opens can call the MCP endpoint with the user's cookies
//! or tokens.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::{key_path, loose_eq, Node, Seg, Value};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "cors-wildcard-credentials",
    family: Family::Manifest,
    severity: Severity::Error,
    summary: "CORS allows any origin (*) together with credentials",
    fix: "List the exact origins that may call the endpoint, or stop allowing credentials",
    check: Check::File(check),
    examples: &[
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"b": {"url": "https://api.example.com/mcp", "cors": {"allow_origin": «"*", "allow_credentials": true}}}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"headers": {"Access-Control-Allow-Origin": «"*", "Access-Control-Allow-Credentials": "true"}, "mcp": {"servers": {}}}"#,
        ),
        // `null`, any host, a regex of any origin, a whole top-level domain (black-box
        // tester, session 14 round 9: F5).
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp", "cors": {"allow_origin": «"null", "allow_credentials": true}},
  "b": {"url": "https://b.example.com/mcp", "cors": {"allow_origin": «"https://*", "allow_credentials": true}},
  "c": {"url": "https://c.example.com/mcp", "cors": {"allow_origin": «".*", "allow_credentials": true}},
  "d": {"url": "https://d.example.com/mcp", "cors": {"allow_origin": ["https://app.example.com", «"https://*.com"], "allow_credentials": true}},
  "e": {"url": "https://e.example.com/mcp", "cors": {"allow_origin": «"^https?://.*$", "allow_credentials": true}}}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp", "cors": {"allow_origin_regex": «".*", "allow_credentials": true}},
  "b": {"url": "https://b.example.com/mcp", "cors": {"origin": «true, "credentials": true}},
  "c": {"url": "https://c.example.com/mcp", "cors": {"origin": «"*", "credentials": "include"}}}}}"#,
        ),
    ],
    counterexamples: &[
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"b": {"url": "https://api.example.com/mcp", "cors": {"allow_origin": ["https://app.example.com"], "allow_credentials": true}}}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"headers": {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET"}, "mcp": {"servers": {}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp", "cors": {"allow_origin": ["https://*.example.com", "https://app.example.co.uk", "^https://.*\\.example\\.com$"], "allow_credentials": true}},
  "b": {"url": "https://b.example.com/mcp", "cors": {"allow_origin": "null", "allow_credentials": false}}}}}"#,
        ),
        fx(
            "voice-manifest.json",
            r#"{"mcp": {"servers": {"a": {"url": "https://a.example.com/mcp", "cors": {"origin": "https://app.example.com", "credentials": "include"}},
  "b": {"url": "https://b.example.com/mcp", "cors": {"origin": true, "credentials": "omit"}}, "c": {"url": "https://c.example.com/mcp", "cors": {"allow_origin_regex": "^https://app\\.example\\.com$", "allow_credentials": true}}}}}"#,
        ),
    ],
};

const ORIGIN: &[&str] = &[
    "alloworigin",
    "alloworigins",
    "allowedorigins",
    "origins",
    "origin",
    "accesscontrolalloworigin",
    // Starlette's and FastAPI's `allow_origin_regex` (black-box tester, session 15 round 11:
    // F9).
    "alloworiginregex",
    "originregex",
];
const CREDENTIALS: &[&str] = &[
    "allowcredentials",
    "credentials",
    "supportscredentials",
    "accesscontrolallowcredentials",
];

fn wildcard(n: &Node) -> Option<&Node> {
    match &n.value {
        Value::String(s) if any_origin(s) => Some(n),
        // Express's `cors({origin: true})` reflects whatever origin asks.
        Value::Bool(true) => Some(n),
        Value::Array(a) => a.iter().find(|x| x.as_str().is_some_and(any_origin)),
        _ => None,
    }
}

/// Whether an allowed origin admits every site or any page that asks: `*`, `null` (what
/// sandboxed frames and `file:` pages send), a pattern of any host (`https://*`, `.*`,
/// `^https?://.+$`) or of a whole top-level domain (`https://*.com`) (black-box tester,
/// session 14 round 9: F5).
fn any_origin(origin: &str) -> bool {
    let o = origin.trim().to_ascii_lowercase();
    if o == "*" || o == "null" {
        return true;
    }
    // The host part of `scheme://host[:port][/]`, regex anchors and escapes dropped.
    let o = o
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace('\\', "");
    let host = o.split_once("://").map_or(o.as_str(), |(_, h)| h);
    let host = host.trim_end_matches('/');
    let host = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit() || b == b'*'))
        .map_or(host, |(h, _)| h);
    let any = |h: &str| matches!(h, "*" | ".*" | ".+" | "(.*)" | "(.+)" | "[^/]*" | "[^/]+");
    if any(host) {
        return true;
    }
    // `*.com`, `.*.com`, `(.*).co.uk`: any site under a top-level (or a two-letter second-level)
    // domain.
    ["*.", ".*.", ".+.", "(.*).", "(.+)."].iter().any(|p| {
        host.strip_prefix(p).is_some_and(|rest| {
            let labels: Vec<&str> = rest.split('.').collect();
            !rest.is_empty()
                && labels.iter().all(|l| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
                && (labels.len() == 1 || (labels.len() == 2 && labels[0].len() <= 3))
        })
    })
}

/// Whether `key` may compare loosely equal to a word ending in one of `last` (lowercase
/// ASCII): the last character of its loose form is that of the key without `-` and `_`,
/// lowercased, so an ASCII last byte decides; any other key is compared in full.
fn may_end(key: &str, last: &[u8]) -> bool {
    match key.bytes().rev().find(|b| !matches!(b, b'-' | b'_')) {
        Some(b) if b.is_ascii() => last.contains(&b.to_ascii_lowercase()),
        _ => true,
    }
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    // Keys compared loosely without allocating, the path borrowed until a finding needs it.
    fn walk<'a>(n: &'a Node, path: &mut Vec<Seg<'a>>, out: &mut Emit<'_>, depth: usize) {
        if depth > 32 {
            return;
        }
        let members = n.members();
        let origin = members
            .iter()
            .find(|m| may_end(&m.key, b"nsx") && ORIGIN.iter().any(|w| loose_eq(&m.key, w)));
        // `true`, or the Fetch mode `include` some configurations copy.
        let creds = origin.is_some()
            && members.iter().any(|m| {
                CREDENTIALS.iter().any(|w| loose_eq(&m.key, w))
                    && (m.value.as_bool() == Some(true)
                        || m.value
                            .as_str()
                            .is_some_and(|s| s.trim().eq_ignore_ascii_case("include")))
            });
        if let (Some(o), true) = (origin, creds) {
            if let Some(star) = wildcard(&o.value) {
                path.push(Seg::Key(&o.key));
                let k = key_path(path);
                path.pop();
                let what = if star.as_str().is_some_and(|s| s.trim() == "*")
                    || star.as_bool() == Some(true)
                {
                    "CORS allows every origin together with credentials"
                } else {
                    "CORS allows `null` or a pattern that matches any site together with credentials"
                };
                out.at(star.span, k, what);
            }
        }
        for m in members {
            path.push(Seg::Key(&m.key));
            walk(&m.value, path, out, depth + 1);
            path.pop();
        }
        for (i, e) in n.elements().iter().enumerate() {
            path.push(Seg::Index(i));
            walk(e, path, out, depth + 1);
            path.pop();
        }
    }
    walk(&cx.doc.root, &mut Vec::new(), out, 0);
}
