//! How strong a secret value is: an estimate of its entropy in bits and a list of known defaults.
//!
//! The estimate is deliberately conservative. A value gets `length × bits-per-character` where
//! bits-per-character is the smaller of the alphabet its characters are drawn from (hex, digits,
//! letters, alphanumeric, base64, printable) and twice its empirical Shannon entropy, so
//! `aaaa…` or `abcabc…` score low whatever their length; a value made of one repeated unit
//! (`passwordpassword…`, also cut short: `changemechangemecha`) is scored as that unit, and a
//! value made mostly of walks (`abcdef…`, `0123…`, keyboard rows `qwertyuiop…`) is scored as what
//! is left once each walk counts as its first character. `openssl rand -hex 32` and
//! `openssl rand -base64 32` both reach 256 bits.

/// Values that ship in examples, tutorials and framework defaults. Compared case-insensitively.
pub const KNOWN_DEFAULTS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "secret",
    "secret123",
    "supersecret",
    "super-secret",
    "mysecret",
    "my-secret",
    "your-secret",
    "your-secret-here",
    "your-strong-secret-here",
    "your-jwt-secret",
    "jwt-secret",
    "jwt_secret",
    "password",
    "password123",
    "passw0rd",
    "admin",
    "default",
    "test",
    "testing",
    "example",
    "dev",
    "development",
    "token",
    "xxx",
    "todo",
    "replace-me",
    "replaceme",
    "insert-secret-here",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "letmein",
];

/// Whether `value` is one of [`KNOWN_DEFAULTS`] (ignoring case and surrounding whitespace), or
/// one of them repeated (`changemechangeme`, also cut short: `changemechangemecha`).
pub fn is_known_default(value: &str) -> bool {
    let v = value.trim();
    let unit = shortest_period(v);
    KNOWN_DEFAULTS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(v) || d.eq_ignore_ascii_case(unit))
        || is_placeholder_phrase(v)
}

/// Words of the placeholder sentences that templates ship as secrets
/// (`your-secret-key-here-change-in-production`).
const PLACEHOLDER_WORDS: &[&str] = &[
    "your",
    "my",
    "secret",
    "key",
    "here",
    "change",
    "changeme",
    "this",
    "in",
    "production",
    "please",
    "replace",
    "me",
    "insert",
    "put",
    "example",
    "sample",
    "dummy",
    "placeholder",
    "default",
    "token",
    "jwt",
    "password",
    "super",
    "some",
    "random",
    "string",
    "value",
    "todo",
];

/// Whether `v` is a template's placeholder sentence: words (split at anything but letters and
/// digits), at least four distinct placeholder words among them, and those words at least half
/// of its letters (`change me now please` is a chosen passphrase, scored as one).
fn is_placeholder_phrase(v: &str) -> bool {
    let words: Vec<String> = v
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.len() < 3 {
        return false;
    }
    let placeholder: Vec<&String> = words
        .iter()
        .filter(|w| PLACEHOLDER_WORDS.contains(&w.as_str()))
        .collect();
    let letters = |ws: &mut dyn Iterator<Item = &String>| ws.map(String::len).sum::<usize>();
    let distinct = {
        let mut d: Vec<&String> = placeholder.clone();
        d.sort();
        d.dedup();
        d.len()
    };
    distinct >= 4 && 2 * letters(&mut placeholder.into_iter()) >= letters(&mut words.iter())
}

/// Whether a flag variable's value switches it on (`1`, `true`, `yes`, `on`, `y`, any case).
pub fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y"
    )
}

/// Whether a flag variable's value may switch it on, for the checks that look for switched-off
/// authentication: anything but a clear off (empty, `0`, `false`, `no`, `off`, `n`,
/// `disabled`, `none`), so `enabled` or `always` is on, never passed over.
pub fn maybe_on(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off" | "n" | "disabled" | "disable" | "none" | "never"
    )
}

/// A conservative estimate of the entropy of `value`, in bits. See the module documentation.
pub fn estimate_bits(value: &str) -> f64 {
    let unit = shortest_period(value);
    let walked = without_walks(unit);
    let unit = walked.as_deref().unwrap_or(unit);
    let chars: Vec<char> = unit.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let mut alphabet = alphabet_bits(&chars);
    if is_padded_base64(unit) {
        // An encoder's output: every character carries 6 bits, whichever classes this one value
        // happens to show (`openssl rand -base64 32` lacks a digit about once in 1,400 draws).
        alphabet = alphabet.max(6.0);
    }
    let shannon = shannon_per_char(&chars);
    chars.len() as f64 * alphabet.min(2.0 * shannon)
}

