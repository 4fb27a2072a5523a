//! Redaction of log text: registered secret values, and anything shaped like a credential
//! (bearer tokens, `Authorization` headers, `password=` pairs), are masked wherever they appear.

use aho_corasick::{AhoCorasick, MatchKind};
use arc_swap::ArcSwap;
use regex::Regex;
use std::borrow::Cow;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

/// What every masked span is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Values shorter than this are not registered: masking every `abc` in a log would hide the log.
pub const MIN_REGISTERED_LEN: usize = 6;

/// A value shorter than this is not looked for encoded: a few base64 characters of it would
/// turn up in unrelated text.
pub const ENCODED_MIN: usize = 12;

#[derive(Default, Clone)]
struct Registry {
    values: Vec<String>,
    /// Per value: masked only where it stands as a word ([`is_word`]).
    words: Vec<bool>,
    /// The values' encodings ([`log_forms`]), masked in logs too, after `values` in the
    /// matcher's patterns.
    derived: Vec<String>,
    matcher: Option<AhoCorasick>,
}

/// The texts `value` becomes encoded, each of which any encoding of a longer text holding it
/// contains: lower- and upper-case hex, and, for each of the three positions it can start at
/// in a base64 group, the characters that depend on its bytes alone (standard and URL-safe
/// alphabets; padding never falls inside them).
pub fn encoded_forms(value: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![hex.to_ascii_uppercase(), hex];
    for lead in 0..3usize {
        let mut shifted = vec![0u8; lead];
        shifted.extend_from_slice(value);
        // Characters wholly inside the value: from the first that starts at or after its first
        // bit to the last that ends at or before its last.
        let (from, to) = ((8 * lead).div_ceil(6), 8 * (lead + value.len()) / 6);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&shifted);
            let middle = text[from..to].to_owned();
            if !out.contains(&middle) {
                out.push(middle);
            }
        }
    }
    out
}

/// What a registered value may be written as in a log line besides itself (tester 164: a
/// child's stderr printed the signing key base64-, hex-, percent- and `\u`-encoded, and the
/// log kept them): [`encoded_forms`], every byte `%XX` (either case), URL-encoded as
/// `encodeURIComponent` and `quote(safe='')` write it, and every character `\uXXXX`.
fn log_forms(value: &str) -> Vec<String> {
    if value.len() < ENCODED_MIN {
        return Vec::new();
    }
    let mut out = encoded_forms(value.as_bytes());
    let every: String = value.bytes().map(|b| format!("%{b:02X}")).collect();
    let lower = every.to_ascii_lowercase();
    let component: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let escaped: String = value
        .encode_utf16()
        .map(|u| format!("\\u{u:04x}"))
        .collect();
    let upper_escaped: String = value
        .encode_utf16()
        .map(|u| format!("\\u{u:04X}"))
        .collect();
    for f in [every, lower, component, escaped, upper_escaped] {
        if f != value && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The password of a URL with one (`scheme://user:<password>@host/…`): the secret a
/// program prints alone as often as the whole URL (tester 164).
pub fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let userinfo = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = userinfo.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    // A word (`postgres://postgres:postgres@db`) is no secret of its own: looked for alone
    // it would refuse and mask every mention of the word (review).
    let classes = [
        password.bytes().any(|b| b.is_ascii_lowercase()),
        password.bytes().any(|b| b.is_ascii_uppercase()),
        password.bytes().any(|b| b.is_ascii_digit()),
        password.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ];
    (password.len() >= 8 && classes.iter().filter(|c| **c).count() >= 2).then_some(password)
}

/// Letters-only values up to this length are words (`secret`, `changeme`): masked only where
/// they stand alone, so a weak secret does not garble the words it is part of.
const MAX_WORD_LEN: usize = 16;

/// Whether a registered value is a short run of ASCII letters: a dictionary word someone used as
/// a secret (Vigil refuses it as weak). Masking it inside longer words would turn the refusal's
/// own advice `--allow-weak-secret` into `--allow-weak-[REDACTED]` (tester 152); where it stands
/// alone it is still masked.
fn is_word(value: &str) -> bool {
    value.len() <= MAX_WORD_LEN && value.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Whether a byte joins a word: a letter, a digit, `-` or `_`.
fn joins(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Read on every log line by every thread, written a few times per process: an [`ArcSwap`], so a
/// read touches no cache line another thread writes.
static REGISTRY: LazyLock<ArcSwap<Registry>> = LazyLock::new(ArcSwap::default);

/// Serialises [`register`] calls (each publishes a whole new registry).
static REGISTERING: Mutex<()> = Mutex::new(());

/// Credential shapes masked even when nobody registered them. The name part is kept so a log
/// still says *which* credential was there; only the value is masked.
static SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // `Authorization: Bearer x`, `"authorization":"Basic x"`, `Proxy-Authorization=...`
        r#"(?i)(?P<n1>(?:proxy-)?authorization\\?"?\s*[:=]\s*\\?"?\s*(?:(?:bearer|basic|token|bot|digest)\s+)?)(?P<v1>[^\s"\\,;]+)"#,
        // a bare `Bearer x` anywhere
        r#"|(?P<n2>\b(?:bearer|bot)\s+)(?P<v2>[A-Za-z0-9._~+/=-]{8,})"#,
        // `password=x`, `"api_key": "x"`, `client_secret: x`, `MCP_JWT_SECRET=x`
        r#"|(?P<n3>(?i:[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential)s?)\\?"?\s*[:=]\s*\\?"?)(?P<v3>[^\s"\\,;&]{1,})"#,
        // credentials inside URLs: scheme://user:pass@host
        r#"|(?P<n4>[a-z][a-z0-9+.-]*://[^\s:/@"]*:)(?P<v4>[^\s@/"]+)(?P<t4>@)"#,
    ))
    .expect("redaction shapes compile")
});

