//! Rule examples as templates: `{alnum:36}`, `{ghcrc}`, `{jwt}`... expand to token-shaped strings
//! at test time, so no real-looking secret is ever stored in this repository. `«…»` marks the
//! part a rule must report.

use base64::Engine;

/// A small deterministic generator (xorshift64*) for test data. Not for secrets.
pub struct Gen(u64);

impl Gen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Gen(seed | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` characters drawn from `alphabet`.
    pub fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next_u64() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// The character classes templates may name.
pub fn class(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "alnum" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "alpha" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "hex" => b"0123456789abcdef",
        "HEX" => b"0123456789ABCDEF",
        "digits" => b"0123456789",
        "b64url" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        "b64" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "lowernum" => b"abcdefghijklmnopqrstuvwxyz0123456789",
        "lower" => b"abcdefghijklmnopqrstuvwxyz",
        "upper32" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "uppernum" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "bech32" => b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
        _ => return None,
    })
}

/// An expanded example: the text, and the byte range of the expected secret.
#[derive(Debug, Clone)]
pub struct Example {
    /// The generated line(s).
    pub text: String,
    /// Where the expected secret is.
    pub secret: std::ops::Range<usize>,
}

/// If `rest` starts with `{name}` or `{name:N}`, the index of its `}`.
fn template_end(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('{')?;
    let close = inner.find('}')?;
    let spec = &inner[..close];
    let (name, n) = spec.split_once(':').unwrap_or((spec, "0"));
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
        && n.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(close + 1)
}

/// A template that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name:N}` whose `N` is not a number.
    #[error("bad length in {{{0}}}")]
    Length(String),
    /// `{name}` that names no generator or character class.
    #[error("unknown template {{{0}}}")]
    Unknown(String),
    /// `{ghcrc}` without a `prefix_` before it.
    #[error("{{ghcrc}} needs a prefix ending in _")]
    ChecksumPrefix,
    /// A `«` without `»`, or the other way round.
    #[error("unbalanced « »")]
    Unbalanced,
}

/// Expands a template. Errors name the unknown placeholder.
pub fn expand(template: &str, gen: &mut Gen) -> Result<Example, TemplateError> {
    let mut out = String::new();
    let (mut s, mut e) = (None, None);
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('«') {
            s = Some(out.len());
            rest = r;
        } else if let Some(r) = rest.strip_prefix('»') {
            e = Some(out.len());
            rest = r;
        } else if let Some(close) = template_end(rest) {
            let spec = &rest[1..close];
            rest = &rest[close + 1..];
            let (name, n) = match spec.split_once(':') {
                Some((a, b)) => (
                    a,
                    b.parse::<usize>()
                        .map_err(|_| TemplateError::Length(spec.to_owned()))?,
                ),
                None => (spec, 0),
            };
            match name {
                "ghcrc" => {
                    let us = out.rfind('_').ok_or(TemplateError::ChecksumPrefix)?;
                    let body = &out[us + 1..];
                    let tail = &body[body.len().saturating_sub(30)..];
                    let sum = crate::validate::github_checksum(tail.as_bytes());
                    out.push_str(&sum);
                }
                "b64digits" => {
                    let digits = format!("{}", 1 + gen.next_u64() % 9)
                        + &gen.pick(b"0123456789", n.saturating_sub(1));
                    out.push_str(
                        &base64::engine::general_purpose::STANDARD_NO_PAD
                            .encode(digits)
                            .replace(['+', '/'], "A"),
                    );
                }
                "jwt" => {
                    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                    let header = b.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
                    let claims = format!(
                        r#"{{"sub":"{}","aud":"filesystem","exp":{}}}"#,
                        gen.pick(class("alnum").expect("class"), 12),
                        1_700_000_000 + gen.next_u64() % 100_000_000
                    );
                    let sig = gen.pick(class("b64url").expect("class"), 43);
                    out.push_str(&format!("{header}.{}.{sig}", b.encode(claims)));
                }
                "pem" => {
                    let alpha = class("b64").expect("class");
                    let lines: Vec<String> = (0..8).map(|_| gen.pick(alpha, 64)).collect();
                    out.push_str(&lines.join("\n"));
                }
                _ => {
                    let alpha =
                        class(name).ok_or_else(|| TemplateError::Unknown(spec.to_owned()))?;
                    out.push_str(&gen.pick(alpha, n));
                }
            }
        } else {
            let ch = rest.chars().next().expect("non-empty");
            // `\n` in a TOML basic string is already a newline; nothing to do here.
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
        }
    }
    let secret = match (s, e) {
        (Some(a), Some(b)) => a..b,
        (None, None) => 0..out.len(),
        _ => return Err(TemplateError::Unbalanced),
    };
    Ok(Example { text: out, secret })
}