/// Words people build chosen passwords from, besides [`KNOWN_DEFAULTS`] (compared after
/// lowercasing and undoing common letter-for-digit swaps, see [`estimate_chosen_bits`]).
const COMMON_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "welcome",
    "iloveyou",
    "monkey",
    "dragon",
    "sunshine",
    "football",
    "baseball",
    "master",
    "trustno",
    "letmein",
    "qwerty",
    "azerty",
    "asdf",
    "zxcv",
    "hello",
    "login",
    "admin",
    "secret",
    "changeme",
    "default",
    "abc123",
];

/// The letter a leetspeak character stands for (`0→o 1→i 3→e 4→a 5→s 7→t @→a $→s`); any other
/// character as it is. Shared by the password-strength estimate, the scan's test-password check
/// and lint's disguised-instruction check.
pub fn unleet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '@' => 'a',
        '$' => 's',
        c => c,
    }
}

/// A conservative estimate, in bits, of a secret a person chose (a passphrase, a master secret):
/// [`estimate_bits`] of what is left once every known default and common password word inside
/// it (`Password123!` holds `password`, `P@ssw0rd` too: case and the swaps `0→o 1→i 3→e 4→a 5→s
/// 7→t @→a $→s` are undone to find them) and every run of four or more consecutive characters
/// (`1234`, `abcd`, `9876`) is removed. `password1234` and `Password123!` score what `1234` and
/// `123!` score; `correct horse battery staple 42` keeps its length.
pub fn estimate_chosen_bits(value: &str) -> f64 {
    let chars: Vec<char> = value.chars().collect();
    let norm: Vec<char> = chars
        .iter()
        .map(|c| unleet(c.to_ascii_lowercase()))
        .collect();
    let lower: Vec<char> = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    let mut drop = vec![false; chars.len()];
    let words = KNOWN_DEFAULTS
        .iter()
        .chain(COMMON_WORDS)
        .filter(|w| w.chars().count() >= 4);
    for w in words {
        let w: Vec<char> = w.chars().collect();
        for text in [&norm, &lower] {
            for start in 0..text.len().saturating_sub(w.len() - 1) {
                if text[start..start + w.len()] == w[..] {
                    drop[start..start + w.len()]
                        .iter_mut()
                        .for_each(|d| *d = true);
                }
            }
        }
    }
    // Runs of consecutive characters, ascending or descending (`1234`, `abcd`, `4321`).
    let codes: Vec<i64> = chars.iter().map(|c| *c as i64).collect();
    for run in progressions(&codes, walk_step) {
        drop[run].iter_mut().for_each(|d| *d = true);
    }
    let rest: String = chars
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(c, _)| *c)
        .collect();
    estimate_bits(&rest)
}

/// The runs of `codes` in arithmetic progression, read left to right: from each place, the
/// step to the next code is followed while it holds, and the run is kept when `least(step)`
/// says how long a run of that step must be and it is that long (`None`: not followed).
fn progressions(
    codes: &[i64],
    least: impl Fn(i64) -> Option<usize>,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < codes.len() {
        let mut end = start + 1;
        let step = codes.get(start + 1).map(|c| c - codes[start]);
        if let Some((step, need)) = step.and_then(|d| least(d).map(|n| (d, n))) {
            while end < codes.len() && codes[end] - codes[end - 1] == step {
                end += 1;
            }
            if end - start >= need {
                out.push(start..end);
            }
        }
        start = end.max(start + 1);
    }
    out
}

/// A walk (`abcd`, `4321`): steps of one, four characters or more.
fn walk_step(d: i64) -> Option<usize> {
    (d.abs() == 1).then_some(4)
}

