//! `vigil token check-config`: the design's "JWT configuration compliance" gate. Each
//! environment (its `.env` files, placed by vigil-env's environment model, see
//! [`crate::environments`], or the process environment) must hold a strong, non-default secret
//! of its own; the services (files) of one environment may share it; production must not switch
//! authentication off; the policy's lifetimes must stay within bounds. Problems name variables
//! and environments, never values.

use crate::config::{TokenSection, POLICY_MAX_TTL};
use serde::Serialize;
use std::collections::BTreeMap;
use vigil_core::strength;
use vigil_core::Secret;

/// Entropy a signing secret must reach: 32 random bytes.
pub const MIN_SECRET_BITS: f64 = 256.0;
/// Longest leeway accepted.
pub const MAX_LEEWAY: u64 = 300;

/// The variables of one source of an environment: one of its files, or the process
/// environment. Several sources may carry the same environment `name` (its services).
#[derive(Debug)]
pub struct Environment {
    /// `production`, `staging`, `process`…
    pub name: String,
    /// Where it was read from (a file path or `process environment`).
    pub origin: String,
    /// Whether production rules apply.
    pub production: bool,
    /// The variables (a key bound twice: its last binding, as python-dotenv reads it).
    pub vars: BTreeMap<String, Secret<String>>,
    /// Earlier bindings of keys bound again later in the same file (dotenvy and docker compose
    /// run with the first one): judged like the last.
    pub earlier: Vec<(String, Secret<String>)>,
}

/// What kind of compliance problem: a stable code, serialized as its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// No source of an environment sets the signing secret.
    SecretMissing,
    /// The signing secret has too little entropy.
    SecretWeak,
    /// The signing secret is a well-known default.
    SecretDefault,
    /// Two environments share one signing secret.
    SecretShared,
    /// The previous secret equals the current one.
    PreviousEqualsCurrent,
    /// Authentication is switched off in production.
    DevBypass,
    /// `[token] max_ttl` above the policy's ceiling.
    MaxTtl,
    /// `[token] leeway` above [`MAX_LEEWAY`].
    Leeway,
    /// `[token] issuer` or an audience holds an environment's signing secret (tester 155): it
    /// would be written into every token.
    SecretInClaims,
}

impl Code {
    /// Every code.
    pub const ALL: [Code; 9] = [
        Code::SecretMissing,
        Code::SecretWeak,
        Code::SecretDefault,
        Code::SecretShared,
        Code::PreviousEqualsCurrent,
        Code::DevBypass,
        Code::MaxTtl,
        Code::Leeway,
        Code::SecretInClaims,
    ];

    /// The stable name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::SecretMissing => "secret_missing",
            Code::SecretWeak => "secret_weak",
            Code::SecretDefault => "secret_default",
            Code::SecretShared => "secret_shared",
            Code::PreviousEqualsCurrent => "previous_equals_current",
            Code::DevBypass => "dev_bypass",
            Code::MaxTtl => "max_ttl",
            Code::Leeway => "leeway",
            Code::SecretInClaims => "secret_in_claims",
        }
    }

    /// What the check finds, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Code::SecretMissing => "An environment does not set the JWT signing secret",
            Code::SecretWeak => "The JWT signing secret has under 256 bits of entropy",
            Code::SecretDefault => "The JWT signing secret is a well-known default",
            Code::SecretShared => "Two environments share one JWT signing secret",
            Code::PreviousEqualsCurrent => "The previous JWT secret equals the current one",
            Code::DevBypass => "Authentication is switched off in production",
            Code::MaxTtl => "Tokens may live longer than the policy's one day",
            Code::Leeway => "The clock leeway keeps expired tokens usable",
            Code::SecretInClaims => "The token issuer or an audience holds the signing secret",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One compliance problem.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub code: Code,
    /// The environment, or `vigil.toml` for policy problems.
    pub environment: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// The problems as a [`vigil_report::Report`] of `token check-config`, every code listed as a
