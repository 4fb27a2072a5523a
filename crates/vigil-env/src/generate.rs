//! New secret values: uniform characters from a named alphabet, drawn from the OS CSPRNG
//! (`getrandom`) with rejection sampling, so no character is likelier than another.
//!
//! Each [`Kind`] of secret (told by its name) has a default length that passes every Vigil check
//! with margin: 64 alphanumerics (~381 bits) for JWT and other signing secrets, which
//! `token check-config`, the gateway and `token mint` hold to 256 bits; 48 (~286 bits) for every
//! other kind. A [`Generator`] refuses a length and alphabet that cannot reach a kind's floor, and
//! redraws the rare value Vigil's own checks would flag (one that happens to contain `xxx` reads
//! as a placeholder; one that happens to lack a character class scores lower).

use crate::check::{SHORT_LEN, WEAK_BITS};
use crate::rotate::is_placeholder;
use vigil_core::strength;

/// What a secret is for, told by its variable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A key that signs or verifies (`MCP_JWT_SECRET`, `*_SIGNING_KEY`, `*HMAC*`, `SECRET_KEY`).
    Signing,
    /// A webhook's shared secret (`WEBHOOK_SECRET_DEFAULT`).
    Webhook,
    /// A password (`DB_PASSWORD`, `REDIS_PASS`).
    Password,
    /// Any other shared token or key (`AUTH_TOKEN`, `ORCH_AUTH_TOKEN`, `API_KEY`).
    Token,
}

/// Entropy `token check-config` requires of a signing secret (32 random bytes); the gateway and
/// `token mint` hold signing secrets to the same rule.
pub const SIGNING_BITS: f64 = 256.0;

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Signing, Kind::Webhook, Kind::Password, Kind::Token];

    /// The kind of the variable `name`.
    pub fn of(name: &str) -> Kind {
        let n = name.to_ascii_uppercase();
        if n.contains("JWT")
            || n.contains("SIGNING")
            || n.contains("HMAC")
            || n == "SECRET_KEY"
            || n.ends_with("_SECRET_KEY")
        {
            Kind::Signing
        } else if n.contains("WEBHOOK") {
            Kind::Webhook
        } else if n.contains("PASSWORD") || n.contains("PASSWD") || n.ends_with("_PASS") {
            Kind::Password
        } else {
            Kind::Token
        }
    }

    /// A name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Signing => "signing secret",
            Kind::Webhook => "webhook secret",
            Kind::Password => "password",
            Kind::Token => "token",
        }
    }

    /// Default length, from [`DEFAULT_CHARSET`].
    pub fn default_length(self) -> usize {
        match self {
            Kind::Signing => 64,
            _ => crate::config::DEFAULT_LENGTH,
        }
    }

    /// The least entropy (by `vigil_core::strength::estimate_bits`) a value must have, and the
    /// check that asks for it.
    pub fn floor(self) -> (f64, &'static str) {
        match self {
            Kind::Signing => (
                SIGNING_BITS,
                "`vigil token check-config` requires 256 bits of a signing secret",
            ),
            _ => (WEAK_BITS, "`vigil env check` requires 100 bits"),
        }
    }
}

/// Default alphabet: letters and digits, read the same way by every .env dialect.
pub const DEFAULT_CHARSET: &str = "alnum";

/// Why no value can be made.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The length and alphabet cannot reach the kind's floor.
    #[error("{name} would get {length} characters from a {alphabet}-character alphabet, about {bits:.0} bits, and {rule}; use --length {need} or more (the default for a {kind} is {default})")]
    TooWeak {
        /// Variable.
        name: String,
        /// Length asked for.
        length: usize,
        /// Alphabet size.
        alphabet: usize,
        /// Its entropy.
        bits: f64,
        /// The check.
        rule: &'static str,
        /// A length that works.
        need: usize,
        /// The kind.
        kind: &'static str,
        /// The kind's default length.
        default: usize,
    },
    /// No draw passed the checks (only a length barely at the floor can get here).
    #[error("{name}: no value of {length} characters drawn passed Vigil's own checks; use a longer --length")]
    Exhausted {
        /// Variable.
        name: String,
        /// Length.
        length: usize,
    },
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
}

/// Lengths a new value may have.
pub const LENGTHS: std::ops::RangeInclusive<usize> = 16..=4096;

/// A `--length` or `--charset` (or `[env] length`, `charset`) that cannot be used; the caller
/// says where it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A length outside [`LENGTHS`].
    #[error("{0} is outside 16..=4096 (48 or more is recommended)")]
    Length(usize),
    /// A custom charset of fewer than two characters.
    #[error("a custom charset needs at least 2 distinct characters")]
    TooFewCharacters,
    /// A character .env dialects read differently.
    #[error("character `{0}` is not allowed in a custom charset (quotes, #, $, \\, `, = and non-printable characters are read differently by .env dialects)")]
    Character(char),
    /// A name that is not in [`CHARSETS`].
    #[error("unknown charset `{name}` (known: {known}, or custom:CHARS)")]
    Unknown {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
}

