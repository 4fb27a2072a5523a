//! Recognising values that are already encrypted (Vigil's own `vseal:`, Fernet, SOPS, dotenvx), so
//! that a scan does not report them as leaks and a rotation never replaces them with plaintext.

/// Which tool made an encrypted value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealed {
    /// Vigil's own `vseal:v1:…` format (`vigil seal`).
    Vigil,
    /// A Fernet token (Python `cryptography.fernet`): version byte `0x80`, URL-safe base64.
    Fernet,
    /// A SOPS value, `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
    Sops,
    /// A dotenvx value, `encrypted:<base64>`.
    Dotenvx,
}

impl Sealed {
    /// The tool's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Sealed::Vigil => "vigil seal",
            Sealed::Fernet => "Fernet",
            Sealed::Sops => "SOPS",
            Sealed::Dotenvx => "dotenvx",
        }
    }
}

/// What encrypted `value` (surrounding quotes and whitespace ignored), or `None` for anything
/// that is not recognisably ciphertext.
pub fn sealed(value: &str) -> Option<Sealed> {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if let Some(rest) = v.strip_prefix("vseal:") {
        return is_vseal(rest).then_some(Sealed::Vigil);
    }
    if v.starts_with("ENC[AES256_GCM,data:") && v.ends_with(']') {
        return Some(Sealed::Sops);
    }
    if let Some(rest) = v.strip_prefix("encrypted:") {
        return (rest.len() >= 16 && rest.bytes().all(is_base64_byte)).then_some(Sealed::Dotenvx);
    }
    if is_fernet(v) {
        return Some(Sealed::Fernet);
    }
    None
}

/// A Fernet token: `0x80`, an 8-byte timestamp whose top bytes are zero for any date before
/// the year 10,000 (so the text starts `gAAAAA`), a 16-byte IV, at least one 16-byte block and a
/// 32-byte HMAC: at least 73 bytes, 100 characters of padded URL-safe base64.
fn is_fernet(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    v.starts_with("gAAAAA")
        && body.len() >= 98
        && v.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// `v<n>:<field>:<payload>` (after `vseal:`): a version; a key id (`k2`: 1 to 32 of
/// `A-Z a-z 0-9 _ -`) or passphrase header (`argon2id.m19456.t2.p1.<salt>`); and a payload that is
/// what an encoder writes for random bytes: canonical unpadded base64url (no length of the form
/// 4k+1, zero trailing bits) of at least 40 bytes (nonce and tag), with upper- and lowercase
/// letters and at least 20 distinct characters (a random payload lacks either with odds below
/// 10^-12). So `vseal:` or `vseal:v1:k1:` in front of a plaintext secret (`sk-or-v1-<hex>`, a
/// hex or lowercase token) does not hide it from a scan.
fn is_vseal(rest: &str) -> bool {
    let mut parts = rest.splitn(3, ':');
    let (Some(version), Some(field), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let field_ok = if let Some(params) = field.strip_prefix("argon2id.") {
        field.len() <= 128 && params.bytes().all(|b| url(b) || b == b'.')
    } else {
        (1..=32).contains(&field.len()) && field.bytes().all(url)
    };
    version.len() >= 2
        && version.starts_with('v')
        && version[1..].bytes().all(|b| b.is_ascii_digit())
        && field_ok
        && is_random_base64url(payload, 40)
}

/// Whether `payload` is canonical unpadded base64url of at least `min` bytes that looks like an
/// encoder's output for random bytes (see [`is_vseal`]).
fn is_random_base64url(payload: &str, min: usize) -> bool {
    let value = |b: u8| -> Option<u8> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        })
    };
    let bytes = payload.as_bytes();
    let Some(last) = bytes.last().and_then(|b| value(*b)) else {
        return false;
    };
    let canonical_tail = match bytes.len() % 4 {
        0 => true,
        1 => false,
        2 => last & 0x0f == 0,
        _ => last & 0x03 == 0,
    };
    let mut seen = [false; 64];
    for b in bytes {
        match value(*b) {
            Some(v) => seen[v as usize] = true,
            None => return false,
        }
    }
    canonical_tail
        && bytes.len() * 3 / 4 >= min
        && seen[..26].iter().any(|s| *s)
        && seen[26..52].iter().any(|s| *s)
        && seen.iter().filter(|s| **s).count() >= 20
}

#[cfg(test)]
mod tests {
    use super::{sealed, Sealed};

    /// `n` characters of random-looking base64url after `first` (a fixed pseudo-random walk
    /// over the whole alphabet), with a canonical tail.
    fn b64url(n: usize, first: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = first.to_owned();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        while s.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(A[(x % 64) as usize] as char);
        }
        if !n.is_multiple_of(4) {
            s.pop();
            s.push('A');
        }
        s
    }

    #[test]
    fn recognises_each_format_and_nothing_else() {
        assert_eq!(
            sealed(&format!("vseal:v1:k1:{}", b64url(60, "A"))),
            Some(Sealed::Vigil)
        );
        assert_eq!(
            sealed(&format!(
                "vseal:v1:argon2id.m19456.t2.p1.{}:{}",
                b64url(22, "s"),
                b64url(60, "A")
            )),
            Some(Sealed::Vigil)
        );
        assert_eq!(
            sealed(&format!("\"{}==\"", b64url(98, "gAAAAA"))),
            Some(Sealed::Fernet)
        );
        assert_eq!(
            sealed("ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]"),
            Some(Sealed::Sops)
        );
        assert_eq!(
            sealed(&format!("encrypted:{}", b64url(90, "B"))),
            Some(Sealed::Dotenvx)
        );
        for plain in [
            "",
            "changeme",
            "vseal:",
            "encrypted:",
            "gAAAAAshort",
            &b64url(98, "hAAAAA"),
            "ENC[AES256_GCM,data:abc",
            &format!("vseal:v1:k1:{} and more", b64url(20, "A")),
            &format!("vseal:{}", b64url(60, "sk-")),
            &format!("vseal:v1:k1:{}", b64url(40, "A")),
            // Plaintext secrets dressed as sealed values.
            &format!("vseal:v1:k1:sk-or-v1-{}", "0123456789abcdef".repeat(4)),
            &format!("vseal:v1:k1:sk-or-v1-{}a", "0123456789abcdef".repeat(4)),
            &format!("vseal:v1:k1:{}", "deadbeef".repeat(8)),
            &format!("vseal:v1:k1:{}", "abcdefghijklmnopqrstuvwxyz".repeat(3)),
            &format!("vseal:v1:k1:{}B", &b64url(58, "A")[..57]),
            &format!("vseal:v1:{}:{}", "k".repeat(33), b64url(60, "A")),
        ] {
            assert_eq!(sealed(plain), None, "{plain}");
        }
    }
}