/// rule. Each points at its environment and, when one file holds that environment, at the file
/// (SARIF's physical location, the CSV `file` column); policy problems point at `vigil.toml`.
pub fn report(problems: &[Problem], envs: &[Environment]) -> vigil_report::Report {
    use vigil_report::{Diagnostic, Location, Report, RuleMeta, Severity, Tool};
    let mut r = Report::new(Tool::new("token check-config", env!("CARGO_PKG_VERSION")));
    r.rules = Code::ALL
        .iter()
        .map(|c| RuleMeta::new(c.as_str(), c.description()))
        .collect();
    r.diagnostics = problems
        .iter()
        .map(|p| {
            let mut files = envs
                .iter()
                .filter(|e| e.name == p.environment && e.origin != "the process environment")
                .map(|e| e.origin.as_str());
            let mut at = Location::scope(p.environment.clone());
            match (files.next(), files.next()) {
                (Some(file), None) => at.path = Some(file.to_owned()),
                _ if p.environment == "vigil.toml" => at.path = Some("vigil.toml".into()),
                _ => {}
            }
            Diagnostic::new(p.code.as_str(), Severity::Error, at, p.message.clone())
        })
        .collect();
    r
}

/// Whether an environment name means production under the section's rules.
pub fn is_production(name: &str, section: &TokenSection) -> bool {
    // vigil-env's rule, so `env check` and `check-config` agree: `production` always is.
    vigil_env::config::is_production(name, section.production.as_deref())
}

/// Runs every check.
pub fn check(envs: &[Environment], section: &TokenSection) -> Vec<Problem> {
    let mut out = Vec::new();
    let secret = section.secret_env();
    let previous = section.previous_env();
    let has_keys = !section.keys.is_empty() || section.jwks.is_some();
    let mut push = |code, environment: &str, message: String| {
        out.push(Problem {
            code,
            environment: environment.to_owned(),
            message,
        })
    };
    for env in envs {
        let value = env
            .vars
            .get(secret)
            .map(|s| s.expose_secret().as_str())
            .filter(|v| !v.is_empty());
        match value {
            // Missing only when no source of the environment sets it (a service that does not
            // verify tokens need not hold the secret); said once per environment.
            None if !has_keys
                && !envs.iter().any(|e| {
                    e.name == env.name
                        && e.vars
                            .get(secret)
                            .is_some_and(|v| !v.expose_secret().is_empty())
                })
                && envs.iter().find(|e| e.name == env.name).map(|e| &e.origin)
                    == Some(&env.origin) =>
            {
                let origins: Vec<&str> = envs
                    .iter()
                    .filter(|e| e.name == env.name)
                    .map(|e| e.origin.as_str())
                    .collect();
                push(
                    Code::SecretMissing,
                    &env.name,
                    format!("{secret} is not set in {}", origins.join(", ")),
                )
            }
            None => {}
            Some(v) => {
                if let Some((code, message)) = strength_problem(secret, v) {
                    push(code, &env.name, message);
                }
                if env
                    .vars
                    .get(previous)
                    .is_some_and(|p| p.expose_secret() == v)
                {
                    push(
                        Code::PreviousEqualsCurrent,
                        &env.name,
                        format!(
                            "{previous} equals {secret} (the rotation did not change the secret)"
                        ),
                    );
                }
            }
        }
        // The previous secret still verifies tokens: it is judged like the current one.
        if let Some(p) = env
            .vars
            .get(previous)
            .map(|s| s.expose_secret().as_str())
            .filter(|v| !v.is_empty())
        {
            if let Some((code, message)) = strength_problem(previous, p) {
                push(code, &env.name, message);
            }
        }
        // A key bound twice: loaders that keep the first binding run with the earlier one.
        for (var, v) in &env.earlier {
            let v = v.expose_secret();
            if (var == secret || var == previous) && !v.is_empty() {
                if let Some((code, message)) = strength_problem(var, v) {
                    push(
                        code,
                        &env.name,
                        format!("{message} (in {}, a binding a later one overrides: loaders that keep the first run with it)", env.origin),
                    );
                }
            }
        }
        if env.production {
            for flag in section.dev_bypass() {
                let on = |v: &Secret<String>| strength::maybe_on(v.expose_secret());
                if env.vars.get(&flag).is_some_and(on)
                    || env.earlier.iter().any(|(k, v)| *k == flag && on(v))
                {
                    push(
                        Code::DevBypass,
                        &env.name,
                        format!("{flag} is on in a production environment: authentication is switched off"),
                    );
                }
            }
        }
    }
    // The same verifying secret (current or previous) in two environments: a token signed for
    // one is accepted by the other, and a leak in one opens the other.
    let mut by_value: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    for env in envs {
        for var in [secret, previous] {
            let Some(v) = env
                .vars
                .get(var)
                .map(|s| s.expose_secret().as_str())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            match by_value.iter_mut().find(|(val, _)| *val == v) {
                // The services of one environment share its secret: count environments.
                Some((_, places)) if places.iter().any(|(e, n)| *e == env.name && *n == var) => {}
                Some((_, places)) => places.push((&env.name, var)),
                None => by_value.push((v, vec![(&env.name, var)])),
            }
        }
    }
    for (_, places) in &by_value {
        let mut names: Vec<&str> = places.iter().map(|(e, _)| *e).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() < 2 {
            continue;
        }
        let mut vars: Vec<&str> = places.iter().map(|(_, v)| *v).collect();
        vars.sort_unstable();
        vars.dedup();
        let message = if vars.len() == 1 {
            format!(
                "{} has the same value in {}: give each environment its own",
                vars[0],
                names.join(", ")
            )
        } else {
            let list: Vec<String> = places.iter().map(|(e, v)| format!("{v} of {e}")).collect();
            format!(
                "one value verifies tokens in {} ({}): a token signed for one is accepted by the other; give each environment its own",
                names.join(", "),
                list.join(", ")
            )
        };
        push(Code::SecretShared, places[0].0, message);
    }
    let max_ttl = section
        .max_ttl
        .map(|d| d.as_secs())
        .unwrap_or(POLICY_MAX_TTL);
    if max_ttl > POLICY_MAX_TTL {
        push(
            Code::MaxTtl,
            "vigil.toml",
            format!("[token] max_ttl is {max_ttl}s, above the policy's {POLICY_MAX_TTL}s (1 day)"),
        );
    }
    let leeway = section.leeway.map(|d| d.as_secs()).unwrap_or(30);
    if leeway > MAX_LEEWAY {
        push(
            Code::Leeway,
            "vigil.toml",
            format!("[token] leeway is {leeway}s, above {MAX_LEEWAY}s: expired tokens stay usable"),
        );
    }
    // The issuer and audiences are written into every token, which whoever holds it reads.
    for env in envs {
        for var in [secret, previous] {
            let Some(v) = env.vars.get(var).map(|s| s.expose_secret().as_str()) else {
                continue;
            };
            if v.len() < 8 {
                continue;
            }
            let held = section.issuer.iter().any(|i| i.contains(v))
                || section.audiences.iter().flatten().any(|a| a.contains(v));
            if held {
                push(
                    Code::SecretInClaims,
                    &env.name,
                    format!("[token] issuer or audiences hold the value of {var}: it would be written into every token"),
                );
            }
        }
    }
    // Two services of one environment with the same weakness say it once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert((p.code, p.environment.clone(), p.message.clone())));
    out
}

