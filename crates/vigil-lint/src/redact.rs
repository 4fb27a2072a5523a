//! Redaction of what findings say: a message or a probed URL may quote a URL or an argument
//! that holds a credential (`https://user:pass@host`, `git+https://<token>@github.com/…`,
//! `?api_key=…`, a token of a known shape). Unless `--show-secrets`, those parts are masked
//! before a report is built, so no format ever prints them.

use std::sync::LazyLock;
use vigil_scan::Ruleset;

/// What a masked part is replaced with.
pub const MASK: &str = "[REDACTED]";

/// `scheme://userinfo@`: everything between `//` and the first `@` before the host.
static USERINFO: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"(?i)\b([a-z][a-z0-9+.\-]{0,30}://)([^\s/?#@"'`]+)@"#)
        .expect("userinfo pattern")
});

/// `?name=value` / `&name=value` query pairs (and `#name=value` fragments).
static QUERY_PAIR: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"([?&;#])([A-Za-z0-9_.\-\[\]]{1,64})=([^&#\s"'`]+)"#)
        .expect("query pattern")
});

/// A URL's path: `scheme://authority` then `/…` up to a query, fragment, space or quote.
/// Unbounded repetitions: a bounded one of thousands of any-character steps compiles to an
/// automaton of as many UTF-8 states (slow to build, large to keep).
static URL_PATH: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"(?i)\b([a-z][a-z0-9+.\-]{0,30}://[^\s/?#"'`<>]*)(/[^\s?#"'`<>]+)"#)
        .expect("url path pattern")
});

/// Whether a URL's path segment is a token (Zapier's `/api/mcp/s/<token>/mcp`, a Discord
/// webhook's `/api/webhooks/<id>/<token>`): random-looking once percent-decoded.
/// Random hex (16 or more hex digits, digits and letters mixed) and a UUID count too: what
/// `secrets.token_hex()` and `uuid4()` make.
pub fn is_secret_segment(segment: &str) -> bool {
    if segment.len() < 16 {
        return false;
    }
    secret_piece(segment).is_some()
}

/// The piece of a path segment that is a token: the segment percent-decoded, then each run of
/// `[A-Za-z0-9_-]` in it (`<hex>.json`, `{<uuid>}`, `(token)`), judged by itself.
pub fn secret_piece(segment: &str) -> Option<String> {
    if segment.len() < 16 {
        return None;
    }
    let decoded = percent_decode(segment);
    let token = |p: &str| {
        !crate::secrets::is_reference(p)
            && !crate::secrets::is_fill_in(p)
            && (crate::secrets::looks_random(p) || hex_token(p))
    };
    if token(&decoded) {
        return Some(decoded);
    }
    decoded
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|p| p.len() >= 16 && token(p))
        .map(str::to_owned)
}

/// Random hex of 16 to 128 digits with digits and letters mixed and at least six distinct
/// digits, or a UUID whose digits are as varied.
pub fn hex_token(v: &str) -> bool {
    let v = v.trim();
    let uuid = crate::secrets::is_uuid_or_digest(v) && v.len() == 36;
    let hex = (16..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex || uuid) {
        return false;
    }
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let letters = v.bytes().filter(u8::is_ascii_alphabetic).count();
    let mut seen = [false; 16];
    for b in v.bytes().filter(u8::is_ascii_hexdigit) {
        seen[(b as char).to_digit(16).unwrap_or(0) as usize] = true;
    }
    digits > 0 && letters > 0 && seen.iter().filter(|s| **s).count() >= 6
}

/// The first path segment of `url` that is a credential ([`is_secret_segment`]), with its
/// index (0-based). A 40- or 64-digit hex segment is a commit or content digest, not a
/// credential, where the host is a code host (`github.com`, `raw.githubusercontent.com`,
/// `gitlab.com`…) or the segment before says so (`commit`, `tree`, `blob`, `archive`…).
pub fn secret_segment(url: &url::Url) -> Option<(usize, String)> {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let code_host = [
        "github.com",
        "githubusercontent.com",
        "gitlab.com",
        "bitbucket.org",
        "codeberg.org",
        "sr.ht",
    ]
    .iter()
    .any(|h| host == *h || host.ends_with(&format!(".{h}")));
    let segs: Vec<&str> = url.path_segments()?.collect();
    segs.iter().enumerate().find_map(|(i, seg)| {
        let piece = secret_piece(seg)?;
        let seg = piece.as_str();
        let digest = matches!(seg.len(), 40 | 64) && seg.bytes().all(|b| b.is_ascii_hexdigit());
        let after_digest_word = i > 0
            && matches!(
                segs[i - 1].to_ascii_lowercase().as_str(),
                "commit"
                    | "commits"
                    | "tree"
                    | "blob"
                    | "blobs"
                    | "raw"
                    | "archive"
                    | "sha"
                    | "sha1"
                    | "sha256"
                    | "rev"
                    | "revision"
                    | "revisions"
                    | "ipfs"
            );
        (!(digest && (code_host || after_digest_word))).then(|| (i, piece.clone()))
    })
}

/// `%XX` escapes decoded (invalid ones kept as written).
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    String::from_utf8_lossy(&vigil_scan::percent_decoded(s.as_bytes())).into_owned()
}

/// Whether a query value is a credential by its shape: random-looking, or random hex or a
/// UUID (after an optional `Bearer `).
pub fn random_value(v: &str) -> bool {
    !crate::secrets::is_reference(v)
        && (crate::secrets::looks_random(v)
            || crate::secrets::random_hex_or_uuid(v)
            || hex_token(crate::secrets::strip_scheme(v)))
}

/// The credential a query parameter carries, if any: the one judgement both
/// `credential-in-url` and `--probe` use. A value under a credential's name
/// ([`is_secret_param`]), a random value (after an optional `Bearer `), random hex or a UUID
/// under any name but a digest's (`?commit=<sha>`); and a bare word that is a token
/// (`?<token>`, `&<token>`: the word is the value). References and fill-ins are no credential.
pub fn query_secret(name: &str, value: &str) -> Option<String> {
    query_secret_at(name, value, 0)
}

/// How deep [`nested_secret`] looks into a URL in a query value in a URL… (each level is
/// one more `?x=` the value went through).
const NESTED_DEPTH: usize = 4;

/// [`query_secret`] at a depth of nesting (a parameter of a URL that is itself a query value).
fn query_secret_at(name: &str, value: &str, depth: usize) -> Option<String> {
    use crate::secrets::{is_digest_name, is_fill_in, is_reference, is_uuid_or_digest};
    // A token as the parameter's name: bare (`?<token>`) or with a value (`?<token>=1`).
    if name_is_token(name) {
        return Some(name.to_owned());
    }
    // A value that is itself a URL or a query (`?upstream=https://svc:<pw>@api/`,
    // `?next=/cb?token=<t>`, `?redirect=http%3A%2F%2Fx%2F%3Fpassword%3D<pw>`): its own
    // password and parameters, judged as the outer URL's are, whatever the whole reads as
    // (`x.example` is no fill-in of the password after it) (black-box tester, session 14
    // round 9: F1).
    if let Some(inner) = nested_secret_at(value, depth + 1) {
        return Some(inner);
    }
    if value.is_empty() || is_reference(value) || is_fill_in(value) {
        return None;
    }
    // A token inside a longer value (`q=hello <token>`, `q=a,<token>`, JSON in a parameter),
    // judged piece by piece as a path segment is.
    if let Some(piece) = secret_piece(value).filter(|p| p.len() < value.len()) {
        return Some(piece);
    }
    let bare = crate::secrets::strip_scheme(value);
    let digest = is_digest_name(name) && (is_uuid_or_digest(value) || is_uuid_or_digest(bare));
    let secret = is_secret_param(name)
        || crate::secrets::looks_random(value)
        || crate::secrets::looks_random(bare)
        || (!digest
            && (crate::secrets::random_hex_or_uuid(value)
                || crate::secrets::random_hex_or_uuid(bare)
                || hex_token(value)
                || hex_token(bare)));
    secret.then(|| value.to_owned())
}

