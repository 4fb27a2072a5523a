//! Is this value a credential? References are not (`${VAR}`, `${env:VAR}`,
//! `${input:id}`, `{{ secrets.X }}`, `${{ secrets.X }}`, `$VAR`, `%VAR%`), but the default of
//! `${VAR:-default}` is a literal; what remains after removing them is judged by `vigil scan`'s rules (run once over the whole file by
//! [`crate::document`]), by the name of the key that holds it, and by its entropy.

use regex::Regex;
use std::sync::LazyLock;

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\$?\{\{\s*(?:secrets|inputs|env|vars)\.[A-Za-z0-9_.\-]{1,128}\s*\}\}",
        // `-` belongs to VS Code's input and config ids, never to a variable's name:
        // `${GH-literal}` is POSIX's default of `GH`, a literal to judge. `${VAR:?message}`
        // fails when VAR is unset: a reference (black-box tester, session 15 round 12: F6).
        r"|\$\{(?:(?:input:|config:)[A-Za-z_][A-Za-z0-9_.\-]{0,127}|(?:env:)?[A-Za-z_][A-Za-z0-9_.]{0,127})(?::?[-=]([^}]*)|:?\?[^}]*)?\}",
        r"|\{env:[A-Za-z_][A-Za-z0-9_]{0,127}\}",
        r"|\$[A-Za-z_][A-Za-z0-9_]{0,127}",
        r"|%[A-Za-z_][A-Za-z0-9_]{0,127}%",
    ))
    .expect("reference regex")
});

static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:^|[_\-.\s])(?:",
        r"api[_\-]?key|apikey|access[_\-]?key(?:[_\-]?id)?|secret(?:[_\-]?(?:access[_\-]?)?key)?|client[_\-]?secret",
        r"|(?:access|auth|refresh|id|bot|bearer|session|api|personal[_\-]access)?[_\-]?token|bearer",
        r"|password|passwd|pwd|pw|pass|passphrase|private[_\-]?key|credentials?|cookie|subscription[_\-]?key",
        r"|session[_\-]?(?:id|key)|(?:signing|encryption|master|app|license)[_\-]?key|webhook(?:[_\-]?(?:url|secret))?",
        r"|dsn|connection[_\-]?string|database[_\-]?url|db[_\-]?url|authorization|auth",
        // The same words in other languages written in Latin letters (diacritics already
        // folded away: `pässwört` is read as `passwort`).
        r"|passwort|kennwort|wachtwoord|losenord|passord|adgangskode|salasana|jelszo|haslo|heslo",
        r"|sifre|parola|senha|contrasena|mot[_\-.\s]?de[_\-.\s]?passe|geheimnis|segredo|segreto|secreto",
        r")$"
    ))
    .expect("secret-name regex")
});

/// Removes every reference from `value`; the second item says whether there was one.
pub fn strip_references(value: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !value.contains(['$', '{', '%']) {
        return (std::borrow::Cow::Borrowed(value), false);
    }
    // Compose's `$$` escape: `$${REDIS_PASSWORD}` reaches the container as the reference
    // `${REDIS_PASSWORD}` (black-box tester, session 15 round 14: F5).
    if value.contains("$${") {
        let unescaped = value.replace("$${", "${");
        let (rest, had) = strip_references(&unescaped);
        if had {
            return (std::borrow::Cow::Owned(rest.into_owned()), true);
        }
    }
    // `${VAR:-default}` (and `-`, `:=`, `=`): the client uses the default when VAR is unset,
    // so the default is a literal and stays to be judged.
    // Matches are found by the lazy DFA; the captures (the slower engines) run only on a
    // match that can hold a default (one with `-` or `=`), from where it starts, which gives
    // the same match.
    let mut out = String::new();
    let mut last = 0;
    for m in REFERENCE.find_iter(value) {
        out.push_str(&value[last..m.start()]);
        if m.as_str().contains(['-', '=']) {
            if let Some(d) = REFERENCE
                .captures_at(value, m.start())
                .and_then(|c| c.get(1))
            {
                out.push_str(d.as_str());
            }
        }
        last = m.end();
    }
    if last == 0 {
        return (std::borrow::Cow::Borrowed(value), false);
    }
    out.push_str(&value[last..]);
    let had = out.len() != value.len();
    (std::borrow::Cow::Owned(out), had)
}

