//! New secret values: uniform characters from a named alphabet, drawn from the OS CSPRNG
//! (`getrandom`) with rejection sampling, so no character is likelier than another.

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
pub fn charset(spec: &str) -> Result<Vec<u8>, String> {
    if let Some((_, chars)) = CHARSETS.iter().find(|(n, _)| *n == spec) {
        return Ok(chars.as_bytes().to_vec());
    }
    if let Some(custom) = spec.strip_prefix("custom:") {
        let mut set: Vec<u8> = custom.bytes().collect();
        set.sort_unstable();
        set.dedup();
        if set.len() < 2 {
            return Err("a custom charset needs at least 2 distinct characters".into());
        }
        if let Some(bad) = set
            .iter()
            .find(|b| !b.is_ascii_graphic() || b"'\"#$\\`=".contains(b))
        {
            return Err(format!(
                "character `{}` is not allowed in a custom charset (quotes, #, $, \\, `, = and non-printable characters are read differently by .env dialects)",
                *bad as char
            ));
        }
        return Ok(set);
    }
    let names: Vec<&str> = CHARSETS.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown charset `{spec}` (known: {}, or custom:CHARS)",
        names.join(", ")
    ))
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
    fn charsets_are_checked() {
        assert!(charset("custom:ab").is_ok());
        assert!(charset("custom:a").is_err());
        assert!(charset("custom:ab#").unwrap_err().contains("`#`"));
        assert!(charset("emoji").unwrap_err().contains("known: alnum"));
    }
}