/// The credential a query value carries when it is itself a URL or a query, judged decoded:
/// a URL's password (or a token as its user name) and its own parameters
/// ([`query_secret`], so recursively, to a bounded depth); the parameters after a `?` in a
/// value that is no URL (`/cb?token=…`), or of a bare `a=1&password=…`.
pub fn nested_secret(value: &str) -> Option<String> {
    nested_secret_at(value, 1)
}

fn nested_secret_at(value: &str, depth: usize) -> Option<String> {
    use crate::secrets::{is_fill_in, is_reference, looks_random};
    if depth > NESTED_DEPTH || value.len() < 3 || value.len() > 8192 {
        return None;
    }
    // Encoded once more than the outer URL (`http%3A%2F%2F…`): judged as the server that
    // decodes it reads it.
    let decoded = percent_decode(value);
    let v = decoded.trim();
    // JSON in a parameter (`?cfg={"password":"…"}`): each member judged by its name and its
    // value, as a query parameter is (black-box tester, session 14 round 10: F2).
    if v.starts_with('{') || v.starts_with('[') {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(v) {
            let mut budget = 256;
            if let Some(s) = json_secret(&json, "", depth, &mut budget) {
                return Some(s);
            }
        }
    }
    // A `user:password@` before a host anywhere in the value, however the URL around it is
    // spelled: `//u:p@x` (protocol-relative), `https:\\u:p@x`, `https:/u:p@x`, `https:u:p@x`
    // read as a WHATWG parser or a lenient redirect handler reads them (black-box tester,
    // session 14 round 10: F1).
    if let Some(s) = userinfo_secret(v) {
        return Some(s);
    }
    // `password:<pw>` or `token=<t>` as the whole value: a credential's name (the strict list:
    // `sort=key:asc` is no credential) and a literal.
    if let Some((k, val)) = v.split_once([':', '=']) {
        let named = !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && crate::secrets::is_secret_name(k);
        let val = val.trim();
        if named
            && !is_reference(val)
            && !val.contains("://")
            && crate::secrets::literal_under_secret_name(val)
        {
            return Some(val.to_owned());
        }
    }
    // A protocol-relative or backslashed URL is read against a base, as a browser does.
    let parsed = if v.contains("://") {
        url::Url::parse(v).ok()
    } else if v.starts_with("//") || v.starts_with("\\\\") {
        url::Url::options().base_url(Some(&BASE)).parse(v).ok()
    } else {
        None
    };
    let query = if let Some(u) = parsed {
        let user = percent_decode(u.username());
        let password = u.password().map(percent_decode);
        let (user, password) = match (password, user.split_once(':')) {
            (None, Some((n, p))) => (n.to_owned(), Some(p.to_owned())),
            (p, _) => (user.clone(), p),
        };
        if let Some(pw) = password.filter(|p| !p.is_empty()) {
            if !is_reference(&pw) && !is_fill_in(&pw) {
                return Some(pw);
            }
        } else if !user.is_empty()
            && !is_reference(&user)
            && !is_fill_in(&user)
            && (looks_random(&user) || hex_token(&user))
        {
            return Some(user);
        }
        if let Some((_, seg)) = secret_segment(&u) {
            return Some(seg);
        }
        // Its query, the parameters after a `;` in its path, and its fragment
        // (`#access_token=…`): a redirect target's fragment reaches the page that reads it
        // (black-box tester, session 14 round 10: F3).
        let mut q = u.query().unwrap_or("").to_owned();
        if let Some((_, params)) = u.path().split_once(';') {
            q.push('&');
            q.push_str(params);
        }
        if let Some(f) = u.fragment() {
            q.push('&');
            q.push_str(f.trim_start_matches(['!', '/', '?']));
        }
        Some(q)
    } else if let Some(i) = v.find(['?', '#', ';']) {
        Some(v[i + 1..].to_owned())
    } else if v.contains('&') && v.contains('=') {
        Some(v.to_owned())
    } else {
        None
    }?;
    let query = query.replace(';', "&");
    url::form_urlencoded::parse(query.as_bytes())
        .find_map(|(k, val)| query_secret_at(&k, &val, depth))
}

