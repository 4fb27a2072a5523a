//! The generic rule's second look: `secret = "…"` is only a secret when the value is not code,
//! not a placeholder in a URL or header, not a digest, and not in a file whose values are never
//! secrets by construction (lock files, detect-secrets baselines, SVG drawings, minified
//! bundles). Every case here has a counterexample in `rules/generic.toml`, and the examples
//! there prove the rule still finds real values.

/// What a file is, from its name (the last member inside an archive), as far as the generic
/// rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// Anything else.
    Plain,
    /// A package manager's lock file (`Cargo.lock`, `package-lock.json`, `uv.lock`…): digests,
    /// versions and URLs, written by a tool.
    Lock,
    /// detect-secrets's `.secrets.baseline`: `hashed_secret` digests only.
    Baseline,
    /// A scanner's report (`*.sarif`, gitleaks and Kingfisher JSON reports): its digests and
    /// fingerprints are not secrets (a secret in one is still found by the specific rules).
    Report,
    /// An SVG drawing: path data and ids.
    Svg,
    /// JavaScript or CSS, where a very long line is a minified bundle.
    Script,
}

/// Lock files by name.
const LOCK_FILES: &[&str] = &[
    "cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "poetry.lock",
    "uv.lock",
    "pipfile.lock",
    "pdm.lock",
    "composer.lock",
    "gemfile.lock",
    "podfile.lock",
    "package.resolved",
    "go.sum",
    "flake.lock",
    "mix.lock",
    "pubspec.lock",
    "packages.lock.json",
    "gradle.lockfile",
    // Not a lock file but written the same way: `cargo vendor`'s SHA-256 of every file.
    ".cargo-checksum.json",
];

impl FileKind {
    /// The kind of the file at `path` (`outer.zip!inner/name` counts as `name`).
    pub(crate) fn of(path: &str) -> FileKind {
        let name = path.rsplit(['/', '!', '\\']).next().unwrap_or(path);
        // Most names are lowercase already (and `vigil redact`'s `-` is no name): no copy then.
        let lower: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(name.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(name)
        };
        if LOCK_FILES.contains(&lower.as_ref()) || lower.ends_with(".lock") {
            return FileKind::Lock;
        }
        if lower.ends_with(".secrets.baseline") {
            return FileKind::Baseline;
        }
        let report = lower.ends_with(".sarif")
            || lower.ends_with(".sarif.json")
            || (lower.ends_with(".json")
                && (lower.starts_with("gitleaks") || lower.starts_with("kingfisher")));
        if report {
            return FileKind::Report;
        }
        if lower.ends_with(".svg") {
            return FileKind::Svg;
        }
        let script = [".js", ".mjs", ".cjs", ".css", ".map"]
            .iter()
            .any(|e| lower.ends_with(e));
        if script {
            return FileKind::Script;
        }
        FileKind::Plain
    }
}

/// A line this long in JavaScript or CSS is a minified bundle, where `token:"…"` is code.
const MINIFIED_LINE: usize = 1000;

/// Whether the generic rule's match `m` with the secret `sec` is kept, and the secret it keeps
/// (a URL query value is cut at its `&` or `#`).
pub(crate) fn keep(
    data: &[u8],
    m: (usize, usize),
    sec: (usize, usize),
    kind: FileKind,
    path: &str,
    lines: &crate::engine::LineCache,
) -> Option<(usize, usize)> {
    match kind {
        FileKind::Lock | FileKind::Baseline | FileKind::Svg => return None,
        FileKind::Script => {
            let line = lines.end(data, m.1) - lines.start(data, m.0);
            if line > MINIFIED_LINE {
                return None;
            }
        }
        FileKind::Plain | FileKind::Report => {}
    }
    let key_start = key_start(data, m.0);
    let key = &data[key_start..sec.0];
    // A file's name as the key (`"src/token.rs": "<sha256>"`) marks a manifest's digest, not
    // any value: `password.txt: <random>` in a Kubernetes Secret's `stringData` is a secret
    // (tester helper-122 #6).
    let file_key = key_is_file_name(key) || key_is_path(data, key_start, key);
    let mut sec = sec;
    let query = key_start > 0 && matches!(data[key_start - 1], b'?' | b'&' | b';');
    if query {
        // `?token=value#sha256=…`, `&X-Amz-Credential=credential&…`: the value ends at the next
        // parameter or the fragment.
        let v = &data[sec.0..sec.1];
        if let Some(cut) = v.iter().position(|b| matches!(b, b'&' | b'#')) {
            sec.1 = sec.0 + cut;
        }
        let v = &data[sec.0..sec.1];
        if v.len() < 10 || is_url_placeholder(v) || encodes_a_path(v) {
            return None;
        }
    }
    // A form body or query without its `?` (`"access_token=abc&token_type=Bearer"`): the
    // value ends at the next `&name=`.
    if let Some(cut) = next_parameter(&data[sec.0..sec.1]) {
        sec.1 = sec.0 + cut;
        if cut < 10 {
            return None;
        }
    }
    let secret = &data[sec.0..sec.1];
    if is_url_placeholder(secret) || is_signing_scope(secret) {
        return None;
    }
    if is_test_value(secret) || names_itself(secret) || is_alphabet_walk(secret) {
        return None;
    }
    if is_code_expression(data, sec) || is_url_path(secret) || is_text_in_base64(secret) {
        return None;
    }
    if colon_parts_are_names(secret) || negates_a_name(secret) {
        return None;
    }
    // `eyJ….sensitive-jwt-payload`: a JWT header before a payload that is not JSON in base64
    // (`eyJ…`) is a made-up token, not a secret.
    if let Some(dot) = secret.iter().position(|&b| b == b'.') {
        if secret.starts_with(b"eyJ") && !secret[dot + 1..].starts_with(b"eyJ") {
            return None;
        }
    }
    if in_test_file(path) && (spells_a_password(secret) || made_of_words(secret)) {
        return None;
    }
    if is_digest(key, secret, kind) || file_key && is_hex_digest(secret) {
        return None;
    }
    if !generic_ok(secret) {
        return None;
    }
    Some(sec)
}