/// Padded base64 (standard or URL-safe alphabet, one or two `=` at the end, length a multiple of
/// four): text an encoder wrote.
fn is_padded_base64(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    let pad = v.len() - body.len();
    (1..=2).contains(&pad)
        && v.len().is_multiple_of(4)
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// The shortest prefix whose repetition, at least twice and the last copy possibly cut short,
/// makes up `value` (`changemechangemecha` → `changeme`; `value` itself when none does).
fn shortest_period(value: &str) -> &str {
    let b = value.as_bytes();
    let n = b.len();
    for p in 1..=n / 2 {
        if value.is_char_boundary(p) && (p..n).all(|i| b[i] == b[i - p]) {
            return &value[..p];
        }
    }
    value
}

/// Keyboard rows (US and the letters of AZERTY/QWERTZ), walked in either direction.
const KEYBOARD_ROWS: &[&str] = &[
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
    "qwertzuiop",
    "yxcvbnm",
    "~!@#$%^&*()_+",
];

/// Whether `b` follows `a` on a keyboard row, either direction, ignoring case.
fn keyboard_next(a: char, b: char) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    KEYBOARD_ROWS.iter().any(|row| {
        let r: Vec<char> = row.chars().collect();
        r.windows(2)
            .any(|w| (w[0] == a && w[1] == b) || (w[0] == b && w[1] == a))
    })
}

/// Walks shorter than this many characters are left alone (`abc` inside a random value is luck).
const MIN_WALK: usize = 4;

/// `value` with every walk (a run of at least [`MIN_WALK`] characters each one step from the
/// last in the alphabet, the digits or a keyboard row: `abcd`, `9876`, `qwer`) cut to its first
/// character, when walks make up at least a quarter of it; `None` otherwise. A random value of
/// 64 hex digits holds such a run about once in 500 values, and never a quarter of walks, so
/// generated secrets keep their score.
fn without_walks(value: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n < MIN_WALK {
        return None;
    }
    let step = |a: char, b: char| (b as i64 - a as i64).abs() == 1 || keyboard_next(a, b);
    let mut drop = vec![false; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && step(chars[end - 1], chars[end]) {
            end += 1;
        }
        if end - start >= MIN_WALK {
            drop[start + 1..end].iter_mut().for_each(|d| *d = true);
        }
        start = end;
    }
    let dropped = drop.iter().filter(|d| **d).count();
    (dropped * 4 >= n).then(|| {
        chars
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(c, _)| *c)
            .collect()
    })
}

fn alphabet_bits(chars: &[char]) -> f64 {
    let (mut lower, mut upper, mut digit, mut b64, mut other) = (false, false, false, false, false);
    let mut hex_only = true;
    for &c in chars {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            '+' | '/' | '-' | '_' | '=' => b64 = true,
            _ => other = true,
        }
        if !c.is_ascii_hexdigit() {
            hex_only = false;
        }
    }
    let size: f64 = if other {
        if chars.iter().all(|c| c.is_ascii_graphic()) {
            94.0
        } else {
            // Non-ASCII: no useful alphabet bound; let the Shannon term decide.
            65536.0
        }
    } else if hex_only && digit && !(upper && lower) {
        16.0
    } else {
        let mut n = 0.0;
        if lower {
            n += 26.0;
        }
        if upper {
            n += 26.0;
        }
        if digit {
            n += 10.0;
        }
        if b64 {
            n += 2.0;
        }
        n
    };
    size.log2()
}

fn shannon_per_char(chars: &[char]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let n = chars.len() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// The shortest repeat [`without_repeats`] drops: eight characters, which a random secret of
/// any alphabet repeats with odds under one in a million (`openssl rand -hex 32`: 57 eight-hex
/// windows among 16⁸).
const MIN_REPEAT: usize = 8;

/// `value` without every run of [`MIN_REPEAT`] or more characters that already appeared before
/// it (read left to right, the longest such run at each place): `mysupersecretkey` three times
/// and a `12` (tester 158) keeps `mysupersecretkey12`; timestamps glued together keep one.
/// Values longer than 512 characters are returned whole (no secret is typed that long).
pub fn without_repeats(value: &str) -> std::borrow::Cow<'_, str> {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if !(2 * MIN_REPEAT..=512).contains(&n) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut kept = String::with_capacity(value.len());
    let mut i = 0;
    while i < n {
        let mut best = 0;
        for start in 0..i {
            let mut len = 0;
            while i + len < n && start + len < i && chars[start + len] == chars[i + len] {
                len += 1;
            }
            best = best.max(len);
        }
        if best >= MIN_REPEAT {
            i += best;
        } else {
            kept.push(chars[i]);
            i += 1;
        }
    }
    if kept.len() == value.len() {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(kept)
    }
}