/// The strength problem of the verifying secret `var` (current or previous), if any; the
/// message names the variable, never the value.
fn strength_problem(var: &str, v: &str) -> Option<(Code, String)> {
    let w = secret_weakness(v)?;
    let code = match w.root() {
        Weakness::Default => Code::SecretDefault,
        _ => Code::SecretWeak,
    };
    Some((code, format!("{var} {w} ({GENERATE_HINT})")))
}

/// The one remediation every weak-secret message gives (mint, verify, check-config, the gateway).
pub const GENERATE_HINT: &str = "generate one: openssl rand -base64 48";

/// Why a signing secret is not good enough. Never holds the value.
#[derive(Debug, Clone, PartialEq)]
pub enum Weakness {
    /// One of the well-known defaults (`changeme`, `password123`…).
    Default,
    /// Under [`MIN_SECRET_BITS`] of estimated entropy.
    Weak {
        /// The estimate.
        bits: f64,
    },
    /// The base64 or hex encoding of text that is weak: an encoding adds no secret to a phrase
    /// (tester 153: base64 of a refused default passed as random).
    Encoded {
        /// `base64` or `hex`.
        encoding: &'static str,
        /// Why the text is weak.
        text: Box<Weakness>,
    },
}

impl Weakness {
    /// The `check-config` problem code: `secret_default` or `secret_weak`.
    pub fn code(&self) -> &'static str {
        match self.root() {
            Weakness::Default => "secret_default",
            _ => "secret_weak",
        }
    }

    /// The weakness of the text under every encoding.
    fn root(&self) -> &Weakness {
        match self {
            Weakness::Encoded { text, .. } => text.root(),
            w => w,
        }
    }
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Weakness::Default => f.write_str("is a well-known default value"),
            Weakness::Weak { bits } => write!(
                f,
                "has about {:.0} bits of entropy, under {MIN_SECRET_BITS:.0}",
                bits.max(0.0).abs()
            ),
            Weakness::Encoded { encoding, text } => {
                write!(f, "is the {encoding} encoding of text that {text}")
            }
        }
    }
}