/// Where the key of a `key = value` match starts: the rule's match begins at a keyword
/// (`secret` in `hashed_secret`), the key at the first byte of the name around it.
fn key_start(data: &[u8], mut at: usize) -> usize {
    // A key is a name, not a paragraph: the walk stops after `KEY_SPAN` bytes.
    let (from, floor) = (at, at.saturating_sub(KEY_SPAN));
    while at > floor && (data[at - 1].is_ascii_alphanumeric() || b"_.-".contains(&data[at - 1])) {
        at -= 1;
    }
    crate::engine::charge(from - at);
    at
}

/// Where a value's next `&name=` parameter starts, if it has one.
fn next_parameter(v: &[u8]) -> Option<usize> {
    v.iter().enumerate().find_map(|(i, &b)| {
        let rest = &v[i + 1..];
        let name = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        (b == b'&' && name > 0 && rest.get(name) == Some(&b'=')).then_some(i)
    })
}

/// Words that mark a value as made for tests or documentation.
const TEST_WORDS: &[&str] = &[
    "test", "tests", "testing", "doctest", "fake", "dummy", "mock", "example", "sample", "demo",
    "e2e",
];

/// A value made by hand for a test or a document, not generated: it names itself a test value
/// (`this-is-a-long-test-secret-key`, `TestCoveragePassw0rd`), is cut short for display
/// (`k7j3h4g5f6d7...`), or its only digits are counting runs (`SecurePassword123!`,
/// `access-token-456`, `abc-123-def-456`). Random values almost never have only counting runs.
fn is_test_value(v: &[u8]) -> bool {
    if v.ends_with(b"...") {
        return true;
    }
    // A test word beside a random token (`example-<40 random>`) leaves a token.
    if words(v).any(|w| TEST_WORDS.contains(&w.as_str())) {
        return std::str::from_utf8(v).map_or(true, |s| {
            !crate::placeholder::random_beside_markers(s, TEST_WORDS)
        });
    }
    let runs: Vec<&[u8]> = v
        .split(|b| !b.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect();
    !runs.is_empty()
        && runs
            .iter()
            .all(|r| r.len() >= 3 && r.windows(2).all(|p| (p[0] - b'0' + 1) % 10 == p[1] - b'0'))
}

/// Words that name a credential, in a value that names itself (`user1_vault_token`).
const CREDENTIAL_WORDS: &[&str] = &[
    "token",
    "tokens",
    "secret",
    "secrets",
    "key",
    "apikey",
    "api",
    "password",
    "passwd",
    "pass",
    "pwd",
    "bearer",
    "credential",
    "credentials",
    "pat",
    "refresh",
    "access",
];

/// A value made of words that names what it stands for (`user1_vault_token`,
/// `bench-secret-key-2026`, `Updated-Via-API-Token`, `ghp_a2a_bound_token`): pieces split at
/// `-`, `_` and case changes, each a word (letters, then perhaps digits: `user1`, `TASK12`), a
/// number, or three characters at most, one of them a credential word. A generated secret
/// does not spell out its own kind.
fn names_itself(v: &[u8]) -> bool {
    if !v
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return false;
    }
    let pieces = word_pieces(v, b"-_");
    if pieces.len() < 2 {
        return false;
    }
    let word = |p: &[u8]| cased_word(p, 2);
    let number = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    let credential = |p: &[u8]| {
        let lower = String::from_utf8_lossy(p).to_ascii_lowercase();
        CREDENTIAL_WORDS.contains(&lower.as_str())
    };
    // Words of four letters or more, numbers and credential words make up most of it: random
    // text around a credential word (`qtYygX0bKRVi_key_tGoPZrpulRBP`) splits into short pieces.
    let long_word =
        |p: &[u8]| word(p) && p.iter().take_while(|b| b.is_ascii_alphabetic()).count() >= 4;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let worded: usize = pieces
        .iter()
        .filter(|p| long_word(p) || number(p) || credential(p))
        .map(|p| p.len())
        .sum();
    pieces.iter().all(|p| word(p) || number(p) || p.len() <= 3)
        && pieces.iter().any(|p| credential(p))
        && pieces.iter().filter(|p| word(p) && p.len() >= 4).count() >= 1
        && worded * 5 >= total * 3
}