/// Words of the secrets tutorials and templates ship, run together or in CamelCase
/// (`thisisaverylongsecretkey…`, `ThisIsMySuperSecretKeyForJwt…`; tester 158), besides
/// [`KNOWN_DEFAULTS`] and the common password words.
const GLUED_WORDS: &[&str] = &[
    "a",
    "about",
    "access",
    "account",
    "admin",
    "after",
    "again",
    "against",
    "algorithm",
    "all",
    "also",
    "an",
    "and",
    "another",
    "any",
    "api",
    "app",
    "application",
    "are",
    "as",
    "at",
    "auth",
    "authentication",
    "authorization",
    "back",
    "backend",
    "be",
    "because",
    "been",
    "before",
    "being",
    "best",
    "better",
    "between",
    "big",
    "bit",
    "bits",
    "both",
    "bot",
    "but",
    "by",
    "can",
    "cannot",
    "change",
    "char",
    "character",
    "characters",
    "chars",
    "client",
    "code",
    "come",
    "complex",
    "config",
    "cookie",
    "could",
    "crypto",
    "data",
    "day",
    "default",
    "dev",
    "did",
    "discord",
    "do",
    "does",
    "dont",
    "down",
    "each",
    "encrypt",
    "encryption",
    "end",
    "enough",
    "env",
    "even",
    "ever",
    "every",
    "example",
    "extremely",
    "first",
    "for",
    "from",
    "generate",
    "generated",
    "generation",
    "get",
    "go",
    "good",
    "great",
    "guess",
    "had",
    "hard",
    "has",
    "have",
    "he",
    "her",
    "here",
    "his",
    "how",
    "hs",
    "i",
    "if",
    "important",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "jwt",
    "keep",
    "key",
    "keys",
    "know",
    "least",
    "length",
    "like",
    "little",
    "local",
    "long",
    "longer",
    "look",
    "made",
    "make",
    "many",
    "may",
    "me",
    "mine",
    "more",
    "most",
    "much",
    "must",
    "my",
    "never",
    "new",
    "next",
    "no",
    "nobody",
    "not",
    "now",
    "of",
    "off",
    "old",
    "on",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "pass",
    "phrase",
    "please",
    "private",
    "prod",
    "production",
    "project",
    "public",
    "random",
    "really",
    "replace",
    "right",
    "safe",
    "same",
    "secret",
    "secrets",
    "secure",
    "security",
    "see",
    "server",
    "service",
    "session",
    "set",
    "she",
    "should",
    "sign",
    "signature",
    "signing",
    "so",
    "some",
    "something",
    "still",
    "string",
    "strong",
    "stronger",
    "such",
    "super",
    "take",
    "test",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "think",
    "this",
    "those",
    "time",
    "to",
    "token",
    "tokens",
    "too",
    "top",
    "two",
    "under",
    "unique",
    "up",
    "us",
    "use",
    "used",
    "user",
    "very",
    "want",
    "was",
    "way",
    "we",
    "web",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "without",
    "word",
    "words",
    "work",
    "would",
    "year",
    "yes",
    "you",
    "your",
    "yours",
];

/// Bits of `value` read as words run together (`supersecretjwtkeythatislongenough…`, also in
/// CamelCase): found with the word lists, each distinct word of four letters or more counting
/// 13 bits (a word of a 7,776-word list), a shorter one 6, what no word covers its own
/// [`estimate_bits`]. Infinite unless words cover three quarters of the letters and at least
/// three of them have four letters or more: random text is never read so.
pub fn glued_words_bits(value: &str) -> f64 {
    use std::sync::LazyLock;
    static WORDS: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
        GLUED_WORDS
            .iter()
            .chain(KNOWN_DEFAULTS)
            .chain(COMMON_WORDS)
            .copied()
            .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
            .collect()
    });
    const LONGEST: usize = 14;
    let lower = value.to_ascii_lowercase();
    let b = lower.as_bytes();
    let n = b.len();
    let letters = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    if !value.is_ascii() || n > 512 || letters < 12 {
        return f64::INFINITY;
    }
    // best[i]: the most characters of b[..i] words cover; from[i]: where the last word starts.
    let mut best = vec![0usize; n + 1];
    let mut from: Vec<Option<usize>> = vec![None; n + 1];
    for i in 1..=n {
        best[i] = best[i - 1];
        for len in 1..=LONGEST.min(i) {
            let w = &lower[i - len..i];
            if best[i - len] + len > best[i] && WORDS.contains(w) {
                best[i] = best[i - len] + len;
                from[i] = Some(i - len);
            }
        }
    }
    if best[n] * 4 < letters * 3 {
        return f64::INFINITY;
    }
    let mut words = std::collections::HashSet::new();
    let mut rest = String::new();
    let mut i = n;
    while i > 0 {
        match from[i].filter(|s| best[i] == best[*s] + (i - s)) {
            Some(s) => {
                words.insert(&lower[s..i]);
                i = s;
            }
            None => {
                rest.push(b[i - 1] as char);
                i -= 1;
            }
        }
    }
    let long = words.iter().filter(|w| w.len() >= 4).count();
    if long < 3 {
        return f64::INFINITY;
    }
    let rest: String = rest.chars().rev().collect();
    long as f64 * 13.0 + (words.len() - long) as f64 * 6.0 + estimate_bits(&rest)
}

