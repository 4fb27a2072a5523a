//! Placeholders and examples that look like secrets but are not: `${VAR}`, `<TOKEN>`,
//! `your-key-here`, `changeme`, `xxxx`, runs of one character, AWS's documented example keys,
//! and values that only name an environment variable.

/// Words that mark a value as an example rather than a credential.
const MARKERS: &[&str] = &[
    "your-",
    "your_",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "_here",
    "-here",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "example",
    "sample",
    "dummy",
    "redacted",
    "removed",
    "xxxx",
    "****",
    "....",
    "<",
    ">",
    "${",
    "{{",
    "%s",
    "%(",
    "insert",
    "replace_",
    "replace-",
    "todo",
    "fixme",
    "fake",
    "notreal",
    "not-a-real",
    "not_a_real",
];

/// Values that are well-known defaults, compared case-insensitively with the whole secret.
const DEFAULTS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "secret",
    "admin",
    "root",
    "guest",
    "test",
    "postgres",
    "mysql",
    "redis",
    "default",
    "user",
    "username",
    "changeit",
    "letmein",
    "qwerty",
    "token",
    "apikey",
    "api_key",
    "none",
    "null",
    "undefined",
    "true",
    "false",
];

/// Whether a secret value is a placeholder or an example, not a credential.
pub fn is_placeholder(secret: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(secret) else {
        return false;
    };
    let lower = s.to_ascii_lowercase();
    // A default with a short number (`password1`, `secret2`: test fixtures numbering theirs).
    let bare = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    if DEFAULTS.contains(&lower.as_str())
        || (lower.len() - bare.len() <= 2 && DEFAULTS.contains(&bare))
    {
        return true;
    }
    if MARKERS.iter().any(|m| lower.contains(m)) || names_a_default(&lower) {
        return true;
    }
    // A value that only names a variable: `$VAR`, `%VAR%`, `DISCORD_BOT_TOKEN`, `process.env.X`.
    if let Some(rest) = s.strip_prefix('$') {
        if rest.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return true;
        }
    }
    // Documentation's optional part, `[password]` (in a URL the rule may take `password]`).
    let bare = s.trim_matches(['[', ']']);
    if bare.len() < s.len() && !bare.is_empty() && is_placeholder(bare.as_bytes()) {
        return true;
    }
    if s.len() > 2
        && ((s.starts_with('%') && s.ends_with('%')) || (s.starts_with('{') && s.ends_with('}')))
    {
        return true;
    }
    if looks_like_env_name(s) {
        return true;
    }
    if lower.contains("process.env") || lower.contains("environ") || lower.contains("getenv") {
        return true;
    }
    if looks_like_key_path(&lower) {
        return true;
    }
    // A run of one character is a placeholder's mark in a short value (`aaaaaa`); in a long one
    // it is what real key material holds (`AAAAAAAAAAAB` in every OpenSSH private key).
    longest_run(secret) >= 6.max(secret.len() / 4) || has_sequence(&lower) || distinct(secret) <= 3
}

/// Whether long key material (a PEM body's base64) is an example rather than a key: one
/// character repeated, a counting sequence, few distinct characters, or one of [`MARKERS`] long
/// enough (six letters or more) not to turn up by chance in random base64.
pub(crate) fn is_placeholder_material(material: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(material).to_ascii_lowercase();
    MARKERS
        .iter()
        .filter(|m| m.len() >= 6)
        .any(|m| lower.contains(m))
        || longest_run(material) >= 6.max(material.len() / 4)
        || has_sequence(&lower)
        || distinct(material) <= 3
}

/// A default that names whose it is or counts (`mypassword`, `phoenix_secret`, `secret123`):
/// a default word after `my`, beside one other lowercase word, or before a counting run.
fn names_a_default(lower: &str) -> bool {
    let bare = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &lower.as_bytes()[bare.len()..];
    if DEFAULTS.contains(&bare)
        && digits.len() >= 3
        && digits
            .windows(2)
            .all(|p| (p[0] - b'0' + 1) % 10 == p[1] - b'0')
    {
        return true;
    }
    if lower
        .strip_prefix("my")
        .is_some_and(|rest| DEFAULTS.contains(&rest))
    {
        return true;
    }
    let pieces: Vec<&str> = lower.split(['_', '-']).collect();
    pieces.len() == 2
        && pieces
            .iter()
            .all(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase()))
        && pieces.iter().any(|p| DEFAULTS.contains(p))
}

/// A path to a key or config file (`keys/ed.pem`, `./secrets.json`): it names where a secret is,
/// it is not one. No credential format ends in a dot and a short file extension.
fn looks_like_key_path(lower: &str) -> bool {
    const EXT: &[&str] = &[
        "pem", "key", "crt", "cer", "der", "pub", "p12", "pfx", "jks", "json", "toml", "yaml",
        "yml", "txt", "env", "asc", "gpg", "age",
    ];
    let Some((stem, ext)) = lower.rsplit_once('.') else {
        return false;
    };
    EXT.contains(&ext)
        && !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'~'))
}

/// `ALL_CAPS_WITH_UNDERSCORES` names such as `OPENAI_API_KEY`.
fn looks_like_env_name(s: &str) -> bool {
    s.len() >= 4
        && s.contains('_')
        && s.bytes()
            .all(|b| b == b'_' || b.is_ascii_uppercase() || b.is_ascii_digit())
        && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
}

fn longest_run(s: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for &b in s {
        if Some(b) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(b);
        }
        best = best.max(run);
    }
    best
}

fn has_sequence(lower: &str) -> bool {
    const SEQS: &[&str] = &[
        "0123456789",
        "1234567890",
        "abcdefghijklmnopqrstuvwxyz",
        "qwertyuiop",
    ];
    let b = lower.as_bytes();
    b.windows(8).any(|w| {
        let w = std::str::from_utf8(w).unwrap_or("");
        SEQS.iter().any(|s| s.contains(w))
    })
}

fn distinct(s: &[u8]) -> usize {
    let mut seen = [false; 256];
    s.iter()
        .filter(|&&b| !std::mem::replace(&mut seen[b as usize], true))
        .count()
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "${API_KEY}",
            "<TOKEN>",
            "your-api-key-here",
            "changeme",
            "xxxxxxxxxxxxxxxx",
            "aaaaaaaaaaaaaaaa",
            "AKIAIOSFODNN7EXAMPLE",
            "OPENAI_API_KEY",
            "$SECRET",
            "%DB_PASS%",
            "postgres",
            "0123456789abcdef",
            "abababababababab",
            "process.env.TOKEN",
            "{{ secrets.TOKEN }}",
            "keys/ed-2026-11.pem",
            "./config/service-account.json",
            "[password]",
            "password]",
            "mypassword",
            "phoenix_secret",
            "secret123",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn random_values_are_not_placeholders() {
        for p in [
            "Q9x2LmP0aZ7rT4wK8sN1",
            "8f14e45fceea167a5a36dedd4bea2543",
            "hunter2-but-Longer7",
            "secret739",
            "orchid_tango",
        ] {
            assert!(!is_placeholder(p.as_bytes()), "{p}");
        }
        // The shape of a real OpenSSH private key: zero runs in its binary header.
        // Built here so this file holds no key-shaped text (the repository scans clean).
        let openssh = format!(
            "-----BEGIN {kind} PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n{}\n-----END {kind} PRIVATE KEY-----",
            "Q9x2LmP0aZ7rT4wK8sN1".repeat(8),
            kind = "OPENSSH"
        );
        assert!(!is_placeholder(openssh.as_bytes()));
    }
}