/// `AbC~dEf1GhI2jKl3MnO4…`: letters that walk the alphabet in order (a documentation
/// placeholder's way of looking random). Four in five of its letters follow the one before.
fn is_alphabet_walk(v: &[u8]) -> bool {
    let letters: Vec<u8> = v
        .iter()
        .filter(|b| b.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    if letters.len() < 8 {
        return false;
    }
    let steps = letters
        .windows(2)
        .filter(|p| (p[0] - b'a' + 1) % 26 == p[1] - b'a')
        .count();
    steps * 5 >= (letters.len() - 1) * 4
}

/// `export type Success = createTokenV1TokensPostResponse201 & {`: an unquoted name followed by
/// a type or expression operator is code, not a value.
fn is_code_expression(data: &[u8], sec: (usize, usize)) -> bool {
    let v = &data[sec.0..sec.1];
    let quoted = sec.0 > 0 && matches!(data[sec.0 - 1], b'"' | b'\'' | b'`');
    if quoted
        || !v[0].is_ascii_alphabetic()
        || !v.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric())
    {
        return false;
    }
    // Spaced, as code is written (`A & {`); a URL's `value&page=2` is not.
    let after = &data[sec.1..];
    let next = after.iter().take(64).find(|b| **b != b' ' && **b != b'\t');
    matches!(after.first(), Some(b' ' | b'\t')) && matches!(next, Some(b'&' | b'|' | b'{' | b'<'))
}

/// `"/api/ingress/v1/token"`: a URL path of lowercase segments, not a value.
fn is_url_path(v: &[u8]) -> bool {
    v.first() == Some(&b'/')
        && v.iter().filter(|&&b| b == b'/').count() >= 2
        && v.split(|&b| b == b'/').all(|seg| {
            seg.iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        })
}

/// Base64 whose decoding is printable text (`SGVsbG8gV29ybGQg…`, `dXNlcjpqaXJhCg==`): the
/// decoder hands that text to the rules (`decode.rs`), which judge it as written; the encoded
/// form is not a secret of its own. Random bytes almost never decode to text.
fn is_text_in_base64(v: &[u8]) -> bool {
    use base64::Engine as _;
    const ENGINE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    if v.len() < 12
        || !v
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        return false;
    }
    ENGINE.decode(v).is_ok_and(|d| {
        d.len() >= 8
            && d.iter()
                .all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t'))
    })
}

/// Whether a path is a test's (`tests/`, `test_x.py`, `x_test.go`, `x.test.ts`, `x.spec.js`).
fn in_test_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut parts = lower.split(['/', '!', '\\']).peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_some() {
            if matches!(p, "test" | "tests" | "__tests__" | "testdata" | "spec") {
                return true;
            }
            continue;
        }
        let stem = p.split('.').next().unwrap_or(p);
        return stem.starts_with("test_")
            || stem.ends_with("_test")
            || stem.ends_with("_tests")
            || p.contains(".test.")
            || p.contains(".spec.");
    }
    false
}

/// A hand-made password that spells "pass", "password" or "secret" once leetspeak is undone
/// (`StrongP@ss1!XYZ`, `SecureP4ss2w0rd`, `Th!s_Is_a-gr34t-P@ssw0rd!`): asked only in tests,
/// where it is a fixture; elsewhere such a password may be a real (weak) one.
fn spells_a_password(v: &[u8]) -> bool {
    let plain: String = v
        .iter()
        .map(|&b| match b {
            b'!' => 'i',
            c => vigil_core::strength::unleet(c.to_ascii_lowercase() as char),
        })
        .collect();
    ["pass", "secret", "sword"]
        .iter()
        .any(|w| plain.contains(w))
}