/// `value` without its interleaved walks, when they make up half of it or more: every run of
/// four or more characters, taken every second, third or fourth one, that steps by one
/// (`a1b2c3d4…` is the walks `abcd…` and `1234…` woven together; tester 158).
pub fn without_woven_walks(value: &str) -> std::borrow::Cow<'_, str> {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let mut drop = vec![false; n];
    // Two to four walks woven together (`a1b2…`, `Aa1!Bb2@Cc3#…`; tester 159).
    for (stride, offset) in (2..=4).flat_map(|k| (0..k).map(move |o| (k, o))) {
        let idx: Vec<usize> = (offset..n).step_by(stride).collect();
        let codes: Vec<i64> = idx.iter().map(|&i| chars[i] as i64).collect();
        for run in progressions(&codes, walk_step) {
            for k in run {
                drop[idx[k]] = true;
            }
        }
    }
    // Only a value made mostly of them, as [`without_walks`] reads plain walks: a random hex
    // secret has a short woven run now and then.
    if drop.iter().filter(|d| **d).count() * 2 < n {
        return std::borrow::Cow::Borrowed(value);
    }
    std::borrow::Cow::Owned(
        chars
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(c, _)| *c)
            .collect(),
    )
}

/// More values tutorials hash into a key (`sha256sum` of jwt.io's `your-256-bit-secret`).
const DIGESTED_DEFAULTS: &[&str] = &[
    "secretkey",
    "secret_key",
    "secret-key",
    "mysecretkey",
    "supersecretkey",
    "jwtsecret",
    "jwt_secret_key",
    "your-256-bit-secret",
    "s3cr3t",
    "key",
    "pass",
    "root",
    "toor",
    "1234",
    "12345",
    "123456",
    "1234567",
    "test123",
    "admin123",
    "hunter2",
];

/// Whether `value` is a SHA-1, SHA-256 or SHA-512 digest (hex in either case, or base64) of a
/// known default, a common password word, a value tutorials hash, or the empty text, also with
/// the newline `echo` adds: `sha256sum` of `changeme` is as
/// guessable as `changeme` (tester 158).
pub fn is_digest_of_default(value: &str) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    use std::sync::LazyLock;
    static DIGESTS: LazyLock<std::collections::HashSet<String>> = LazyLock::new(|| {
        let mut out = std::collections::HashSet::new();
        let words = KNOWN_DEFAULTS
            .iter()
            .chain(COMMON_WORDS)
            .chain(DIGESTED_DEFAULTS)
            .chain([&""]);
        // As typed, capitalised and in capitals, with `123` after it, and as `echo WORD |
        // sha256sum` hashes it, with its newline (tester 159).
        let texts = words
            .flat_map(|w| {
                let mut cap = w.to_string();
                if let Some(f) = cap.get_mut(..1) {
                    f.make_ascii_uppercase();
                }
                [w.to_string(), cap, w.to_ascii_uppercase()]
            })
            .flat_map(|w| [format!("{w}123"), w])
            .flat_map(|w| [format!("{w}\n"), w]);
        for text in texts {
            let word = text.as_str();
            let digests: [Vec<u8>; 3] = [
                sha1::Sha1::digest(word.as_bytes()).to_vec(),
                sha2::Sha256::digest(word.as_bytes()).to_vec(),
                sha2::Sha512::digest(word.as_bytes()).to_vec(),
            ];
            for d in digests {
                out.insert(d.iter().map(|b| format!("{b:02x}")).collect());
                out.insert(base64::engine::general_purpose::STANDARD.encode(&d));
                out.insert(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&d));
                out.insert(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d));
            }
        }
        out
    });
    let v = value.trim();
    DIGESTS.contains(v) || DIGESTS.contains(&v.to_ascii_lowercase())
}