/// The base a protocol-relative nested URL (`//host/…`) is read against.
static BASE: LazyLock<url::Url> =
    LazyLock::new(|| url::Url::parse("https://base.invalid/").expect("base URL"));

/// `user:password@host` (or a token as the user name, `//<token>@host`) anywhere in a
/// decoded value: after its start, a slash, a backslash, a colon (`https:u:p@x`) or a
/// separator. `mailto:john@x` and its kin name an address, not a user.
static ANY_USERINFO: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?:^|[/\\:\s,;=(\[{"'<>|])([^\s/\\?#@:"'<>]+)(?::([^\s/\\?#"'<>]*))?@[A-Za-z0-9\[]"#,
    )
    .expect("userinfo anywhere pattern")
});

/// The password (or token as a user name) of a `user:password@host` anywhere in `v`.
fn userinfo_secret(v: &str) -> Option<String> {
    use crate::secrets::{is_fill_in, is_reference, looks_random};
    if !v.contains('@') {
        return None;
    }
    const ADDRESS_SCHEMES: &[&str] = &[
        "mailto", "sip", "sips", "xmpp", "tel", "sms", "im", "pres", "acct", "urn", "news",
    ];
    ANY_USERINFO.captures_iter(v).find_map(|c| {
        let user = c.get(1).map_or("", |m| m.as_str());
        let user = percent_decode(user);
        match c.get(2).map(|m| percent_decode(m.as_str())) {
            Some(pw) => {
                if ADDRESS_SCHEMES.contains(&user.to_ascii_lowercase().as_str()) {
                    return None;
                }
                // `https:u:p@x`: the first name read is the scheme's.
                let pw = match pw.split_once(':') {
                    Some((_, p))
                        if c.get(0)
                            .is_some_and(|m| !m.as_str().starts_with(['/', '\\'])) =>
                    {
                        p.to_owned()
                    }
                    _ => pw,
                };
                (!pw.is_empty() && !is_reference(&pw) && !is_fill_in(&pw)).then_some(pw)
            }
            None => (!is_reference(&user)
                && !is_fill_in(&user)
                && (looks_random(&user) || hex_token(&user)))
            .then_some(user),
        }
    })
}