/// A password a person typed for a test (`ValidPrivilegedAcct4$xy!`, `StrongTestPass#2024`):
/// at least 70% of it is words of four letters or more, written as words are (lower case, or
/// capitalised), and it has a symbol. A generated value has few such runs (about 0.2% of
/// random 24-character values reach 70%, and those have no symbol).
fn made_of_words(v: &[u8]) -> bool {
    let in_words = crate::placeholder::word_letters(v);
    // Typed, so with a symbol (`$`, `#`, `!`…): a generated token of letters and digits is
    // never dismissed this way, however its lower-case runs fall.
    let symbol = v.iter().any(|b| b.is_ascii_punctuation());
    symbol && in_words * 10 >= v.len() * 7
}

/// The words of a value, lowercased: split at anything not a letter and at lower-to-upper case
/// changes (`TestCoveragePassw0rd` → test, coverage, passw, rd).
fn words(v: &[u8]) -> impl Iterator<Item = String> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < v.len() && !v[i].is_ascii_alphabetic() {
            i += 1;
        }
        if i >= v.len() {
            return None;
        }
        let start = i;
        i += 1;
        while i < v.len()
            && v[i].is_ascii_alphabetic()
            && !(v[i].is_ascii_uppercase() && v[i - 1].is_ascii_lowercase())
        {
            i += 1;
        }
        // `e2e` is one word, when it stands alone (`e2e-secret`, not `X2e2EZ`).
        let alone = |at: usize| v.get(at).is_none_or(|b| !b.is_ascii_alphanumeric());
        if v[start..].len() >= 3
            && v[start..start + 3].eq_ignore_ascii_case(b"e2e")
            && (start == 0 || alone(start - 1))
            && alone(start + 3)
        {
            i = start + 3;
        }
        Some(String::from_utf8_lossy(&v[start..i]).to_ascii_lowercase())
    })
}

/// The longest key name looked back over.
const KEY_SPAN: usize = 256;

/// Words that stand for a value in documentation, URL examples and headers.
const PLACEHOLDER_WORDS: &[&str] = &[
    "value",
    "values",
    "credential",
    "credentials",
    "foo",
    "bar",
    "baz",
    "foobar",
    "example",
    "test",
    "testing",
    "dummy",
    "secret",
    "token",
    "password",
    "apikey",
    "string",
];

/// `value`, `credential`, `foo`, `xxx`…, alone or as a run of them (`foo-bar`, `test_token`).
fn is_url_placeholder(v: &[u8]) -> bool {
    let s = String::from_utf8_lossy(v).to_ascii_lowercase();
    let mut words = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek().is_none() {
        return false;
    }
    words.all(|w| PLACEHOLDER_WORDS.contains(&w) || w.bytes().all(|b| b == b'x'))
}

/// A percent-encoded path or URL (`foo%2Fauto%2Fs3%2Faws4_request`): a credential *scope*, a
/// redirect target, never a secret of its own.
fn encodes_a_path(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    let seps = memchr::memmem::find_iter(&lower, b"%2f").count()
        + memchr::memmem::find_iter(&lower, b"%3a").count();
    seps >= 2
}

/// An AWS SigV4 credential scope (`AKID/20250623/us-east-1/s3/aws4_request`), as it reads once
/// percent-decoded or not: a date, region and service, never a secret (an access key id in its first
/// segment is the AWS rule's to find).
fn is_signing_scope(v: &[u8]) -> bool {
    let v = v.to_ascii_lowercase();
    v.ends_with(b"/aws4_request") || v.ends_with(b"%2faws4_request")
}

/// Key words under which a hex value is a digest (`"hashed_secret": "…"`, `sha256`,
/// `integrity`, `checksum`).
const DIGEST_KEYS: &[&str] = &[
    "hash",
    "sha",
    "checksum",
    "integrity",
    "digest",
    "fingerprint",
    "md5",
    "crc",
];