/// Names the redactor treats as credentials (`password`, `secret`, `token`, `api_key`…): a
/// `NAME: text` or `NAME=text` pair with such a name has its text masked.
static CREDENTIAL_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential)s?$")
        .expect("credential name compiles")
});

/// Whether the redactor reads `name` as a credential's name, so that whatever follows
/// `name: ` in a line would be masked. Messages about such a name (a configuration key, say)
/// must not put text right after `name: `.
pub fn is_credential_name(name: &str) -> bool {
    CREDENTIAL_NAME.is_match(name) || name.to_ascii_lowercase().ends_with("authorization")
}

/// Whether `value`, found after a credential's name, is a placeholder a message or a hint
/// writes (`Authorization = "…"`, `password=...`, `token: <TOKEN>`) rather than a value.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '\'' || c == '"');
    !v.is_empty()
        && (v.chars().all(|c| c == '.' || c == '…') || (v.starts_with('<') && v.ends_with('>')))
}

/// Registers a secret value: from now on it is masked in every log line, in its raw form, its
/// JSON-escaped form (so JSON logs are covered too) and, 12 characters or longer, encoded
/// ([`log_forms`]).
pub fn register(value: &str) {
    if value.len() < MIN_REGISTERED_LEN {
        return;
    }
    if let Some(password) = url_password(value) {
        register(password);
    }
    let _one_at_a_time = REGISTERING.lock().unwrap_or_else(|e| e.into_inner());
    let mut reg = Registry::clone(&REGISTRY.load());
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped.trim_matches('"').to_owned();
    for v in [value.to_owned(), escaped] {
        if !reg.values.contains(&v) {
            reg.words.push(is_word(&v));
            reg.values.push(v);
        }
    }
    if !is_word(value) {
        for f in log_forms(value) {
            if !reg.derived.contains(&f) && !reg.values.contains(&f) {
                reg.derived.push(f);
            }
        }
    }
    reg.matcher = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(reg.values.iter().chain(&reg.derived))
        .ok();
    REGISTRY.store(Arc::new(reg));
}

/// The registered values that are not short words ([`is_word`]), as registered: the secrets
/// this process holds (a gateway masks them in the answers it passes on, as its upstreams'
/// credentials).
pub fn registered_secrets() -> Vec<String> {
    let reg = REGISTRY.load();
    reg.values
        .iter()
        .zip(&reg.words)
        .filter(|(_, word)| !**word)
        .map(|(v, _)| v.clone())
        .collect()
}

/// Whether `text` holds a registered value (where [`redact`] would mask it).
pub fn holds_registered(text: &str) -> bool {
    let reg = REGISTRY.load();
    let Some(m) = &reg.matcher else { return false };
    m.find_iter(text)
        .any(|hit| masked_here(&reg, text.as_bytes(), &hit))
}