/// The credential in JSON found in a parameter: a member under a credential's name with a
/// literal value, or a value that is one by itself ([`query_secret_at`]), depth-first within
/// `budget` members.
fn json_secret(
    value: &serde_json::Value,
    name: &str,
    depth: usize,
    budget: &mut usize,
) -> Option<String> {
    use serde_json::Value;
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    match value {
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| json_secret(v, k, depth, budget)),
        Value::Array(items) => items
            .iter()
            .find_map(|v| json_secret(v, name, depth, budget)),
        Value::String(s) => query_secret_at(name, s, depth),
        Value::Number(n) => query_secret_at(name, &n.to_string(), depth),
        Value::Bool(_) | Value::Null => None,
    }
}

/// A token inside a header's or variable's name (`Bearer <token>`, `X-<token>`): a piece
/// between separators of 16 characters or more that is random or random hex.
pub fn token_in_name(name: &str) -> Option<String> {
    use crate::secrets::{is_fill_in, is_reference};
    if is_reference(name) || is_fill_in(name) {
        return None;
    }
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|p| p.len() >= 16 && (crate::secrets::looks_random(p) || hex_token(p)))
        .map(str::to_owned)
}

/// Whether a query parameter's name is itself a token (`?<token>`, `?<token>=1`).
pub fn name_is_token(name: &str) -> bool {
    use crate::secrets::{is_fill_in, is_reference};
    !is_reference(name) && !is_fill_in(name) && (random_value(name) || hex_token(name))
}

/// Whether a query parameter's name says its value is a credential: the one list both
/// `credential-in-url` and `--probe` use.
pub fn is_secret_param(name: &str) -> bool {
    // `auth[token]`, `api_key[0]`, `data[password]`: Rails', PHP's and qs's nesting; each
    // part judged (black-box tester, session 15 round 11: F1).
    if name.contains('[') {
        return name
            .split(['[', ']'])
            .filter(|p| !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()))
            .any(plain_secret_param);
    }
    plain_secret_param(name)
}

fn plain_secret_param(name: &str) -> bool {
    // Words that name a credential wherever they end a parameter's name (`x_api_key`,
    // `X-Amz-Signature`).
    const WORDS: &[&str] = &[
        "key",
        "pw",
        "pass",
        "passcode",
        "hmac",
        "otp",
        "totp",
        "mfa",
        "2fa",
        "sig",
        "signature",
        "apikey",
        "api-key",
        "access_token",
        "auth",
        "jwt",
        "session",
        "sid",
        "credential",
        "security-token",
    ];
    // Words that name one only as the whole name: `?code=` (an OAuth code), `?pin=`, but not
    // `country_code`, `status_code`, `map_pin`.
    const WHOLE: &[&str] = &["code", "pin", "sign", "sess", "ticket", "private"];
    // `key[]` is PHP's and Rails' spelling of `key`; `X-Amz-Signature`, `X-Goog-Signature`
    // and `X-Amz-Security-Token` end in a word that says it.
    let n = name.to_ascii_lowercase();
    let n = n.trim_end_matches("[]");
    let last = n.rsplit(['-', '_', '.']).next().unwrap_or(n);
    crate::secrets::is_secret_name(name)
        || crate::secrets::is_secret_name(n)
        || WORDS.contains(&n)
        || WHOLE.contains(&n)
        || WORDS.contains(&last)
        || n.ends_with("security-token")
}