/// Whether `secret` is a digest: hex of a digest's length (MD5, SHA-1, SHA-224/256/384/512)
/// under a digest-named key, or anywhere in a scanner's report; or a subresource-integrity value
/// (`sha512-…`).
fn is_digest(key: &[u8], secret: &[u8], kind: FileKind) -> bool {
    let lower = secret.to_ascii_lowercase();
    if [b"sha1-".as_slice(), b"sha256-", b"sha384-", b"sha512-"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    if !is_hex_digest(secret) {
        return false;
    }
    if kind == FileKind::Report {
        return true;
    }
    let key = String::from_utf8_lossy(key).to_ascii_lowercase();
    DIGEST_KEYS.iter().any(|k| key.contains(k))
}

/// Whether `secret` is hex of a digest's length (MD5, SHA-1, SHA-224/256/384/512).
fn is_hex_digest(secret: &[u8]) -> bool {
    matches!(secret.len(), 32 | 40 | 56 | 64 | 96 | 128) && secret.iter().all(u8::is_ascii_hexdigit)
}

/// Last parts of a key that name a setting, not a file type (`config/app.secret = <hex>` is a
/// secret): a manifest's entry never ends so.
const SECRET_EXTENSIONS: &[&[u8]] = &[
    b"secret",
    b"secrets",
    b"token",
    b"tokens",
    b"password",
    b"passwd",
    b"pwd",
    b"pass",
    b"apikey",
    b"key",
];

/// Whether the key starting at `key_start` is the last part of a file's path with an
/// extension (`"tests/ui/pass.stderr": "<sha256>"`, `lib/libapi-security-credentials-l1.a`):
/// a manifest's entry, whose hex value is that file's digest.
fn key_is_path(data: &[u8], key_start: usize, key: &[u8]) -> bool {
    let name = key
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"_.-".contains(b)))
        .map_or(key, |end| &key[..end]);
    key_start > 0
        && data[key_start - 1] == b'/'
        && name.iter().rposition(|&b| b == b'.').is_some_and(|dot| {
            let ext = &name[dot + 1..];
            let ext = ext.to_ascii_lowercase();
            (1..=8).contains(&ext.len())
                && ext.iter().all(u8::is_ascii_alphanumeric)
                && !SECRET_EXTENSIONS.contains(&ext.as_slice())
        })
}

/// The generic rule's extra bar: letters with digits (or, for 16+ characters, upper and lower
/// case with no word-length run of lower case, as random strings have), and not code: an
/// identifier, a dotted path, a `Verb-Noun` command name.
fn generic_ok(secret: &[u8]) -> bool {
    let digits = secret.iter().any(u8::is_ascii_digit);
    let letters = secret.iter().any(u8::is_ascii_alphabetic);
    // Random mixed case: a lower-case run of 7 or 8 turns up in random letters too
    // (`JaTUyYaccessfKlcxD`, bb-scan-s10); names are told apart by their word pieces
    // (`is_identifier` below), not by the run.
    let random_case = secret.len() >= 16
        && secret.iter().any(u8::is_ascii_uppercase)
        && secret.iter().any(u8::is_ascii_lowercase)
        && max_run(secret, u8::is_ascii_lowercase) <= 8;
    if !(letters && (digits || random_case)) {
        return false;
    }
    if is_identifier(secret) || is_command_name(secret) {
        return false;
    }
    // `config.auth.secret_key_v2`, `self.token2`, `settings.secretName`: names joined by dots
    // (a random `Bxjd2AsjD7.N2kHD9FSUu` has pieces no name has).
    // A JWT's parts (`eyJ…`) are the `jwt` rule's to judge, as before.
    let jwt = secret.starts_with(b"eyJ")
        && secret
            .split(|&b| b == b'.')
            .all(|p| !p.is_empty() && p.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric()));
    // TypeScript's non-null assertion and optional chaining (`session!.token`, `user?.key`)
    // end a part with `!` or `?`.
    let part = |p: &[u8]| is_name_part(p.strip_suffix(b"!").or(p.strip_suffix(b"?")).unwrap_or(p));
    let dotted = secret.contains(&b'.') && (jwt || secret.split(|&b| b == b'.').all(part));
    !dotted
}

/// At least `min` letters of one case, or capitalised, then perhaps digits (`user1`, `TASK12`,
/// `Token`, `v2`).
fn cased_word(p: &[u8], min: usize) -> bool {
    let letters = p.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let l = &p[..letters];
    letters >= min.max(1)
        && (l.iter().all(u8::is_ascii_lowercase)
            || l.iter().all(u8::is_ascii_uppercase)
            || l[1..].iter().all(u8::is_ascii_lowercase))
        && p[letters..].iter().all(u8::is_ascii_digit)
}