/// Bits of `bytes` (a secret's decoded form) once every run of bytes in arithmetic progression
/// (four or more with a step of −1, 0 or +1: `00 01 02 03…`, `ff ff ff ff`; five or more with
/// another: `00 02 04 06 08`) is dropped: eight per byte left. Random bytes keep nearly all.
pub fn byte_bits(bytes: &[u8]) -> f64 {
    let n = bytes.len();
    let mut drop = vec![false; n];
    let codes: Vec<i64> = bytes.iter().map(|b| i64::from(*b)).collect();
    // Steps of −1, 0 or +1 from four bytes on, any other step from five (`00 02 04 06 08`;
    // tester 159).
    for run in progressions(&codes, |d| Some(if d.abs() <= 1 { 4 } else { 5 })) {
        drop[run].iter_mut().for_each(|d| *d = true);
    }
    // A run or two by chance (about one 32-byte key in 140,000) is no pattern: only runs that
    // cover a quarter of the bytes or more count (review).
    let kept = drop.iter().filter(|d| !**d).count();
    if (n - kept) * 4 < n {
        return n as f64 * 8.0;
    }
    kept as f64 * 8.0
}

#[cfg(test)]
mod tests {

    /// Tester 158: digests of defaults are defaults; repeats, glued words and bytes in a row
    /// lose what they repeat.
    #[test]
    fn digests_repeats_glued_words_and_byte_rows() {
        use sha2::Digest as _;
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert!(super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"changeme"
        ))));
        assert!(super::is_digest_of_default(
            &hex(&sha2::Sha256::digest(b"")).to_ascii_uppercase()
        ));
        assert!(!super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"not a listed word"
        ))));
        let unit = "mysupersecretkey";
        assert_eq!(
            super::without_repeats(&[unit, unit, unit, "12"].concat()),
            format!("{unit}12")
        );
        assert_eq!(super::without_repeats("short"), "short");
        assert!(
            super::glued_words_bits("thisisaverylongsecretkeythatisatleast32characterslong")
                < 200.0
        );
        assert!(super::glued_words_bits("q8XvT2mKp9LwZr4NcY7bHs3DfJ6gA1eU").is_infinite());
        assert_eq!(super::byte_bits(&(0..32).collect::<Vec<u8>>()), 0.0);
        assert_eq!(super::byte_bits(&[7, 200, 13, 99]), 32.0);
        assert_eq!(
            super::byte_bits(&(0..32).map(|b| b * 2).collect::<Vec<u8>>()),
            0.0
        );
        assert!(super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"secret\n"
        ))));
        assert!(super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"your-256-bit-secret"
        ))));
        assert_eq!(super::without_woven_walks("a1b2c3d4e5"), "");
        assert_eq!(super::without_woven_walks("Aa1!Bb2@Cc3#Dd4$Ee5%"), "!@#$%");
        assert!(super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"SECRET"
        ))));
        assert!(super::is_digest_of_default(&hex(&sha2::Sha256::digest(
            b"changeme123"
        ))));
    }

    #[test]
    fn template_placeholder_sentences_are_defaults() {
        let phrase = [
            "your",
            "secret",
            "key",
            "here",
            "change",
            "in",
            "production",
            "please",
            "32",
        ]
        .join("-");
        assert!(is_known_default(&phrase));
        assert!(is_known_default("replace_me_with_a_random_value"));
        // Words alone are not a placeholder: a random value with one word in it is not.
        assert!(!is_known_default("k9Qz-secret-Xv3LmP8rT2wYb7NcH4sJd6Fg"));
        assert!(!is_known_default("correct horse battery staple"));
    }

    use super::*;

    fn random(alphabet: &[u8], n: usize, seed: u64) -> String {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize] as char
            })
            .collect()
    }

    #[test]
    fn generated_secrets_of_32_bytes_reach_256_bits() {
        let hex = random(b"0123456789abcdef", 64, 7);
        let b64 = random(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            44,
            9,
        );
        assert!(estimate_bits(&hex) >= 250.0, "{}", estimate_bits(&hex));
        assert!(estimate_bits(&b64) >= 250.0, "{}", estimate_bits(&b64));
    }

    #[test]
    fn openssl_base64_of_32_bytes_without_a_digit_still_reaches_256_bits() {
        let no_digit = random(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
            43,
            5,
        ) + "=";
        assert!(
            estimate_bits(&no_digit) >= 256.0,
            "{}",
            estimate_bits(&no_digit)
        );
        // Padding does not lift a repetitive value.
        assert!(estimate_bits(&("Ab".repeat(21) + "A=")) < 128.0);
    }

    #[test]
    fn repeated_and_short_values_score_low() {
        assert!(estimate_bits(&"a".repeat(64)) < 8.0);
        assert!(estimate_bits(&"password".repeat(8)) < 64.0);
        assert!(estimate_bits(&"abc".repeat(20)) < 64.0);
        assert!(estimate_bits("your-strong-secret-here") < 128.0);
        assert_eq!(estimate_bits(""), 0.0);
    }

    #[test]
    fn chosen_secrets_lose_their_dictionary_words_and_sequences() {
        for weak in [
            "password1234",
            "Password123!",
            "P@ssw0rd2024",
            "qwertyuiop12",
            "abcdefghijklmnop",
            "changeme-changeme",
            "letmein!letmein!",
        ] {
            assert!(
                estimate_chosen_bits(weak) < 64.0,
                "{weak}: {}",
                estimate_chosen_bits(weak)
            );
        }
        for strong in [
            "correct horse battery staple 42",
            "Tr0ub4dor&3-vX9q",
            "gD8#kq2!Lm9zR4pw",
        ] {
            assert!(
                estimate_chosen_bits(strong) >= 64.0,
                "{strong}: {}",
                estimate_chosen_bits(strong)
            );
        }
        assert_eq!(estimate_chosen_bits(""), 0.0);
    }

    #[test]
    fn repeats_cut_short_and_walks_score_low() {
        let cut = |unit: &str, n: usize| unit.repeat(n / unit.len() + 1)[..n].to_owned();
        for weak in [
            cut("changeme", 67),
            cut("Password123!", 70),
            cut("abcd1234", 66),
            cut("0123456789", 64),
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_owned(),
            "qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM1234567890".to_owned(),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_owned(),
            "zyxwvutsrqponmlkjihgfedcba9876543210".to_owned(),
            "abcdefghijklmnopqrstuvwxyz".to_owned() + &random(b"0123456789abcdef", 40, 3),
        ] {
            assert!(
                estimate_bits(&weak) < 200.0,
                "{weak}: {}",
                estimate_bits(&weak)
            );
        }
        assert!(is_known_default(&cut("changeme", 67)));
        assert!(is_known_default("changemechangeme"));
        assert!(!is_known_default("changemeX"));
        // A random value keeps its score even with a short walk inside.
        let mut hex = random(b"0123456789abcdef", 64, 11);
        hex.replace_range(10..13, "abc");
        assert!(estimate_bits(&hex) >= 250.0, "{}", estimate_bits(&hex));
    }

    #[test]
    fn random_values_never_lose_bits_to_the_walk_rule() {
        for seed in 1..3000u64 {
            let hex = random(b"0123456789abcdef", 64, seed);
            assert_eq!(without_walks(&hex), None, "{hex}");
            assert_eq!(shortest_period(&hex), hex);
            let b64 = random(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                43,
                seed,
            );
            assert_eq!(without_walks(&b64), None, "{b64}");
        }
    }

    #[test]
    fn flags_are_on_unless_clearly_off() {
        for on in ["true", "1", "enabled", "Yes", "always", " on "] {
            assert!(maybe_on(on), "{on}");
        }
        for off in ["", "0", "false", "No", "off", "disabled", "none"] {
            assert!(!maybe_on(off), "{off}");
        }
    }

    #[test]
    fn known_defaults_ignore_case() {
        assert!(is_known_default(" ChangeMe "));
        assert!(!is_known_default("change me now please"));
    }
}