/// `text` with URL userinfo, secret query values and tokens of shapes `vigil scan` knows
/// masked.
pub fn redact(text: &str, ruleset: &Ruleset) -> String {
    let mut out = USERINFO
        .replace_all(text, |c: &regex::Captures<'_>| format!("{}{MASK}@", &c[1]))
        .into_owned();
    out = URL_PATH
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let path: Vec<&str> = c[2]
                .split('/')
                .map(|seg| if is_secret_segment(seg) { MASK } else { seg })
                .collect();
            format!("{}{}", &c[1], path.join("/"))
        })
        .into_owned();
    out = QUERY_PAIR
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let value = percent_decode(&c[3]);
            if is_secret_param(&c[2]) || random_value(&value) || nested_secret(&value).is_some() {
                format!("{}{}={MASK}", &c[1], &c[2])
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    let mut hits = Vec::new();
    ruleset.scan_bytes("message", None, out.as_bytes(), &mut hits);
    for h in hits {
        let s = h.secret.expose_secret();
        if s.len() >= 8 && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    vigil_core::redact::redact(&out).into_owned()
}

/// [`redact`], and every word of `text` that looks like a random token (quoted or not) masked
/// too: for messages that quote an input's text without saying what it is (a parser's
/// `duplicate key `…``), where no key name tells a secret from a setting.
pub fn redact_quoted(text: &str, ruleset: &Ruleset) -> String {
    let out = redact(text, ruleset);
    // A key path's parts (`mcpServers.<token>.url`) are words of their own.
    let is_sep = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '`' | '"' | '\'' | ',' | ';' | '(' | ')' | '.' | '[' | ']'
            )
    };
    let mut masked = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while !rest.is_empty() {
        let word_end = rest.find(is_sep).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        // A word may end in a colon or full stop that is the message's, not the token's.
        let core = word.trim_end_matches([':', '.']);
        if crate::secrets::looks_random(core)
            || crate::secrets::is_uuid_or_digest(core)
            || hex_token(core)
        {
            masked.push_str(MASK);
            masked.push_str(&word[core.len()..]);
        } else {
            masked.push_str(word);
        }
        let sep_len = tail.chars().next().map_or(0, char::len_utf8);
        masked.push_str(&tail[..sep_len]);
        rest = &tail[sep_len..];
    }
    masked
}

/// `vigil scan`'s built-in rules, compiled on first use.
static BUILTIN: LazyLock<Ruleset> = LazyLock::new(Ruleset::builtin);

/// [`redact`] with `vigil scan`'s built-in rules.
pub fn redact_builtin(text: &str) -> String {
    redact(text, &BUILTIN)
}

/// [`redact_quoted`] with `vigil scan`'s built-in rules: for what names a server or tool (a pin
/// finding, an ambiguity error), where a name may be a token.
pub fn redact_quoted_builtin(text: &str) -> String {
    redact_quoted(text, &BUILTIN)
}

/// A URL to probe, with what would authenticate the probe removed: its userinfo and every
/// query parameter whose name says it is a credential. Returns the URL and what was removed
/// (names only, for a warning).
pub fn strip_credentials(url: &url::Url) -> (url::Url, Vec<String>) {
    let mut clean = url.clone();
    let mut removed = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        removed.push("its userinfo (name and password)".to_owned());
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let kept: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(k, v)| {
                // As offline (`credential-in-url`), and a credential's name whatever its value
                // (a reference sent as written is no use to the probe either).
                let secret = is_secret_param(k) || query_secret(k, v).is_some();
                if secret {
                    // A token as a name (`?<token>`, `?<token>=1`) is named by its place,
                    // never by itself.
                    if name_is_token(k) {
                        removed.push("a query parameter named by a token".to_owned());
                    } else {
                        removed.push(format!("query parameter `{k}`"));
                    }
                }
                !secret
            })
            .collect();
        if kept.len() != pairs.len() {
            if kept.is_empty() {
                clean.set_query(None);
            } else {
                clean
                    .query_pairs_mut()
                    .clear()
                    .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
        }
    }
    // A fragment is never sent, but it is printed: `#access_token=…` (OAuth's implicit
    // flow) would be.
    if url.fragment().is_some() {
        clean.set_fragment(None);
        removed.push("its fragment (`#…`)".to_owned());
    }
    (clean, removed)
}