/// One part of a dotted path: an identifier, or `snake_case` pieces each made of letters of one
/// case (or capitalised) followed perhaps by digits (`token2`, `secret_key_v2`, `API_TOKEN`).
fn is_name_part(p: &[u8]) -> bool {
    let piece = |w: &[u8]| cased_word(w, 1) || w.iter().all(u8::is_ascii_digit);
    !p.is_empty()
        && !p[0].is_ascii_digit()
        && p.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric())
        && (is_identifier(p) || p.split(|&b| b == b'_').filter(|w| !w.is_empty()).all(piece))
}

/// `!!tokenSpend.data`, `!session.valid`: a negated name is code (JavaScript's `!!x` makes a
/// boolean of it), not a value.
fn negates_a_name(v: &[u8]) -> bool {
    let name = v.strip_prefix(b"!!").or_else(|| v.strip_prefix(b"!"));
    name.is_some_and(|n| !n.is_empty() && n.split(|&b| b == b'.').all(is_name_part))
}

/// `vault.internal:8200`, `redis:6379`, `db-1.example.com:5432`, `12:30:45`, `ns:name`, an
/// ISO 8601 date and time: a value whose `:`-separated parts are each a number or names joined by dots and hyphens is an
/// address, a time or a qualified name, not a secret. A random `Xk9amQz81Lp:3W9rT7vB2nQ` has
/// parts no name has.
fn colon_parts_are_names(v: &[u8]) -> bool {
    let number = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    // `2026-07-14T23:59:59Z`, `2026-07-14 23:59:59.123+02:00`: a date and time.
    let timestamp = v.len() >= 16
        && v[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && matches!(v[10], b'T' | b' ' | b't')
        && v[11..]
            .iter()
            .all(|b| b.is_ascii_digit() || b":.+-Zz".contains(b));
    if timestamp {
        return true;
    }
    v.contains(&b':')
        && v.split(|&b| b == b':').all(|p| {
            !p.is_empty()
                && (number(p)
                    || p.split(|&b| b == b'.' || b == b'-')
                        .all(|w| !w.is_empty() && (number(w) || is_name_part(w))))
        })
}

/// `ConvertTo-SecureString`, `Get-Credential`, `New-ApiToken`: PowerShell's `Verb-Noun` and
/// other `CamelCase-With-Hyphen` names, every piece a capitalised identifier.
fn is_command_name(s: &[u8]) -> bool {
    if !s.contains(&b'-') {
        return false;
    }
    s.split(|&b| b == b'-').all(|p| {
        p.len() >= 2
            && p[0].is_ascii_uppercase()
            && p.iter().all(u8::is_ascii_alphabetic)
            && (is_word_piece(p) || is_identifier(p))
    })
}

/// One capitalised word (`Credential`).
fn is_word_piece(p: &[u8]) -> bool {
    p[0].is_ascii_uppercase() && p[1..].iter().all(u8::is_ascii_lowercase)
}

/// `_S_token_char_class_name`, `BCryptDestroySecretFn`, `MI_UserCredentials_0`: names made of
/// word-like pieces (all lower, all upper, or capitalised; short numbers allowed), split at `_`,
/// at lower-to-upper changes and at the end of an acronym, with at most one single-letter piece.
/// The words of `s`: split at the bytes of `seps`, then where camel case turns (`tokenV1` →
/// `token`, `V1`; `HTTPServer` → `HTTP`, `Server`).
fn word_pieces<'a>(s: &'a [u8], seps: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces: Vec<&[u8]> = Vec::new();
    for part in s.split(|b| seps.contains(b)).filter(|p| !p.is_empty()) {
        let mut start = 0;
        for i in 1..part.len() {
            let camel = part[i].is_ascii_uppercase() && part[i - 1].is_ascii_lowercase();
            let acronym_end = part[i].is_ascii_uppercase()
                && part[i - 1].is_ascii_uppercase()
                && part.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            if camel || acronym_end {
                pieces.push(&part[start..i]);
                start = i;
            }
        }
        pieces.push(&part[start..]);
    }
    pieces
}

/// Random strings break into pieces that mix letters and digits, or into many single letters,
/// or mostly into pieces of one or two letters.
fn is_identifier(s: &[u8]) -> bool {
    if !s.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric()) {
        return false;
    }
    let pieces = word_pieces(s, b"_");
    let word_like = |p: &&[u8]| {
        p.iter().all(u8::is_ascii_lowercase)
            || p.iter().all(u8::is_ascii_uppercase)
            || (p[0].is_ascii_uppercase() && p[1..].iter().all(u8::is_ascii_lowercase))
    };
    let number = |p: &&[u8]| {
        // `12`, and a version: `v1`, `V2` (`bob_refresh_v1`).
        let digits = p
            .strip_prefix(b"v")
            .or_else(|| p.strip_prefix(b"V"))
            .unwrap_or(p);
        !digits.is_empty() && digits.len() <= 3 && digits.iter().all(u8::is_ascii_digit)
    };
    let words = pieces.iter().filter(|p| word_like(p)).count();
    // Random letters also split into word-like pieces, but mostly of one or two letters
    // (`WPFfSPJBxWxs…`); names are mostly made of words.
    let short = pieces.iter().filter(|p| p.len() <= 2 && !number(p)).count();
    words >= 2
        && short * 2 <= pieces.len()
        && pieces.iter().all(|p| word_like(p) || number(p))
        && pieces
            .iter()
            .filter(|p| p.len() == 1 && p[0].is_ascii_alphabetic())
            .count()
            <= 1
}