/// The strength rule [`check`] applies to a signing secret (`secret_default`, `secret_weak`),
/// for the commands that use a secret (`token mint`, the gateway) to apply it too.
/// A value that decodes (hex, or base64 of either alphabet) to text is judged as that text too.
pub fn secret_weakness(value: &str) -> Option<Weakness> {
    judged(value, 2)
}

fn judged(value: &str, depth: u8) -> Option<Weakness> {
    if strength::is_known_default(value) || strength::is_digest_of_default(value) {
        return Some(Weakness::Default);
    }
    let bits = strength::estimate_bits(value).min(phrase_bits(value));
    if bits < MIN_SECRET_BITS {
        return Some(Weakness::Weak { bits });
    }
    // Encoded text is judged as that text first, so the refusal says what it encodes.
    if let Some((encoding, text)) = decoded_text(value).filter(|_| depth > 0) {
        if let Some(w) = judged(&text, depth - 1) {
            return Some(Weakness::Encoded {
                encoding,
                text: Box::new(w),
            });
        }
    }
    // Then as words run together, without what it repeats, without woven walks (tester 158:
    // `mysupersecretkey` three times and `12`, CamelCase sentences, `a1b2c3…`).
    let bits = strength::glued_words_bits(value)
        .min(strength::estimate_bits(&strength::without_repeats(value)))
        .min(strength::estimate_bits(&strength::without_woven_walks(
            value,
        )));
    if bits < MIN_SECRET_BITS {
        return Some(Weakness::Weak { bits });
    }
    // Bytes in a row (`000102…1f`, `base64` of bytes 0–47) are no random key.
    let bits = strength::byte_bits(&decoded_bytes(value)?);
    (bits < MIN_SECRET_BITS).then_some(Weakness::Weak { bits })
}

/// Bits of `value` read as a phrase of words (tester 154: `The quick brown fox jumps over the
/// lazy dog` scored as random characters; tester 155: the same three times, and Supabase's
/// `your-super-secret-jwt-token-with-at-least-32-characters-long`): pieces between spaces,
/// `-` and `_`; each distinct word (up to 12 letters, lower case or capitalised, punctuation
/// around it dropped; a word again adds nothing) counts 13 bits, what a word drawn from a
/// 7,776-word list carries, any other piece its own estimate. Infinite unless at least three
/// pieces, and half of them, are words. Text of the printers' filler (`lorem ipsum`) counts
/// nothing.
fn phrase_bits(value: &str) -> f64 {
    if value.to_ascii_lowercase().contains("lorem ipsum") {
        return 0.0;
    }
    let pieces: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|p| !p.is_empty())
        .collect();
    if pieces.len() < 3 {
        return f64::INFINITY;
    }
    let mut words = std::collections::HashSet::new();
    let mut bits = 0.0;
    let mut word_pieces = 0;
    let n = pieces.len();
    for p in pieces {
        let w = p.trim_matches(|c: char| c.is_ascii_punctuation());
        let mut chars = w.chars();
        let word = w.chars().count() <= 12
            && chars.next().is_some_and(char::is_alphabetic)
            && chars.all(char::is_lowercase);
        if word {
            word_pieces += 1;
            if words.insert(w.to_lowercase()) {
                bits += 13.0;
            }
        } else {
            bits += strength::estimate_bits(p);
        }
    }
    // Mostly words, or it is not a phrase: a random base64url secret's pieces between its `-`
    // and `_` are seldom words, and each alone scores less than the whole.
    if word_pieces < 3 || word_pieces * 2 < n {
        return f64::INFINITY;
    }
    bits
}

