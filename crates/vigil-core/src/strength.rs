//! How strong a secret value is: an estimate of its entropy in bits and a list of known defaults.
//!
//! The estimate is deliberately conservative. A value gets `length × bits-per-character` where
//! bits-per-character is the smaller of the alphabet its characters are drawn from (hex, digits,
//! letters, alphanumeric, base64, printable) and twice its empirical Shannon entropy, so
//! `aaaa…` or `abcabc…` score low whatever their length; a value made of one repeated unit
//! (`passwordpassword…`) is scored as that unit. `openssl rand -hex 32` and
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

/// Whether `value` is one of [`KNOWN_DEFAULTS`] (ignoring case and surrounding whitespace).
pub fn is_known_default(value: &str) -> bool {
    let v = value.trim();
    KNOWN_DEFAULTS.iter().any(|d| d.eq_ignore_ascii_case(v))
}

/// Whether a flag variable's value switches it on (`1`, `true`, `yes`, `on`, `y`, any case).
pub fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y"
    )
}

/// A conservative estimate of the entropy of `value`, in bits. See the module documentation.
pub fn estimate_bits(value: &str) -> f64 {
    let unit = shortest_period(value);
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

/// The shortest prefix whose repetition makes up `value` (`value` itself when none does).
fn shortest_period(value: &str) -> &str {
    let b = value.as_bytes();
    let n = b.len();
    for p in 1..=n / 2 {
        if n.is_multiple_of(p) && value.is_char_boundary(p) && b.chunks(p).all(|c| c == &b[..p]) {
            return &value[..p];
        }
    }
    value
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

#[cfg(test)]
mod tests {
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
    fn known_defaults_ignore_case() {
        assert!(is_known_default(" ChangeMe "));
        assert!(!is_known_default("change me now please"));
    }
}