/// Checks a length for new values.
pub fn length(n: usize) -> Result<usize, SpecError> {
    if LENGTHS.contains(&n) {
        Ok(n)
    } else {
        Err(SpecError::Length(n))
    }
}

/// Whether a new value passes every check Vigil runs on it: not a known default or a
/// placeholder, at least [`SHORT_LEN`] characters, and at least `floor` bits of estimated
/// entropy (see [`Generator::floor`]).
pub fn acceptable(floor: f64, value: &str, placeholder: &str) -> bool {
    value.len() >= SHORT_LEN
        && !strength::is_known_default(value)
        && !is_placeholder(value, placeholder)
        && strength::estimate_bits(value) >= floor
}

/// Makes new values: the user's `--length`/`--charset` (or `[env]`) when given, else each kind's
/// default.
#[derive(Debug, Clone)]
pub struct Generator {
    length: Option<usize>,
    alphabet: Vec<u8>,
    placeholder: String,
}

impl Generator {
    /// A generator; `length` overrides every kind's default, `alphabet` (from [`charset`]) the
    /// default alphanumerics.
    pub fn new(length: Option<usize>, alphabet: Option<Vec<u8>>, placeholder: &str) -> Self {
        Generator {
            length,
            alphabet: alphabet
                .unwrap_or_else(|| charset(DEFAULT_CHARSET).expect("the default charset exists")),
            placeholder: placeholder.to_owned(),
        }
    }

    /// The length and alphabet size a new value of `name` gets.
    pub fn spec(&self, name: &str) -> (usize, usize) {
        (
            self.length
                .unwrap_or_else(|| Kind::of(name).default_length()),
            self.alphabet.len(),
        )
    }

    /// The entropy (by `vigil_core::strength::estimate_bits`) a drawn value of `name` must
    /// score: its kind's floor, and the signing floor too whenever the length and alphabet reach
    /// it with a twentieth to spare. A rotated password or token is often pasted where a signing
    /// or gateway secret is read, and those checks ask 256 bits; at the defaults (48 of 62
    /// characters, 286 bits) an unlucky draw (no digit and a keyboard walk) can score under 256,
    /// about once in ten thousand, and is drawn again.
    pub fn floor(&self, name: &str) -> f64 {
        let kind = Kind::of(name);
        let (length, n) = self.spec(name);
        let floor = kind.floor().0.max(WEAK_BITS);
        if bits(n, length) >= SIGNING_BITS * 1.05 {
            floor.max(SIGNING_BITS)
        } else {
            floor
        }
    }

    /// A new value for `name`.
    pub fn value(&self, name: &str) -> Result<String, GenError> {
        let kind = Kind::of(name);
        let (length, n) = self.spec(name);
        let (floor, rule) = kind.floor();
        let per = (n as f64).log2();
        let nominal = bits(n, length);
        if nominal < floor {
            return Err(GenError::TooWeak {
                name: name.to_owned(),
                length,
                alphabet: n,
                bits: nominal,
                rule,
                need: (floor / per).ceil() as usize + 1,
                kind: kind.label(),
                default: kind.default_length(),
            });
        }
        let floor = self.floor(name);
        for _ in 0..256 {
            let v = generate(&self.alphabet, length).map_err(GenError::Random)?;
            if acceptable(floor, &v, &self.placeholder) {
                return Ok(v);
            }
        }
        Err(GenError::Exhausted {
            name: name.to_owned(),
            length,
        })
    }
}

/// The alphabets `--charset` names.
pub const CHARSETS: &[(&str, &str)] = &[
    (
        "alnum",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("hex", "0123456789abcdef"),
    (
        "base64url",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    ),
    ("lower", "abcdefghijklmnopqrstuvwxyz0123456789"),
];

/// Resolves `--charset`: a name from [`CHARSETS`], or `custom:` followed by the characters
/// (printable ASCII, no quote, `#`, `$`, `\`, space, backtick or `=`, which .env dialects read
/// differently).
pub fn charset(spec: &str) -> Result<Vec<u8>, SpecError> {
    if let Some((_, chars)) = CHARSETS.iter().find(|(n, _)| *n == spec) {
        return Ok(chars.as_bytes().to_vec());
    }
    if let Some(custom) = spec.strip_prefix("custom:") {
        // Judged as characters, so the error names the character given (`é`, not a byte of it).
        if let Some(bad) = custom
            .chars()
            .find(|c| !c.is_ascii_graphic() || "'\"#$\\`=".contains(*c))
        {
            return Err(SpecError::Character(bad));
        }
        let mut set: Vec<u8> = custom.bytes().collect();
        set.sort_unstable();
        set.dedup();
        if set.len() < 2 {
            return Err(SpecError::TooFewCharacters);
        }
        if let Some(bad) = set
            .iter()
            .find(|b| !b.is_ascii_graphic() || b"'\"#$\\`=".contains(b))
        {
            return Err(SpecError::Character(*bad as char));
        }
        return Ok(set);
    }
    let names: Vec<&str> = CHARSETS.iter().map(|(n, _)| *n).collect();
    Err(SpecError::Unknown {
        name: spec.to_owned(),
        known: names.join(", "),
    })
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 characters).
pub fn generate(alphabet: &[u8], len: usize) -> Result<String, getrandom::Error> {
    assert!(
        (2..=256).contains(&alphabet.len()),
        "alphabet of 2 to 256 characters"
    );
    let n = alphabet.len();
    // Largest multiple of n that fits in a byte: bytes at or above it are redrawn.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % n] as char);
            }
        }
    }
    Ok(out)
}