/// Extensions that mark a key as a file name (`"src/token.rs": "<digest>"`), not a setting.
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "ts", "tsx", "jsx", "go", "rb", "java", "kt", "c", "h", "cc", "cpp", "hpp",
    "cs", "json", "yaml", "yml", "toml", "md", "txt", "html", "css", "sh", "lock", "xml", "php",
    "swift", "pyi", "mjs", "cjs",
];

/// Whether the generic rule's key (the text before the separator) is a file name.
fn key_is_file_name(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name);
    let key = name.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '=' | ':' | '>' | '|' | '"' | '\'' | '`')
    });
    key.rsplit_once('.')
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext))
}

fn max_run(s: &[u8], class: fn(&u8) -> bool) -> usize {
    let (mut best, mut run) = (0, 0);
    for b in s {
        run = if class(b) { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_last_name() {
        assert_eq!(FileKind::of("a/Cargo.lock"), FileKind::Lock);
        assert_eq!(FileKind::of("web/package-lock.json"), FileKind::Lock);
        assert_eq!(
            FileKind::of("vendor/x-1.0/.cargo-checksum.json"),
            FileKind::Lock
        );
        assert_eq!(FileKind::of("x.zip!.secrets.baseline"), FileKind::Baseline);
        assert_eq!(FileKind::of("out/results.sarif"), FileKind::Report);
        assert_eq!(FileKind::of("gitleaks-report.json"), FileKind::Report);
        assert_eq!(FileKind::of("icons/key.svg"), FileKind::Svg);
        assert_eq!(FileKind::of("dist/app.min.js"), FileKind::Script);
        assert_eq!(FileKind::of("config/settings.json"), FileKind::Plain);
        assert_eq!(FileKind::of(".env"), FileKind::Plain);
    }

    #[test]
    fn typed_test_passwords_are_words_and_generated_ones_are_not() {
        for v in [
            "ValidPrivilegedAcct4$xy!",
            "StrongTestPass#2024",
            "correct-horse-battery-staple-42",
        ] {
            assert!(made_of_words(v.as_bytes()), "{v}");
        }
        let mut gen = crate::examples::Gen::new(7);
        for _ in 0..200 {
            let v = crate::examples::expand("{alnum:24}", &mut gen)
                .expect("a valid template")
                .text;
            assert!(!made_of_words(v.as_bytes()), "{v}");
        }
        for v in ["Qp7$kT!3xZf8Nv@5Jm2cLh9#oG1WbE0r", "JaTUyYaccessfKlcxD"] {
            assert!(!made_of_words(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn values_that_name_themselves_are_not_secrets_and_random_ones_are() {
        for v in [
            "user1_vault_token",
            "alice_token_v1",
            "t8-forwarded-token",
            "auth0-client-secret",
            "bench-secret-key-2026",
            "other-secret-key-with-minimum-32-bytes",
            "Bearer-TASK12-token-sentinel",
        ] {
            assert!(names_itself(v.as_bytes()), "{v}");
        }
        for v in [
            "Xk9Qw2Lp7Zr4mTy8",
            "prod-db-password-Xk9Qw2",
            "token-k8Jd72xmQpL0",
            "correct-horse-battery-staple-42",
            // Random text around a credential word (black-box tester, session 10).
            "qtYygX0bKRVi_key_tGoPZrpulRBP",
            "TXevfYua-secret-D9CLjyE1",
            "pLIix6-secret-MEOLeM",
            "3hcMNW_token_cyTLvJ",
            "JaTUyYaccessfKlcxD",
        ] {
            assert!(!names_itself(v.as_bytes()), "{v}");
        }
        assert!(is_alphabet_walk(
            b"AbC~dEf1GhI2jKl3MnO4pQr5StU6vWx7YzA8bcD9efG0"
        ));
        assert!(!is_alphabet_walk(b"WPFfSPJBxWxsQOPHIwMLVjmAeacBRgVN"));
        assert!(is_url_path(b"/api/ingress/v1/token"));
        assert!(!is_url_path(b"/xK9qW2/Lp7Zr4mTy8+bV3N"));
        assert!(is_text_in_base64(b"dXNlcjpqaXJhCg=="));
        assert!(!is_text_in_base64(b"WPFfSPJBxWxsQOPHIwMLVjmAeacBRgVN"));
    }

    /// Leetspeak passwords that spell "password" are fixtures in tests, and stay findings
    /// elsewhere (a real, weak password looks the same).
    #[test]
    fn hand_made_passwords_are_dropped_in_tests_only() {
        let rules = crate::Ruleset::builtin();
        let line = "    basic_auth_password=\"StrongP@ss1!XYZ\",\n"; // vigil:allow (a fixture)
        let found = |path: &str| {
            let mut out = Vec::new();
            rules.scan_bytes(path, None, line.as_bytes(), &mut out);
            out.len()
        };
        assert_eq!(found("tests/unit/test_config.py"), 0);
        assert_eq!(found("app/test_settings.py"), 0);
        assert_eq!(found("config/settings.py"), 1);
        assert!(in_test_file("src/login.test.ts"));
        assert!(!in_test_file("src/attestation.py"));
    }

    #[test]
    fn code_is_not_a_secret() {
        for code in [
            "ConvertTo-SecureString",
            "Get-Credential",
            "New-AzStorageAccountKey",
            "BCryptDestroySecretFn",
            "config.auth.secret_key_v2",
            "self.token2",
            "settings.secretName",
            "process.env.API_TOKEN",
            // TypeScript's `!.` and `?.` (IBM/mcp-context-forge).
            "request.session!.bearerToken",
            "request.user?.accessToken",
        ] {
            assert!(!generic_ok(code.as_bytes()), "{code}");
        }
        for secret in [
            // Random values with dots (black-box tester, session 10).
            "Bxjd2AsjD7.N2kHD9FSUu",
            "LIZdeU.or0fYe.Q8bvUBez",
            "Xk9a.Bq7z.bFOiVrR02m",
            "dGMVu9H.tsSNHWJ.meN0umw",
            "Xk9-Qw2-Lp7-Zr4m",
            "correct-horse-battery-staple-42",
            "WPFfSPJBxWxsQOPHIwMLVjmAeacBRgVN",
            // A lower-case run of seven in random letters (black-box tester, session 10).
            "JaTUyYaccessfKlcxD",
        ] {
            assert!(generic_ok(secret.as_bytes()), "{secret}");
        }
    }

    #[test]
    fn test_values_are_told_from_generated_ones() {
        for v in [
            "this-is-a-long-test-secret-key-32chars",
            "TestCoveragePassw0rd!42",
            "doctest-jwt-secret-DO-NOT-USE-IN-PRODUCTION-32plus",
            "e2e-secret-key-with-32-bytes",
            "k7j3h4g5f6d7s8a9w0e1...",
            "NewSecurePassword123!",
            "staging-secret-123",
            "abc-123-def-456",
            "different-secret-67890",
        ] {
            assert!(is_test_value(v.as_bytes()), "{v}");
        }
        for v in [
            "Xk9Qw2Lp7Zr4mTy8",
            "k7j3h4g5f6d7s8a9w0e1r2t3y4u5i6o7",
            "a8F3kQ2zL9mN4pR7",
            "latest-Xk9Qw2Lp7Zr4",
            "contest-Xk9Qw2Lp7Zr4",
            "oi4k6LE9sEP7J17tuF7xWWfX2e2EZXabhVC0uy6trD4a",
        ] {
            assert!(!is_test_value(v.as_bytes()), "{v}");
        }
        assert_eq!(next_parameter(b"abc&token_type=Bearer"), Some(3));
        assert_eq!(next_parameter(b"a&b&c"), None);
    }

    #[test]
    fn digests_need_a_digest_key_or_a_report() {
        let sha1 = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4";
        assert!(is_digest(
            b"hashed_secret\": \"",
            sha1.as_bytes(),
            FileKind::Plain
        ));
        assert!(is_digest(
            b"sha256 = ",
            "ab".repeat(32).as_bytes(),
            FileKind::Plain
        ));
        assert!(!is_digest(
            b"api_secret = ",
            sha1.as_bytes(),
            FileKind::Plain
        ));
        assert!(is_digest(
            b"Secret\": \"",
            sha1.as_bytes(),
            FileKind::Report
        ));
        assert!(!is_digest(b"hash = ", b"e5e9fa1ba31ecd1a", FileKind::Plain));
    }
}