/// Whether a registered value found at `hit` in `bytes` is masked there: anywhere, but a word
/// ([`is_word`]) only where it stands alone.
fn masked_here(reg: &Registry, bytes: &[u8], hit: &aho_corasick::Match) -> bool {
    !(reg
        .words
        .get(hit.pattern().as_usize())
        .copied()
        .unwrap_or(false)
        && (bytes[..hit.start()].last().copied().is_some_and(joins)
            || bytes.get(hit.end()).copied().is_some_and(joins)))
}

/// Whether `text` holds a registered value, or the value (8 bytes or more) of a variable of
/// the process environment named as a credential ([`is_credential_name`]): what a token's
/// claims, which whoever holds it reads, may never carry.
pub fn holds_secret_value(text: &str) -> bool {
    holds_registered(text)
        || secret_env_values()
            .iter()
            .any(|v| text.contains(v.as_str()))
}

/// The values (8 bytes or more) of the process environment's variables named as credentials
/// ([`is_credential_name`], [`names_a_secret`]).
pub fn secret_env_values() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            (v.len() >= 8 && (is_credential_name(&k) || names_a_secret(&k))).then_some(v)
        })
        .collect()
}

/// Whether a variable's name says it holds a secret anywhere in it, not only at its end
/// (`VIGIL_GATEWAY_AUDIT_KEY`, `WEBHOOK_SECRET_DEFAULT`, `API_KEY_1`, `PRIVATE_KEY_PEM`;
/// tester 156): a piece between `_`, `-` or `.` that is a secret's word (not `PWD`, the shell's
/// working folder).
pub fn names_a_secret(name: &str) -> bool {
    name.split(['_', '-', '.']).any(|p| {
        let p = p.to_ascii_uppercase();
        matches!(
            p.as_str(),
            "KEY"
                | "SECRET"
                | "SECRETS"
                | "TOKEN"
                | "TOKENS"
                | "PASSWORD"
                | "PASSWD"
                | "CREDENTIAL"
                | "CREDENTIALS"
                | "PRIVATE"
                | "APIKEY"
                | "SALT"
                | "PEPPER"
                | "SIGNING"
                | "HMAC"
                | "DSN"
        ) || p.ends_with("KEY")
            || p.ends_with("SECRET")
            || p.ends_with("TOKEN")
    })
}

/// How many values are registered so far: what [`redact`] masks changes only when this does
/// (values are never removed), so a caller may remember its answers for as long as it stays.
pub fn generation() -> usize {
    REGISTRY.load().values.len()
}

/// Whether some credential shape could match `text`: every one of them needs a `:` or `=`
/// (name and value) or whitespace (`Bearer x`), so text without any (an identifier, a path, a
/// number) skips the regex.
fn may_have_shape(text: &str) -> bool {
    text.contains([':', '=']) || text.chars().any(char::is_whitespace)
}

/// A further redactor a program installs once ([`install`]): the gateway installs vigil-scan's
/// rules, so a token of a known shape (a GitHub PAT, an AWS key) that reaches a log line through
/// a field a client or a child process chose is masked too.
pub type Extra = fn(&str) -> Option<String>;

static EXTRA: OnceLock<Extra> = OnceLock::new();

/// Installs `extra`, run by [`redact`] after the registered values and shapes (it returns the
/// text changed, or `None`). The first installation stays; later ones are ignored.
pub fn install(extra: Extra) {
    let _ = EXTRA.set(extra);
}

/// Masks every registered value, every credential shape and, once one is installed, what the
/// [`Extra`] redactor finds in `text`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let out = redact_own(text);
    match EXTRA.get().and_then(|f| f(&out)) {
        Some(changed) => Cow::Owned(changed),
        None => out,
    }
}