/// Whether a credential's value sends nothing: a scheme alone (`Bearer:`, `Bearer ${}`), a
/// reference that names nothing (`${env:}`, `${input:}`, `${{ }}`), `undefined`, `N/A`, or Basic
/// credentials that decode to an empty user and password (`Basic Og==` is `:`). Such a value is
/// no authentication and no literal secret (black-box tester, session 15 rounds 11 and 12).
pub fn sends_nothing(value: &str) -> bool {
    static EMPTY_REF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\$?\{\{\s*\}\}|\$\{\s*(?:env:|input:|config:)?\s*\}").expect("regex")
    });
    let v = if value.contains(['$', '{']) {
        EMPTY_REF.replace_all(value.trim(), "")
    } else {
        std::borrow::Cow::Borrowed(value.trim())
    };
    let rest = strip_scheme(v.trim()).trim();
    let word = rest.trim_end_matches(':');
    if word.len() <= 9
        && ["", "bearer", "basic", "token", "undefined", "nil", "n/a"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
    {
        return true;
    }
    let scheme = v.trim().get(..5);
    if rest.len() < v.trim().len() && scheme.is_some_and(|b| b.eq_ignore_ascii_case("basic")) {
        use base64::Engine as _;
        if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(rest) {
            return d.iter().all(|b| *b == b':' || b.is_ascii_whitespace());
        }
    }
    false
}

/// Whether `value` is only references (and whitespace).
pub fn is_reference(value: &str) -> bool {
    let (rest, had) = strip_references(value);
    had && strip_scheme(rest.trim()).is_empty()
}

/// Whether a key, header or flag name says its value is a secret (`GITHUB_TOKEN`,
/// `X-API-Key`, `--api-key`, `db_password`, `Passwort`, `пароль`, `密码`), and not a path or id
/// of one (`*_FILE`, `*_PATH`, `public_key`). A name holding other than ASCII is read folded
/// ([`fold_name`]): invisible characters dropped, compatibility forms and case folded,
/// diacritics removed, look-alike letters of other scripts read as the Latin ones they imitate
/// (`TОKEN` with a Cyrillic `О`), so `pässwört`, `ТОКЕН` and `API\u{200B}_KEY` are secrets'
/// names.
pub fn is_secret_name(name: &str) -> bool {
    // `"API_KEY "`: clients pass the name on as written, but a reader sees `API_KEY`.
    let name = name.trim();
    if name.is_ascii() {
        return ascii_secret_name(name);
    }
    if name.len() > 512 {
        return false;
    }
    let folded = fold_name(name);
    native_secret_word(&folded.native) || ascii_secret_name(&folded.latin)
}

/// [`is_secret_name`] for the name as written, without folding: whether a header or key is
/// one a client sends or reads as a credential (a header whose name hides a zero-width
/// character or a Cyrillic letter authenticates nothing).
pub fn is_secret_name_as_written(name: &str) -> bool {
    ascii_secret_name(name)
}

/// A key name read two ways for judging: `native` is NFKC, lower case, without invisible
/// characters (`ТОКЕН` → `токен`); `latin` is that with diacritics removed and letters of
/// other scripts that imitate Latin ones replaced by them (`pässwört` → `passwort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedName {
    /// NFKC, lower case, invisible characters dropped.
    pub native: String,
    /// `native` with diacritics removed and look-alikes read as Latin letters.
    pub latin: String,
}

