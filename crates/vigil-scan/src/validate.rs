//! Structural checks run after a rule's regex matched, to drop shapes that cannot be real: the
//! GitHub CRC32 checksum, Discord's snowflake segment, a JWT's decodable JSON header.

use base64::Engine;

/// A structural check named by a rule's `validate` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// GitHub classic tokens: the last 6 characters are base62(CRC32(random part)).
    GithubCrc32,
    /// Discord bot tokens: the first segment is base64 of the bot's numeric user id.
    DiscordBot,
    /// JWTs: header and payload are base64url JSON objects, the header has `alg`.
    Jwt,
    /// PEM and OpenSSH private keys: the body holds key material, a run of base64 (a file of
    /// `-----BEGIN PRIVATE KEY-----` lines alone holds no key).
    PemBody,
}

impl Validator {
    /// Parses a rule's `validate` value.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "github-crc32" => Some(Self::GithubCrc32),
            "discord-bot" => Some(Self::DiscordBot),
            "jwt" => Some(Self::Jwt),
            "pem-body" => Some(Self::PemBody),
            _ => None,
        }
    }

    /// Whether the rules checked this way match a bounded number of bytes (so a rejected match
    /// may be searched again one byte on without making the work quadratic).
    pub fn bounded(self) -> bool {
        matches!(self, Self::GithubCrc32 | Self::DiscordBot)
    }

    /// Whether the secret passes the check.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Self::GithubCrc32 => github_crc32_ok(secret),
            Self::DiscordBot => discord_bot_ok(secret),
            Self::Jwt => jwt_ok(secret),
            Self::PemBody => pem_body_ok(secret),
        }
    }
}

/// The shortest run of base64 that counts as key material (a PEM line is 64 characters,
/// OpenSSH's 70).
const PEM_MATERIAL: usize = 40;

/// Base64 characters on the body's lines that together count as key material, however
/// narrowly the body is wrapped (`fold -w 16` still gives a key `openssl` loads).
const PEM_WRAPPED_MATERIAL: usize = 64;

fn pem_body_ok(secret: &[u8]) -> bool {
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if secret
        .split(|b| !b64(b))
        .any(|run| run.len() >= PEM_MATERIAL)
    {
        return true;
    }
    // Lines of base64 wrapped short, in whatever the key was pasted into.
    let (lines, material) = pem_material(secret);
    let has = |f: fn(&u8) -> bool| material.iter().any(f);
    lines >= 2
        && material.len() >= PEM_WRAPPED_MATERIAL
        && has(u8::is_ascii_uppercase)
        && has(u8::is_ascii_lowercase)
        && has(u8::is_ascii_digit)
}