/// Entropy of a generated value in bits.
pub fn bits(alphabet_len: usize, len: usize) -> f64 {
    len as f64 * (alphabet_len as f64).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_length_and_alphabet_asked_for() {
        let set = charset("hex").unwrap();
        let v = generate(&set, 64).unwrap();
        assert_eq!(v.len(), 64);
        assert!(v.bytes().all(|b| set.contains(&b)));
        assert_ne!(v, generate(&set, 64).unwrap());
    }

    #[test]
    fn every_character_is_drawn_about_equally() {
        let set = charset("alnum").unwrap();
        let v = generate(&set, 62_000).unwrap();
        let mut counts = [0usize; 256];
        for b in v.bytes() {
            counts[b as usize] += 1;
        }
        for &c in &set {
            let k = counts[c as usize];
            assert!(
                (800..1200).contains(&k),
                "{} drawn {k} times of ~1000",
                c as char
            );
        }
    }

    #[test]
    fn kinds_by_name_and_floors() {
        assert_eq!(Kind::of("MCP_JWT_SECRET"), Kind::Signing);
        assert_eq!(Kind::of("MCP_JWT_SECRET_PREVIOUS"), Kind::Signing);
        assert_eq!(Kind::of("WEBHOOK_SECRET_DEFAULT"), Kind::Webhook);
        assert_eq!(Kind::of("DB_PASSWORD"), Kind::Password);
        assert_eq!(Kind::of("ORCH_AUTH_TOKEN"), Kind::Token);
        let g = Generator::new(Some(32), None, "change-me");
        let e = g.value("MCP_JWT_SECRET").unwrap_err().to_string();
        assert!(e.contains("256 bits") && e.contains("--length 44"), "{e}");
        assert_eq!(g.value("AUTH_TOKEN").unwrap().len(), 32);
        let g = Generator::new(Some(16), Some(charset("hex").unwrap()), "change-me");
        assert!(g.value("AUTH_TOKEN").is_err());
        let g = Generator::new(None, None, "change-me");
        assert_eq!(g.value("MCP_JWT_SECRET").unwrap().len(), 64);
        assert_eq!(g.value("AUTH_TOKEN").unwrap().len(), 48);
    }

    #[test]
    fn a_draw_that_reaches_the_signing_floor_must_score_it() {
        let defaults = Generator::new(None, None, "change-me");
        for name in ["DB_PASSWORD", "ORCH_AUTH_TOKEN", "WEBHOOK_SECRET_DEFAULT"] {
            assert_eq!(defaults.floor(name), SIGNING_BITS, "{name}");
        }
        // 20 alphanumerics (119 bits) cannot reach it: the kind's own floor holds.
        assert_eq!(
            Generator::new(Some(20), None, "change-me").floor("DB_PASSWORD"),
            WEAK_BITS
        );
        // 48 lowercase letters score about 226 bits: enough for `env check`, not for a
        // signing secret, so a default-length draw like it is refused.
        let letters = generate(b"abcdefghijklmnopqrstuvwxyz", 48).unwrap();
        let scored = strength::estimate_bits(&letters);
        assert!((WEAK_BITS..SIGNING_BITS).contains(&scored), "{scored}");
        assert!(acceptable(WEAK_BITS, &letters, "change-me"));
        assert!(!acceptable(
            defaults.floor("DB_PASSWORD"),
            &letters,
            "change-me"
        ));
    }

    #[test]
    fn charsets_are_checked() {
        assert!(charset("custom:ab").is_ok());
        assert!(charset("custom:a").is_err());
        assert!(charset("custom:ab#")
            .unwrap_err()
            .to_string()
            .contains("`#`"));
        assert!(charset("custom:aé")
            .unwrap_err()
            .to_string()
            .contains("`é`"));
        assert!(charset("emoji")
            .unwrap_err()
            .to_string()
            .contains("known: alnum"));
        assert!(length(8)
            .unwrap_err()
            .to_string()
            .starts_with("8 is outside"));
    }
}