/// Folds a key name for judging (see [`FoldedName`]).
pub fn fold_name(name: &str) -> FoldedName {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization as _;
    let native: String = name
        .nfkc()
        .filter(|c| !crate::rules::invisible_char(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let mut latin = String::with_capacity(native.len());
    for c in native.chars() {
        if c.is_ascii() {
            latin.push(c);
            continue;
        }
        // `ä` → `a`: the base letter without its marks.
        let base: String = std::iter::once(c)
            .nfd()
            .filter(|m| !is_combining_mark(*m))
            .collect();
        if !base.is_empty() && base.is_ascii() {
            latin.push_str(&base);
            continue;
        }
        // `о` (Cyrillic) → `o`: UTS 39's prototype, when it is a Latin letter or digit.
        let mut buf = [0u8; 4];
        let proto: String = unicode_security::skeleton(c.encode_utf8(&mut buf)).collect();
        if !proto.is_empty() && proto.bytes().all(|b| b.is_ascii_alphanumeric()) {
            latin.extend(proto.chars().flat_map(char::to_lowercase));
        } else {
            latin.push(c);
        }
    }
    FoldedName { native, latin }
}

/// Whether a folded name holds a secret's word in a script other than Latin (`пароль`,
/// `токен`, `密码`, `パスワード`, `비밀번호`), and not a public key's.
fn native_secret_word(native: &str) -> bool {
    /// Words (and stems, for inflected languages) naming a password, token, key or secret.
    const WORDS: &[&str] = &[
        "парол",
        "токен",
        "ключ",
        "секрет",
        "гасло",
        "лозинк",
        "κωδικ",
        "συνθηματικ",
        "密码",
        "密碼",
        "口令",
        "令牌",
        "密钥",
        "密鑰",
        "秘钥",
        "秘密",
        "凭证",
        "憑證",
        "パスワード",
        "トークン",
        "暗証",
        "認証",
        "hasło",
        "비밀번호",
        "암호",
        "토큰",
        "비밀",
        "סיסמ",
        "كلمة المرور",
        "كلمة_المرور",
        "كلمةالمرور",
        "पासवर्ड",
    ];
    /// Words that make it a public key's name.
    const NOT: &[&str] = &["публичн", "открыт", "公钥", "公開", "公开", "공개"];
    static WORD: LazyLock<aho_corasick::AhoCorasick> =
        LazyLock::new(|| aho_corasick::AhoCorasick::new(WORDS).expect("words"));
    static EXCEPT: LazyLock<aho_corasick::AhoCorasick> =
        LazyLock::new(|| aho_corasick::AhoCorasick::new(NOT).expect("exceptions"));
    WORD.is_match(native) && !EXCEPT.is_match(native)
}

/// [`is_secret_name`] for a name read as it is.
fn ascii_secret_name(name: &str) -> bool {
    /// Words one of which a secret's name holds (compared without case).
    const STEMS: &[&str] = &[
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "pw",
        "auth",
        "cookie",
        "credential",
        "dsn",
        "connection",
        "url",
        "webhook",
        "bearer",
        "session",
        "private",
        // Other languages' words (see SECRET_NAME).
        "wort",
        "woord",
        "enord",
        "kode",
        "salasana",
        "jelszo",
        "haslo",
        "heslo",
        "sifre",
        "parola",
        "senha",
        "contrasena",
        "geheim",
        "segred",
        "segret",
    ];
    /// Words that make the name one of something else (a public key, a key's id, a URL).
    const NOT: &[&str] = &[
        "public",
        "pub_key",
        "publishable",
        "key_id",
        "keyid",
        "token_url",
        "token_endpoint",
    ];
    static STEM: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(STEMS)
            .expect("stems")
    });
    static EXCEPT: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(NOT)
            .expect("exceptions")
    });
    let n = name.trim_start_matches('-');
    if n.len() > 128 {
        return false;
    }
    // One pass each over the name, without lowercasing it into a new string.
    if !STEM.is_match(n) || EXCEPT.is_match(n) {
        return false;
    }
    SECRET_NAME.is_match(n) || loose_secret_name(n)
}

/// The shapes of a secret's name that [`SECRET_NAME`]'s word boundaries miss: camelCase
/// (`githubToken`, `dbPassword`, `openaiApiKey`), a strong word glued to the end
/// (`PGPASSWORD`, `OPENAIAPIKEY`), and a strong word followed by one word saying whose
/// (`api_key_openai`, `PASSWORD_ADMIN`) but not what about it (`PASSWORD_FILE`, `TOKEN_LIMIT`).
fn loose_secret_name(n: &str) -> bool {
    let b = n.as_bytes();
    if b.windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
    {
        let mut split = String::with_capacity(n.len() + 8);
        let mut prev_lower = false;
        for c in n.chars() {
            if c.is_ascii_uppercase() && prev_lower {
                split.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            split.push(c);
        }
        if SECRET_NAME.is_match(&split) {
            return true;
        }
    }
    let l = n.to_ascii_lowercase();
    const GLUED: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "apikey",
        "secret",
        "token",
    ];
    if GLUED.iter().any(|w| l.len() > w.len() && l.ends_with(w)) {
        return true;
    }
    const HEADS: &[&str] = &[
        "api_key",
        "api-key",
        "apikey",
        "password",
        "passwd",
        "secret_key",
        "secret",
        "token",
        "access_token",
        "auth_token",
    ];
    /// Words after the secret's that make the name one of a setting about it.
    const ABOUT: &[&str] = &[
        "file", "path", "url", "uri", "type", "name", "id", "arn", "length", "len", "limit", "env",
        "var", "header", "field", "prefix", "ttl", "expiry", "expires", "hash", "min", "max",
        "policy", "rotation", "version", "kind", "mode", "format", "endpoint", "dir", "location",
        "ref", "param", "source", "count", "size", "budget", "store", "command", "cmd", "helper",
        "provider", "required", "enabled", "disabled",
    ];
    HEADS.iter().any(|h| {
        l.strip_prefix(h)
            .and_then(|r| r.strip_prefix(['_', '-', '.']))
            .is_some_and(|r| {
                !r.is_empty() && r.bytes().all(|c| c.is_ascii_alphanumeric()) && !ABOUT.contains(&r)
            })
    })
}

