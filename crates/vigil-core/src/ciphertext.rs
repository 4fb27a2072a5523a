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

/// `v<n>:<field>:<payload>` (after `vseal:`): a version, a key id or passphrase header
/// (`k2`, `argon2id.m19456.t2.p1.<salt>`), and at least 40 bytes (nonce and tag) of unpadded
/// base64url. The whole shape is checked, so `vseal:` in front of a plaintext secret does not
/// hide it from a scan.
fn is_vseal(rest: &str) -> bool {
    let mut parts = rest.splitn(3, ':');
    let (Some(version), Some(field), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    version.len() >= 2
        && version.starts_with('v')
        && version[1..].bytes().all(|b| b.is_ascii_digit())
        && (1..=128).contains(&field.len())
        && field.bytes().all(|b| url(b) || b == b'.')
        && payload.len() >= 53
        && payload.bytes().all(url)
}

#[cfg(test)]
mod tests {
    use super::{sealed, Sealed};

    fn b64url(n: usize, first: &str) -> String {
        let mut s = first.to_owned();
        while s.len() < n {
            s.push(if s.len().is_multiple_of(3) { 'q' } else { '9' });
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
        ] {
            assert_eq!(sealed(plain), None, "{plain}");
        }
    }
}