/// The bytes `value` decodes to, when it is hex or base64 (standard or URL-safe, padded or
/// not, wrapped, with a `base64:`, `hex:` or `0x` prefix), of 16 characters or more.
fn decoded_bytes(value: &str) -> Option<Vec<u8>> {
    decoded(value).map(|(_, b)| b)
}

/// The encoding (`hex`, `base64`) and bytes of `value`, as [`decoded_bytes`] reads it.
fn decoded(value: &str) -> Option<(&'static str, Vec<u8>)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    // Wrapped as `base64` and `xxd -p` print it (76 and 60 columns), and with a `base64:`
    // prefix (Laravel's `APP_KEY`) or `0x`: the same bytes (tester 154).
    let joined: String = value.split_ascii_whitespace().collect();
    let v = joined.as_str();
    let v = ["base64:", "hex:", "0x"]
        .iter()
        .find_map(|p| {
            v.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| &v[p.len()..])
        })
        .unwrap_or(v);
    if v.len() < 16 {
        return None;
    }
    let (encoding, bytes) = if v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
        let bytes = v
            .as_bytes()
            .chunks(2)
            .map(|p| digit(p[0]) << 4 | digit(p[1]))
            .collect();
        ("hex", bytes)
    } else {
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|e| e.decode(v).ok())?;
        ("base64", bytes)
    };
    Some((encoding, bytes))
}

/// What `value` decodes to when it is hex or base64 (see [`decoded`]) of text: UTF-8 without
/// controls but tab and line ends. Random bytes (`openssl rand -base64 48`) are no text and
/// give `None`.
fn decoded_text(value: &str) -> Option<(&'static str, String)> {
    let (encoding, bytes) = decoded(value)?;
    let text = String::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .then_some((encoding, text))
}

/// An HMAC secret too weak to sign or verify with, named by where it came from (a variable or
/// a key file); the value is never part of it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{source_name} {weakness} ({GENERATE_HINT})")]
pub struct WeakSecret {
    /// The variable (`MCP_JWT_SECRET`) or file the secret came from.
    pub source_name: String,
    /// Why it is weak.
    pub weakness: Weakness,
}

/// Applies the strength rule to `keys`: the first weak HMAC secret is an error unless
/// `allow_weak`, in which case every weak one is returned for the caller to warn about.
pub fn refuse_weak<'k>(
    keys: impl IntoIterator<Item = &'k crate::Key>,
    allow_weak: bool,
) -> Result<Vec<WeakSecret>, WeakSecret> {
    let mut weak = Vec::new();
    for k in keys {
        if let Some(w) = k.weakness() {
            let found = WeakSecret {
                source_name: k.label.clone(),
                weakness: w.clone(),
            };
            if !allow_weak {
                return Err(found);
            }
            weak.push(found);
        }
    }
    Ok(weak)
}

#[cfg(test)]
mod strength_tests {
    use super::*;