/// `text` with control characters escaped as the workspace's human output does
/// ([`vigil_core::logging::printable`]: `\n`, `\r`, `\u{1b}`), and the invisible format
/// characters that reorder or hide text (bidi controls, zero-width marks, line separators) as
/// `\u{…}`, so a name or path from a file can neither move the cursor, clear a line, nor start
/// a new finding line.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    vigil_core::logging::printable(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(parts: &[&str]) -> String {
        parts.concat()
    }

    #[test]
    fn urls_lose_userinfo_and_secret_query_values() {
        let rs = Ruleset::builtin();
        let t = tok(&["ghp_", "Zk3j9QpL2mX8vB7nR4tY6wE1sD0fG5hJ3kL9"]);
        let m = format!("`x` installs `git+https://{t}@github.com/acme/x.git` without a commit");
        let r = redact(&m, &rs);
        assert!(!r.contains(&t), "{r}");
        assert!(
            r.contains("git+https://[REDACTED]@github.com/acme/x.git"),
            "{r}"
        );
        let pw = tok(&["hunt", "er2-pass"]);
        let r = redact(&format!("http://user:{pw}@h/mcp?api_key={pw}&x=1"), &rs);
        assert_eq!(r, "http://[REDACTED]@h/mcp?api_key=[REDACTED]&x=1");
        assert_eq!(redact("plain text, no URL", &rs), "plain text, no URL");
    }

    #[test]
    fn quoted_words_that_look_random_are_masked() {
        let rs = Ruleset::builtin();
        let t = tok(&["Zk3j9QpL2mX8vB7n", "R4tY6wE1sD0fG5hJ3kL9"]);
        let r = redact_quoted(&format!("duplicate key `{t}` in table"), &rs);
        assert_eq!(r, "duplicate key `[REDACTED]` in table");
        let r = redact_quoted(&format!("6:7: duplicate mapping key: {t}"), &rs);
        assert_eq!(r, "6:7: duplicate mapping key: [REDACTED]");
        let plain = "expected `,` or `}` at line 3, found `mcpServers`";
        assert_eq!(redact_quoted(plain, &rs), plain);
    }

    #[test]
    fn probe_urls_are_stripped_of_credentials() {
        let pw = tok(&["p", "ass"]);
        let u =
            url::Url::parse(&format!("http://user:{pw}@127.0.0.1:1/mcp?token={pw}&v=2")).unwrap();
        let (clean, removed) = strip_credentials(&u);
        assert_eq!(clean.as_str(), "http://127.0.0.1:1/mcp?v=2");
        assert_eq!(removed.len(), 2);
        // A token as a bare query word (`?<token>`) goes too, and is never named
        // (black-box tester, session 12 round 6: F1); a Bearer-prefixed value as well.
        let t = tok(&["161d84872ef7da74", "27257c7cc867ce97"]);
        let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?a=1&{t}")).unwrap();
        let (clean, removed) = strip_credentials(&u);
        assert_eq!(clean.as_str(), "http://127.0.0.1:1/mcp?a=1");
        assert!(removed.iter().all(|r| !r.contains(&t)), "{removed:?}");
        let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?{t}")).unwrap();
        assert_eq!(strip_credentials(&u).0.as_str(), "http://127.0.0.1:1/mcp");
        let u =
            url::Url::parse(&format!("http://127.0.0.1:1/mcp?foo=Bearer%20{}", &t[..16])).unwrap();
        assert_eq!(strip_credentials(&u).0.as_str(), "http://127.0.0.1:1/mcp");
        // A token as a parameter's name, and inside a longer value (black-box tester,
        // session 12 round 7: F1, F2).
        let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?{t}=1&v=2")).unwrap();
        let (clean, removed) = strip_credentials(&u);
        assert_eq!(clean.as_str(), "http://127.0.0.1:1/mcp?v=2");
        assert!(removed.iter().all(|r| !r.contains(&t)), "{removed:?}");
        for q in [
            format!("hello+{t}"),
            format!("a,{t}"),
            format!("%7B%22k%22%3A%22{t}%22%7D"),
        ] {
            let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?q={q}&v=2")).unwrap();
            assert_eq!(
                strip_credentials(&u).0.as_str(),
                "http://127.0.0.1:1/mcp?v=2",
                "{q}"
            );
        }
        // A credential in a URL or query nested in a query value, plain or percent-encoded
        // (black-box tester, session 14 round 9: F1); a clean nested URL stays.
        let w = tok(&["Summer", "1234!"]);
        let we = tok(&["Summer", "1234%21"]);
        for q in [
            format!("upstream=https://svc:{we}@api.internal/"),
            format!("db=postgresql://admin:{we}@db.internal/app"),
            format!("callback=https://x.example/cb?password={we}"),
            format!("next=/cb?token={we}"),
            format!("redirect=http%3A%2F%2Fx%2F%3Fpassword%3D{we}"),
            format!("a=b%26passwd%3D{we}"),
        ] {
            assert_stripped_and_masked(&q, &w, &we);
        }
        let u = url::Url::parse(
            "http://127.0.0.1:1/mcp?next=https://app.example.com/cb?state=open&r=/home?tab=a",
        )
        .unwrap();
        assert_eq!(strip_credentials(&u).0, u);
        // Plain words stay.
        let u = url::Url::parse("http://127.0.0.1:1/mcp?debug&verbose").unwrap();
        assert_eq!(
            strip_credentials(&u).0.as_str(),
            "http://127.0.0.1:1/mcp?debug&verbose"
        );
    }

    /// `?{q}&v=2` loses `q` to `--probe` (named without the secret `w`), and neither `w` nor
    /// its encoded form `we` survives redaction.
    fn assert_stripped_and_masked(q: &str, w: &str, we: &str) {
        let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?{q}&v=2")).unwrap();
        let (clean, removed) = strip_credentials(&u);
        assert_eq!(clean.as_str(), "http://127.0.0.1:1/mcp?v=2", "{q}");
        assert!(removed.iter().all(|r| !r.contains(w)), "{removed:?}");
        let r = redact(&format!("see {u}"), &Ruleset::builtin());
        assert!(!r.contains(w) && !r.contains(we), "{r}");
    }

    #[test]
    fn nested_credentials_however_spelled_are_found() {
        // Black-box tester, session 14 round 10: F1 (userinfo in protocol-relative,
        // backslashed and slash-less nested URLs), F2 (JSON in a parameter with a password
        // under its name), F3 (a nested URL's fragment and `;` parameters, `password:<pw>`).
        let w = tok(&["Summer", "1234!"]);
        let we = tok(&["Summer", "1234%21"]);
        for q in [
            format!("next=//u:{we}@x/"),
            format!("next=%2F%2Fu%3A{we}%40x"),
            format!("next=https:%5C%5Cu:{we}@x%5C"),
            format!("next=https:\\\\u:{we}@x\\"),
            format!("next=https:/u:{we}@x/"),
            format!("next=https:u:{we}@x/"),
            format!("next=see%20u:{we}@db.internal"),
            format!("cfg=%7B%22password%22%3A%22{we}%22%7D"),
            format!("cfg={{\"password\":\"{we}\"}}"),
            format!("cfg=%5B%7B%22db%22%3A%7B%22passwd%22%3A%22{we}%22%7D%7D%5D"),
            format!("next=https://x/%23access_token={we}"),
            format!("next=/cb%3Btoken={we}"),
            format!("next=https://x/cb%3Btoken={we}"),
            format!("q=password:{we}"),
        ] {
            assert_stripped_and_masked(&q, &w, &we);
        }
        // Addresses, plain JSON, sort keys and clean redirects stay.
        for q in [
            "to=mailto:john@example.com",
            "contact=john@example.com",
            "cfg=%7B%22name%22%3A%22demo%22%2C%22limit%22%3A5%7D",
            "sort=key:asc",
            "next=//app.example.com/home%23tab%3Dsettings",
            "next=/cb;v=2",
        ] {
            let u = url::Url::parse(&format!("http://127.0.0.1:1/mcp?{q}")).unwrap();
            assert_eq!(strip_credentials(&u).0, u, "{q}");
        }
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("gh\u{1b}[2K\r\nx"), "gh\\u{1b}[2K\\r\\nx");
        assert_eq!(escape_controls("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(escape_controls("plain"), "plain");
    }
}