/// A value someone must fill in, not a credential: `<YOUR_TOKEN>`, `your-api-key-here`, `xxx`,
/// `changeme`, `...`, empty.
pub fn is_fill_in(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.len() < 3 {
        return true;
    }
    let l = v.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "<",
        ">",
        "your",
        "_here",
        "-here",
        "xxx",
        "***",
        "...",
        "…",
        "changeme",
        "change-me",
        "change_me",
        "placeholder",
        "example",
        "redacted",
        "todo",
        "fixme",
        "insert",
        "replace",
        "dummy",
        "sample",
    ];
    if MARKERS.iter().any(|m| l.contains(m)) {
        // A template's marks make a fill-in; a word glued to a random token does not
        // (`<40 random>-changeme`, `example-<40 random>`).
        if ["<", ">", "your", "_here", "-here", "...", "…", "***"]
            .iter()
            .any(|m| l.contains(m))
        {
            return true;
        }
        return !vigil_scan::placeholder::random_beside_markers(v, MARKERS);
    }
    let first = v.chars().next().unwrap_or(' ');
    v.chars().all(|c| c == first)
}

/// A value that names where a secret is kept rather than being one: a path or a file name.
pub fn is_path_like(value: &str) -> bool {
    let v = value.trim();
    v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("../")
        || v.starts_with("~/")
        || (v.len() > 2 && v.as_bytes()[1] == b':' && v.as_bytes()[2] == b'\\')
        || [".pem", ".key", ".json", ".txt", ".p12", ".crt"]
            .iter()
            .any(|e| v.to_ascii_lowercase().ends_with(e))
}

/// Whether a literal (references already removed) under a secret name is a credential.
pub fn literal_under_secret_name(value: &str) -> bool {
    if sends_nothing(value) {
        return false;
    }
    let v = strip_scheme(value.trim());
    if !v.contains("://") && (dressed_token(v) || weak_default(v)) {
        return true;
    }
    // After a scheme (`Bearer 0`, `Basic 1234`) a number is the credential sent, as `Bearer X`
    // is, not a setting (black-box tester, session 14 round 9: F8).
    let schemed = !v.is_empty() && v.len() < value.trim().len();
    !v.is_empty()
        && !v.contains("://")
        && !is_fill_in(v)
        && !is_path_like(v)
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "none" | "yes" | "no" | "on" | "off"
            // The Fetch credentials modes (`"credentials": "include"` in a CORS block) (black-box
            // tester, session 15 round 11: F8).
            | "include" | "omit" | "same-origin"
        )
        && (schemed || v.parse::<f64>().is_err())
}

/// A default that works as written (`changeme`, `ChangeMe!`, `changeme123`, `REPLACE_ME`, `xxx`,
/// `123456`): whoever read the template can log in with it, so under a secret's name it is a
/// credential, not a fill-in. A template's marks (`<…>`, `your-…-here`, `...`) keep a value a
/// fill-in: no client would send it and work.
fn weak_default(v: &str) -> bool {
    let l = v.to_ascii_lowercase().replace('_', "-");
    if ["<", ">", "your", "here", "...", "…"]
        .iter()
        .any(|m| l.contains(m))
    {
        return false;
    }
    let core = l.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let counting = l.len() >= 6
        && l.bytes().all(|b| b.is_ascii_digit())
        && l.as_bytes()
            .windows(2)
            .all(|w| (w[0] - b'0' + 1) % 10 == w[1] - b'0');
    vigil_core::strength::is_known_default(&l)
        || (core.len() >= 3 && vigil_core::strength::is_known_default(core))
        || counting
}