/// The key lines of a PEM block and their base64 joined: each line (real, or a `\n` escape in
/// a string: JSON, `.env`, Java) with what a key is pasted into taken off its ends (a comment
/// or quote prefix `# `, `// `, `> `, `>> `, `* `, `"`; a closing quote, `\` of a continued
/// shell line, ` +` of Java's concatenation, `,`), kept when the rest is base64 alone. The
/// header, footer and `Proc-Type:`-style lines are not key lines.
pub(crate) fn pem_material(secret: &[u8]) -> (usize, Vec<u8>) {
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let mut material = Vec::new();
    let mut lines = 0;
    for line in secret.split(|&b| b == b'\n') {
        // A `\n` (or `\\n`, `\r\n`) escape ends a line inside a string.
        let mut rest = line;
        while !rest.is_empty() {
            let (piece, next) = match memchr::memmem::find(rest, b"\\n") {
                Some(p) => (&rest[..p], &rest[p + 2..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let piece = strip_decoration(piece);
            if !piece.is_empty() && piece.iter().all(b64) {
                lines += 1;
                material.extend_from_slice(piece);
            }
        }
    }
    (lines, material)
}

/// A line of a pasted key without what it was pasted into (see [`pem_material`]).
fn strip_decoration(l: &[u8]) -> &[u8] {
    let l = &l[..pasted_end(l)];
    &l[pasted_start(l)..]
}

/// Where a line of a pasted key starts after its comment and quote marks (`# `, `// `, `> `,
/// `>> `, `* `, `"`, Java's `+ "` at the start of a line).
pub(crate) fn pasted_start(l: &[u8]) -> usize {
    let quote = |b: u8| matches!(b, b'"' | b'\'' | b'`');
    let mut i = 0;
    loop {
        while i < l.len() && l[i].is_ascii_whitespace() {
            i += 1;
        }
        match l.get(i) {
            Some(b'>' | b'#' | b'/' | b'*' | b';' | b'|' | b'-' | b'(') => i += 1,
            Some(&c) if quote(c) => i += 1,
            Some(b'+')
                if l.get(i + 1)
                    .is_some_and(|&n| n.is_ascii_whitespace() || quote(n)) =>
            {
                i += 1
            }
            _ => return i,
        }
    }
}

/// Where a line of a pasted key ends before what closes it: whitespace, a `\n` or `\r\n`
/// escape, a closing quote, `\` of a continued shell line, ` +` of Java's concatenation, `,`,
/// `;`, `)`.
pub(crate) fn pasted_end(l: &[u8]) -> usize {
    let quote = |b: u8| matches!(b, b'"' | b'\'' | b'`');
    let mut e = l.len();
    loop {
        while e > 0 && l[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
        let t = &l[..e];
        if t.ends_with(b"\\n") || t.ends_with(b"\\r") {
            e -= 2;
        } else if let [.., b'\\' | b',' | b';' | b')'] = t {
            e -= 1;
        } else if t.last().is_some_and(|&c| quote(c)) {
            e -= 1;
        } else if let [.., prev, b'+'] = t {
            if prev.is_ascii_whitespace() || quote(*prev) {
                e -= 1;
            } else {
                return e;
            }
        } else {
            return e;
        }
    }
}

/// Whether the key material of a PEM block is an example, not a key: filled with one
/// character, a counting sequence, or a placeholder word long enough not to occur by chance
/// in random base64 (the short ones `fake`, `todo`, `xxxx` do, in about one real key in a
/// hundred; `<` and `>` are the marks of a Markdown or e-mail quote around a real one).
pub(crate) fn pem_placeholder(secret: &[u8]) -> bool {
    let run = secret
        .split(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
        .filter(|r| r.len() >= PEM_MATERIAL)
        .flat_map(|r| r.iter().copied());
    let mut material: Vec<u8> = run.collect();
    if material.is_empty() {
        material = pem_material(secret).1;
    }
    crate::placeholder::is_placeholder_material(&material)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// base62 of a CRC32, left-padded with `0` to 6 characters (GitHub's token checksum).
pub fn github_checksum(random_part: &[u8]) -> String {
    let mut n = crc32fast::hash(random_part) as u64;
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

fn github_crc32_ok(secret: &[u8]) -> bool {
    let Some(us) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() != 36 {
        return false;
    }
    github_checksum(&body[..30]).as_bytes() == &body[30..]
}

/// The built-in Discord bot token regex (rules/discord.toml), whose places
/// [`discord_windows`] finds without running it over a whole buffer.
pub(crate) const DISCORD_REGEX: &str =
    r"([MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})";

/// Calls `f(start, end)` for each span of `data` that can hold a match of [`DISCORD_REGEX`]:
/// every match holds a `.`, six base64url characters and a `.`; it starts at most 26 bytes
/// before that first dot and ends at most 46 bytes after it. A look at each pair of dots seven
/// apart ([`crate::classify::dot_pairs`]), not a regex pass over every byte: the rule has no
/// keyword, so it would run on all text.
pub(crate) fn discord_windows(data: &[u8], mut f: impl FnMut(usize, usize)) {
    let url = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    crate::classify::dot_pairs(data, |i| {
        if data[i + 1..i + 7].iter().all(|&b| url(b)) {
            f(i.saturating_sub(26), (i + 46).min(data.len()));
        }
    });
}

fn discord_bot_ok(secret: &[u8]) -> bool {
    let first = secret.split(|&b| b == b'.').next().unwrap_or_default();
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    // Segment one may use the standard alphabet's characters too; normalise first.
    let norm: Vec<u8> = first
        .iter()
        .map(|&b| match b {
            b'+' => b'-',
            b'/' => b'_',
            x => x,
        })
        .collect();
    match engine.decode(&norm) {
        Ok(id) => id.len() >= 17 && id.len() <= 20 && id.iter().all(u8::is_ascii_digit),
        Err(_) => false,
    }
}

fn jwt_ok(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode = |s: &[u8]| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    };
    matches!(decode(h), Some(serde_json::Value::Object(m)) if m.contains_key("alg"))
        && matches!(decode(p), Some(serde_json::Value::Object(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum_round_trip() {
        let body = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1";
        let tok = format!("{}_{body}{}", "ghp", github_checksum(body.as_bytes()));
        assert!(Validator::GithubCrc32.check(tok.as_bytes()));
        let mut bad = tok.clone().into_bytes();
        bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
        assert!(!Validator::GithubCrc32.check(&bad));
    }

    /// The built-in rules, and the same rules with the Discord regex written another way (so
    /// it runs over whole buffers, as any keyword-less rule does); compiled once.
    fn shaped_and_whole() -> &'static (crate::Ruleset, crate::Ruleset) {
        static BOTH: std::sync::LazyLock<(crate::Ruleset, crate::Ruleset)> =
            std::sync::LazyLock::new(|| {
                let mut specs = crate::builtin::rules();
                for s in &mut specs {
                    if s.regex.as_deref() == Some(DISCORD_REGEX) {
                        s.regex = Some(format!("(?:{DISCORD_REGEX})"));
                    }
                }
                let cfg = vigil_core::config::Config::empty();
                let origin = crate::ruleset::ConfigRef {
                    config: &cfg,
                    prefix: "builtin.",
                };
                let whole =
                    crate::Ruleset::compile(specs, Vec::new(), &origin).expect("rules compile");
                (crate::Ruleset::builtin(), whole)
            });
        &BOTH
    }

    #[test]
    fn the_built_in_discord_rule_is_found_by_its_shape() {
        let (shaped, whole) = shaped_and_whole();
        let ids = |r: &crate::Ruleset| {
            r.rules
                .iter()
                .filter(|x| x.shaped)
                .map(|x| x.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(shaped), ["discord-bot-token"]);
        assert!(ids(whole).is_empty());
    }

    /// A Discord bot token from the rule's own template (third part 27 to 38 characters).
    fn discord_token(seed: u64) -> String {
        let template = format!(
            "«{{b64digits:18}}.{{b64url:6}}.{{b64url:{}}}»",
            27 + seed % 12
        );
        let ex = crate::examples::expand(&template, &mut crate::examples::Gen::new(seed))
            .expect("template");
        ex.text[ex.secret].to_owned()
    }

    proptest::proptest! {
        /// Around the places of its shape, the Discord rule finds what it finds over the whole
        /// buffer: tokens glued to text, dots and base64url around them, several on a line.
        #[test]
        fn discord_windows_find_what_a_whole_pass_finds(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    "[A-Za-z0-9_.\\-]{0,40}",
                    "[ \n.:=\"']{0,3}",
                    proptest::strategy::Strategy::prop_map(proptest::prelude::any::<u64>(), discord_token),
                ],
                0..8,
            )
        ) {
            let (shaped, whole) = shaped_and_whole();
            let text = parts.concat();
            let at = |r: &crate::Ruleset| {
                r.hits("x.txt", None, text.as_bytes())
                    .into_iter()
                    .map(|h| (r.rules[h.rule as usize].id.clone(), h.start, h.end))
                    .collect::<Vec<_>>()
            };
            proptest::prop_assert_eq!(at(shaped), at(whole), "{:?}", text);
        }
    }

    #[test]
    fn discord_first_segment_must_be_a_snowflake() {
        let id = base64::engine::general_purpose::STANDARD_NO_PAD.encode("123456789012345678");
        assert!(Validator::DiscordBot.check(format!("{id}.abcdef.rest").as_bytes()));
        let not = base64::engine::general_purpose::STANDARD_NO_PAD.encode("hello-world-abcdef");
        assert!(!Validator::DiscordBot.check(format!("{not}.abcdef.rest").as_bytes()));
    }
}