    fn env(value: &str) -> Environment {
        Environment {
            name: "production".into(),
            origin: ".env.production".into(),
            production: true,
            earlier: Vec::new(),
            vars: [("MCP_JWT_SECRET".to_owned(), Secret::from(value))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn the_secret_rule_is_the_check_config_rule() {
        // 48 distinct characters of a 62-letter alphabet, built here (no literal secret).
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let strong: String = (0..48)
            .map(|i| alphabet[(i * 37 + 11) % 62] as char)
            .collect();
        let strong = strong.as_str();
        for v in [
            "changeme",
            "a",
            "        ",
            "password123",
            "CHANGEME",
            "abcabcabcabcabcabcabcabcabcabc",
            strong,
        ] {
            let mine = secret_weakness(v).map(|w| w.code());
            let theirs: Vec<&str> = check(&[env(v)], &TokenSection::default())
                .into_iter()
                .map(|p| p.code.as_str())
                .filter(|c| c.starts_with("secret_"))
                .collect();
            assert_eq!(mine.into_iter().collect::<Vec<_>>(), theirs, "{v:?}");
        }
        assert!(secret_weakness(strong).is_none());
    }

    #[test]
    fn an_encoding_of_weak_text_is_weak_and_random_bytes_are_not() {
        use base64::Engine as _;
        let b64 = |t: &[u8]| base64::engine::general_purpose::STANDARD.encode(t);
        let hex = |t: &[u8]| t.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let phrase = ["my super secret jwt", " signing key 2024!"].concat();
        let phrase = phrase.as_bytes();
        for v in [
            b64(phrase),
            hex(phrase),
            b64(b"password password password password"),
            b64(b64(phrase).as_bytes()),
        ] {
            let w = secret_weakness(&v).unwrap_or_else(|| panic!("{v}"));
            assert!(matches!(w, Weakness::Encoded { .. }), "{v}: {w}");
            assert!(w.to_string().starts_with("is the "), "{w}");
        }
        // Wrapped as `base64` prints it, or with a prefix; a phrase of words.
        let long = "a".repeat(80);
        let wrapped = b64(long.as_bytes());
        let wrapped = format!("{}\n{}\n", &wrapped[..76], &wrapped[76..]);
        assert!(secret_weakness(&wrapped).is_some());
        assert!(secret_weakness(&format!("base64:{}", b64(long.as_bytes()))).is_some());
        let pangram = ["The quick brown fox jumps", " over the lazy dog"].concat();
        assert!(matches!(
            secret_weakness(&pangram),
            Some(Weakness::Weak { .. })
        ));
        let thrice = [pangram.as_str(), &pangram, &pangram].concat();
        assert!(secret_weakness(&thrice).is_some(), "{thrice}");
        let supabase = [
            "your-super-secret-jwt-token",
            "-with-at-least-32-characters-long",
        ]
        .concat();
        assert!(secret_weakness(&supabase).is_some());
        // A random base64url secret (dashes and underscores in it) is not a phrase.
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            (0..48u32)
                .map(|i| (i * 97 + 31) as u8 ^ 0xa5)
                .collect::<Vec<u8>>(),
        );
        assert!(secret_weakness(&url).is_none(), "{url}");
        // Random bytes, however encoded, are no text.
        let random: Vec<u8> = (0..48u32).map(|i| (i * 97 + 31) as u8 ^ 0xa5).collect();
        assert!(secret_weakness(&b64(&random)).is_none());
        assert!(secret_weakness(&hex(&random[..32])).is_none());
    }

    /// Tester 158: secrets tutorials ship (words run together, in CamelCase, a phrase repeated
    /// with a suffix, woven walks, bytes in a row) are weak; random keys of the usual
    /// generators (hex, base64) never are, whatever their bytes.
    #[test]
    fn what_tutorials_ship_is_weak_and_random_keys_are_not() {
        use base64::Engine as _;
        let b64 = |t: &[u8]| base64::engine::general_purpose::STANDARD.encode(t);
        let hex = |t: &[u8]| t.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let glued = ["thisisaverylong", "secretkeythatisatleast32characterslong"].concat();
        let camel = [
            "ThisIsMySuperSecretKey",
            "ForJwtTokenGenerationThatIsLongEnough",
        ]
        .concat();
        let camel2 = [
            "aVeryLongAndSecureSecretKeyForJWT",
            "SigningThatNobodyCanGuess123",
        ]
        .concat();
        let hs = ["supersecretjwtkeythatislong", "enoughforhs256algorithm"].concat();
        let thrice = ["mysupersecretkey".repeat(3), "12".into()].concat();
        let woven = ["a1b2c3d4e5f6g7h8i9j0", "k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"].concat();
        let row: Vec<u8> = (0..48).collect();
        for v in [
            glued,
            camel,
            camel2,
            hs.clone(),
            b64(hs.as_bytes()),
            thrice,
            woven,
            hex(&row[..32]),
            b64(&row),
        ] {
            assert!(secret_weakness(&v).is_some(), "{v}");
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..500 {
            let bytes: Vec<u8> = (0..48).map(|_| next() as u8).collect();
            for v in [hex(&bytes[..32]), b64(&bytes), b64(&bytes[..33])] {
                assert!(secret_weakness(&v).is_none(), "{v}");
            }
        }
    }

    #[test]
    fn weak_keys_are_refused_by_name_unless_allowed() {
        let weak =
            crate::Key::hmac("MCP_JWT_SECRET", b"changeme", crate::Algorithm::HS256).unwrap();
        let e = refuse_weak([&weak], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MCP_JWT_SECRET is a well-known default value (generate one: openssl rand -base64 48)"
        );
        assert!(!format!("{e:?}").contains("changeme"));
        assert_eq!(refuse_weak([&weak], true).unwrap().len(), 1);
    }
}