/// A random token dressed as a placeholder or a path (`<X>`, `/*X*/`, `...X`, `/X`,
/// `/run/X`), or a base64 token (one in 64 starts with `/`): never a fill-in.
fn dressed_token(v: &str) -> bool {
    let core = v.trim_matches(|c: char| matches!(c, '<' | '>' | '.' | '…' | '*' | '/' | ' '));
    if core.len() < 16 {
        return false;
    }
    let base64 = core.len() >= 20
        && core
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && core.bytes().any(|b| b.is_ascii_digit())
        && core.bytes().any(|b| b.is_ascii_alphabetic())
        && vigil_scan::entropy::shannon(core.as_bytes()) >= 4.0;
    base64 || looks_random(core) || core.rsplit('/').next().is_some_and(looks_random)
}

/// `Bearer x` → `x` (also `Basic`, `Token`, `Bot`, `OAuth`).
pub fn strip_scheme(v: &str) -> &str {
    if ["bearer", "basic", "token", "bot", "oauth", "apikey"]
        .iter()
        .any(|s| v.eq_ignore_ascii_case(s))
    {
        return "";
    }
    for scheme in ["bearer ", "basic ", "token ", "bot ", "oauth ", "apikey "] {
        // `get`, not an index: a value whose first bytes are part of a multi-byte character
        // (`pässwörd`) has no boundary there.
        if let (true, Some(head), Some(rest)) = (
            v.len() > scheme.len(),
            v.get(..scheme.len()),
            v.get(scheme.len()..),
        ) {
            if head.eq_ignore_ascii_case(scheme) {
                return rest.trim();
            }
        }
    }
    v
}

/// Whether a value looks like a random token by itself: long, no spaces or path characters,
/// letters and digits mixed, high entropy, not a known placeholder shape.
pub fn looks_random(value: &str) -> bool {
    let v = strip_scheme(value.trim());
    // An option (`--max-old-space-size=4096` in NODE_OPTIONS) is judged by its value only.
    if let Some(opt) = v.strip_prefix('-') {
        return opt
            .split_once('=')
            .is_some_and(|(_, val)| !val.starts_with('-') && looks_random(val));
    }
    let n = v.chars().count();
    if !(16..=512).contains(&n)
        || v.contains(|c: char| {
            c.is_whitespace() || matches!(c, '/' | '\\' | '@' | '.' | ':' | ',')
        })
    {
        return false;
    }
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let letters = v.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits == 0 || letters == 0 || digits + letters < n * 3 / 4 {
        return false;
    }
    if is_uuid(v)
        || is_digest(v)
        || is_identifier(v)
        || vigil_scan::placeholder::is_placeholder(v.as_bytes())
    {
        return false;
    }
    let e = vigil_scan::entropy::shannon(v.as_bytes());
    (n >= 20 && e >= 3.5) || e >= 3.8
}

/// `Bearer X` or `Basic X` with a literal `X` (references already removed): an
/// Authorization value whatever the key that holds it (mcp-remote's `AUTH_HEADER`).
pub fn bearer_literal(value: &str) -> bool {
    let v = value.trim();
    let rest = strip_scheme(v);
    let schemed = ["bearer ", "basic "]
        .iter()
        .any(|s| v.len() > s.len() && v.get(..s.len()).is_some_and(|h| h.eq_ignore_ascii_case(s)));
    schemed
        && rest.len() >= 8
        && !rest.contains(char::is_whitespace)
        && literal_under_secret_name(rest)
}

/// Whether a key's name speaks of a credential without being one of
/// [`is_secret_name`]'s shapes (`AUTH_HEADER`, `TOKEN_VALUE`): a digest-shaped value under it
/// is a credential, not an id.
pub fn is_credential_word(name: &str) -> bool {
    let l = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        fold_name(name).latin
    };
    !is_id_name(name)
        && ![
            "public", "url", "endpoint", "file", "path", "type", "method",
        ]
        .iter()
        .any(|w| l.contains(w))
        && [
            "auth",
            "token",
            "secret",
            "passw",
            "apikey",
            "api_key",
            "api-key",
            "bearer",
            "credential",
        ]
        .iter()
        .any(|w| l.contains(w))
}