/// Registered values and credential shapes only.
fn redact_own(text: &str) -> Cow<'_, str> {
    let reg = REGISTRY.load();
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    if let Some(m) = &reg.matcher {
        if m.is_match(text) {
            let bytes = text.as_bytes();
            let mut masked = String::with_capacity(text.len());
            let mut last = 0;
            for hit in m.find_iter(text) {
                if masked_here(&reg, bytes, &hit) {
                    masked.push_str(&text[last..hit.start()]);
                    masked.push_str(MASK);
                    last = hit.end();
                }
            }
            masked.push_str(&text[last..]);
            out = Cow::Owned(masked);
        }
    }
    drop(reg);
    if may_have_shape(&out) && SHAPES.is_match(&out) {
        let src: &str = &out;
        let replaced = SHAPES
            .replace_all(src, |c: &regex::Captures<'_>| {
                // `principal=alice-bot outcome="ok"`: the word after a bare `bot`/`bearer` is a
                // field name (`name=` then a value), not a credential.
                if let Some(v) = c.name("v2") {
                    let after = src[c.get(0).map_or(0, |m| m.end())..].chars().next();
                    let inner_eq = v.as_str().trim_end_matches('=').contains('=');
                    let key_then_value =
                        v.as_str().ends_with('=') && after.is_some_and(|ch| !ch.is_whitespace());
                    if inner_eq || key_then_value {
                        return c[0].to_owned();
                    }
                }
                // `/tmp/secret: not a memory store`: a name that ends a path (`/` or `\\` just
                // before it) is a file, not a credential's name.
                let start = c.get(0).map_or(0, |m| m.start());
                if (c.name("n1").is_some() || c.name("n3").is_some())
                    && src[..start].ends_with(['/', '\\'])
                {
                    return c[0].to_owned();
                }
                for (n, v, t) in [
                    ("n1", "v1", ""),
                    ("n2", "v2", ""),
                    ("n3", "v3", ""),
                    ("n4", "v4", "t4"),
                ] {
                    if let (Some(name), Some(val)) = (c.name(n), c.name(v)) {
                        let tail = if t.is_empty() {
                            ""
                        } else {
                            c.name(t).map_or("", |m| m.as_str())
                        };
                        // Already masked, or a reference to a variable rather than a value.
                        if val.as_str() == MASK
                            || val.as_str().starts_with("${")
                            || val.as_str().starts_with("[REDACTED")
                            || is_placeholder(val.as_str())
                        {
                            return c[0].to_owned();
                        }
                        return format!("{}{MASK}{tail}", name.as_str());
                    }
                }
                c[0].to_owned()
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(parts: &[&str]) -> String {
        parts.concat()
    }

    #[test]
    fn registered_values_are_masked_encoded_and_a_urls_password_alone() {
        use base64::Engine as _;
        // Tester 164: a child's stderr printed the key encoded, and the log kept it.
        let v = tok(&["w/JLvpwd+Hz", "DZFanWRwx=CF", "JXOG9911"]);
        register(&v);
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("key={v}"));
        let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
        let pct: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
        let component = v
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D");
        let uesc: String = v.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
        for (what, text) in [
            ("base64", &b64),
            ("hex", &hex),
            ("percent", &pct),
            ("component", &component),
            ("\\u", &uesc),
        ] {
            let line = format!("stderr=dbg {what}={text} end");
            let r = redact(&line);
            assert!(r.contains(MASK) && r.ends_with(" end"), "{what}: {r}");
            assert!(
                !r.contains(&text[text.len() / 3..text.len() / 3 + 12]),
                "{what}: {r}"
            );
        }
        assert!(!registered_secrets().contains(&hex));
        let url = tok(&["postgres://app:", "S3cretPw0rd99", "@db.local/x"]);
        assert_eq!(url_password(&url), Some("S3cretPw0rd99"));
        register(&url);
        assert_eq!(redact("pw=S3cretPw0rd99 ok"), "pw=[REDACTED] ok");
        assert_eq!(url_password("https://example.com/a@b"), None);
        // A word is no password of its own (review).
        assert_eq!(url_password("postgres://postgres:postgres@db/app"), None);
    }

    #[test]
    fn registered_values_are_masked_raw_and_json_escaped() {
        let v = tok(&["s3cr3t", "\"quoted\\", "value-9911"]);
        register(&v);
        let line = format!("value is {v} and again {v}");
        let r = redact(&line);
        assert!(!r.contains(&v));
        assert_eq!(r.matches(MASK).count(), 2);
        let json = serde_json::to_string(&serde_json::json!({ "msg": v })).unwrap();
        let r = redact(&json);
        assert!(!r.contains("value-9911"), "{r}");
    }

    #[test]
    fn secret_names_are_read_anywhere_in_a_variable_name() {
        for n in [
            "VIGIL_GATEWAY_AUDIT_KEY",
            "WEBHOOK_SECRET_DEFAULT",
            "API_KEY_1",
            "PRIVATE_KEY_PEM",
            "GITHUB_TOKEN_V2",
            "db-password",
        ] {
            assert!(names_a_secret(n), "{n}");
        }
        for n in [
            "PWD",
            "OLDPWD",
            "HOME",
            "PATH",
            "CARGO_TARGET_DIR",
            "KEYBOARD_LAYOUT",
        ] {
            assert!(!names_a_secret(n), "{n}");
        }
    }

    #[test]
    fn a_registered_word_is_masked_alone_never_inside_other_words() {
        let w = tok(&["quokka", "quill"]);
        register(&w);
        for (line, want) in [
            (format!("secret is {w}"), format!("secret is {MASK}")),
            (format!("KEY={w};"), format!("KEY={MASK};")),
            (format!("\"{w}\""), format!("\"{MASK}\"")),
            (
                format!("--allow-weak-{w} or {w}s or x{w} or {w}_x"),
                format!("--allow-weak-{w} or {w}s or x{w} or {w}_x"),
            ),
        ] {
            assert_eq!(redact(&line), want);
        }
        // A value with a digit or a sign is masked wherever it appears.
        let v = tok(&["quokka", "7quill"]);
        register(&v);
        assert_eq!(redact(&format!("x{v}y")), format!("x{MASK}y"));
    }

    #[test]
    fn a_field_after_a_principal_named_bot_is_not_taken_for_a_token() {
        for line in [
            r#"memory tool call tool=memory_write principal=bot outcome="ok""#,
            r#"memory tool call principal=alice-bot outcome="ok""#,
            "principal=bot outcome=ok_result tool=memory_read",
        ] {
            assert_eq!(redact(line), line);
        }
        let t = tok(&[
            "MTk4NjIyNDgzNDcxOTI1MjQ4",
            ".Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        ]);
        assert!(!redact(&format!("header Bot {t} sent")).contains(&t));
        assert!(!redact(&format!("header Bot {t}")).contains(&t));
    }

    #[test]
    fn shapes_are_masked_without_registration() {
        let bearer = tok(&["eyJhbGciOi", "JIUzI1NiJ9.abc.def"]);
        for (input, hidden) in [
            (format!("Authorization: Bearer {bearer}"), bearer.as_str()),
            (format!("sending bearer {bearer} upstream"), bearer.as_str()),
            (
                tok(&["pass", "word=hunter2-", "but-longer"]),
                "hunter2-but-longer",
            ),
            (r#"{"api_key": "k-123456789"}"#.to_owned(), "k-123456789"),
            (
                "MCP_JWT_SECRET=abcdefgh12345678".to_owned(),
                "abcdefgh12345678",
            ),
            (
                tok(&["redis://user:", "pa55word", "@localhost:6379"]),
                "pa55word",
            ),
            (
                r#"{"message":"authorization=\"Basic dXNlcjpwYXNz\""}"#.to_owned(),
                "dXNlcjpwYXNz",
            ),
        ] {
            let r = redact(&input);
            assert!(!r.contains(hidden), "{input} -> {r}");
            assert!(r.contains(MASK), "{input} -> {r}");
        }
    }

    #[test]
    fn identifiers_skip_the_shapes_and_registered_values_still_count() {
        let v = tok(&["regist", "ered-id-", "77813"]);
        register(&v);
        assert_eq!(redact(&v), MASK);
        for s in [
            "tools/call",
            "read_file",
            "POST",
            "alice",
            "/mcp/filesystem",
        ] {
            assert!(!may_have_shape(s));
            assert_eq!(redact(s), s);
        }
        assert!(may_have_shape("bearer\u{a0}x"));
    }

    #[test]
    fn harmless_text_is_untouched() {
        for s in [
            "scanned 12 files in 3 ms",
            "token count: the rule has keywords",
            "password rules: see docs",
        ] {
            assert_eq!(redact(s), s);
        }
        assert_eq!(redact("API_KEY=${API_KEY}"), "API_KEY=${API_KEY}");
    }

    #[test]
    fn paths_and_placeholders_are_not_credentials() {
        for s in [
            "/tmp/secret: not a memory store (no files/ folder)",
            "/work/x/secrets: mode 777 lets group and others in",
            r"C:\data\password: not a folder",
            r#"send them with headers = { Authorization = "…" }"#,
            "password=... (set it in the env file)",
            "token: <TOKEN>",
        ] {
            assert_eq!(redact(s), s);
        }
        // A name that is a word of the line, not a path's end, still masks what follows.
        let v = tok(&["hunter", "2-but-", "longer"]);
        assert!(!redact(&format!("dir/x secret: {v}")).contains(&v));
        assert!(!redact(&format!("password: <{v}")).contains(&v));
    }
}