/// A digest-shaped value (32, 40 or 64 hex digits) after an optional scheme.
pub fn is_digest_value(v: &str) -> bool {
    is_digest(strip_scheme(v.trim()))
}

/// A hex digest or id by itself (32, 40 or 64 hex digits: an MD5-sized id such as a Notion
/// database id, a git commit, a SHA-256): high entropy, but not a credential unless its name
/// says so (then [`literal_under_secret_name`] judges it).
fn is_digest(v: &str) -> bool {
    matches!(v.len(), 32 | 40 | 64) && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A dash-separated identifier of words and numbers (`claude-sonnet-4-20250514`,
/// `claude-3-5-sonnet-20241022`): every part all letters or all digits, at least two dashes.
fn is_identifier(v: &str) -> bool {
    // A piece of up to three letters and digits is a version or size (`4o`, `v2`, `8b`):
    // `gpt-4o-mini-2024-07-18` is a model's name (black-box tester, session 15 round 15: F4).
    v.matches('-').count() >= 2
        && v.split('-').all(|p| {
            !p.is_empty()
                && (p.bytes().all(|b| b.is_ascii_alphabetic())
                    || p.bytes().all(|b| b.is_ascii_digit())
                    || (p.len() <= 3 && p.bytes().all(|b| b.is_ascii_alphanumeric())))
        })
}

/// Whether a name is an id's (`SESSION_ID`, `databaseId`, `client-id`): a UUID or hex digest
/// under it is an identifier, not a credential.
pub fn is_id_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l == "id"
        || l.ends_with("_id")
        || l.ends_with("-id")
        || l.ends_with(".id")
        || name.ends_with("Id")
}

/// A random hex value (32 to 128 hex digits, either case) or a UUID, after an optional scheme
/// (`Bearer `): what `secrets.token_hex(32)` and `uuid4()` make, the shapes [`looks_random`]
/// leaves to the key's name. A run of few digits (`0000…`, `deadbeef` repeated) is not random.
pub fn random_hex_or_uuid(value: &str) -> bool {
    let v = strip_scheme(value.trim());
    let hex = (32..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex || is_uuid(v)) {
        return false;
    }
    let mut seen = [false; 16];
    for b in v.bytes().filter(u8::is_ascii_hexdigit) {
        let d = (b as char).to_digit(16).unwrap_or(0) as usize;
        seen[d] = true;
    }
    seen.iter().filter(|s| **s).count() >= 8 && vigil_scan::entropy::shannon(v.as_bytes()) >= 3.0
}

/// Whether a key's name says its value is a digest, a hash or an identifier (`CONFIG_SHA`,
/// `GIT_COMMIT`, `integrity`, `NOTION_DATABASE_ID`, `requestUuid`): a hex or UUID value under it
/// is not a credential by its shape alone.
pub fn is_digest_name(name: &str) -> bool {
    if is_id_name(name) {
        return true;
    }
    let l = name.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "sha",
        "md5",
        "hash",
        "digest",
        "checksum",
        "integrity",
        "commit",
        "revision",
        "rev",
        "etag",
        "version",
        "uuid",
        "guid",
        "_id",
        "-id",
        "fingerprint",
        "build",
        "trace",
        "correlation",
        "request",
        "nonce",
    ];
    WORDS.iter().any(|w| l.contains(w))
}

/// Whether a value is a UUID or a hex digest.
pub fn is_uuid_or_digest(v: &str) -> bool {
    is_uuid(v.trim()) || is_digest(v.trim())
}

fn is_uuid(v: &str) -> bool {
    v.len() == 36
        && v.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The DFA-first removal gives what one `replace_all` with captures gave.
        #[test]
        fn strip_references_agrees_with_replace_all(
            v in "[-$%{}:=?aAzZ09_. ]{0,24}|\\$\\{[A-Za-z_]{1,4}(:?[-=][a-z}]{0,4})?\\}.{0,4}"
        ) {
            // Compose's `$$` escape read as the reference it keeps, where it keeps one.
            let unescaped = v.replace("$${", "${");
            let base = if v.contains("$${") && REFERENCE.is_match(&unescaped) { unescaped } else { v.clone() };
            let old = REFERENCE.replace_all(&base, |c: &regex::Captures<'_>| {
                c.get(1).map_or(String::new(), |d| d.as_str().to_owned())
            });
            let (new, had) = strip_references(&v);
            proptest::prop_assert_eq!(&new, &old);
            proptest::prop_assert_eq!(had, old.len() != v.len());
        }
    }

    #[test]
    fn references_are_not_secrets() {
        for r in [
            "${API_KEY}",
            "Bearer ${API_KEY}",
            "${env:GITHUB_TOKEN}",
            "${input:api-key}",
            "{{ secrets.OPENAI }}",
            "${{ secrets.SUPABASE_TOKEN }}",
            "$MY_API_TOKEN",
            "${TOKEN:-}",
            "%APPDATA%",
        ] {
            assert!(is_reference(r), "{r}");
        }
        assert!(!is_reference("Bearer abc${X}def"));
        assert_eq!(strip_references("Bearer ${X}").0, "Bearer ");
        // A default is what the client uses when the variable is unset: a literal.
        assert_eq!(strip_references("${GH:-abc123}").0, "abc123");
        assert!(!is_reference("${GH:-abc123}"));
    }

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "OPENAI_API_KEY",
            "X-API-Key",
            "--api-key",
            "POSTGRES_PASSWORD",
            "Authorization",
            "client_secret",
            "token",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "POSTGRES_PASSWORD_FILE",
            "PUBLIC_KEY",
            "TOKEN_URL",
            "PATH",
            "DEBUG",
            "MONKEY",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn non_ascii_names_are_read_folded() {
        assert_eq!(fold_name("pässwört").latin, "passwort");
        assert_eq!(fold_name("ТОКЕН").native, "токен");
        assert_eq!(fold_name("API\u{200B}_KEY").latin, "api_key");
        assert_eq!(fold_name("ＰＡＳＳＷＯＲＤ").latin, "password");
        assert_eq!(fold_name("T\u{41E}KEN").latin, "token");
        for n in [
            "pässwört",
            "PASSWORT",
            "ТОКЕН",
            "ТОКЕН_ДОСТУПА",
            "пароль",
            "API\u{200B}_KEY",
            "DB_PASSWORD\u{2060}",
            "ＰＡＳＳＷＯＲＤ",
            "T\u{41E}KEN",
            "X-\u{410}PI-K\u{435}Y",
            "密码",
            "パスワード",
            "비밀번호",
            "Contraseña",
            "mot_de_passe",
            "senha",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "GRÜSSE",
            "ЯЗЫК",
            "日本語",
            "CAFÉ_MODE",
            "ПУБЛИЧНЫЙ_КЛЮЧ",
            "公钥",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
        // As written: a look-alike or hidden character makes a header no client sends as a
        // credential.
        assert!(is_secret_name_as_written("Authorization"));
        assert!(!is_secret_name_as_written("Auth\u{43e}rization"));
        assert!(!is_secret_name_as_written("Authori\u{200B}zation"));
        assert!(is_credential_word("AUTH\u{200B}_HEADER"));
    }

    #[test]
    fn entropy_and_fill_ins() {
        assert!(looks_random("q8Zr2LmXw4Tn9PvB6KcY3HdJ"));
        assert!(!looks_random("@modelcontextprotocol/server-filesystem"));
        assert!(!looks_random("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!looks_random("hello-world-server"));
        assert!(!looks_random("--max-old-space-size=4096"));
        // Built here: a `--token=` literal in the source is what `vigil scan` reports.
        let opt = ["--tok", "en=", "q8Zr2LmXw4Tn9PvB6KcY3HdJ"].concat();
        assert!(looks_random(&opt));
        assert!(bearer_literal("Bearer q8Zr2LmXw4Tn9PvB"));
        assert!(!bearer_literal("Bearer "));
        assert!(!bearer_literal("Bearer <YOUR_TOKEN>"));
        assert!(is_credential_word("AUTH_HEADER"));
        assert!(!is_credential_word("GIT_COMMIT"));
        assert!(!is_credential_word("TOKEN_URL"));
        assert!(is_fill_in("<YOUR_TOKEN>"));
        assert!(is_fill_in("your-api-key-here"));
        assert!(!is_fill_in("postgres"));
        assert!(literal_under_secret_name("postgres"));
        assert!(!literal_under_secret_name("/run/secrets/db"));
        assert!(!literal_under_secret_name("Bearer "));
    }
}
