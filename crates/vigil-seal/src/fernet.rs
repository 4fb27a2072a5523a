//! Fernet, read and written exactly as Python's `cryptography.fernet` does: `0x80`, a 64-bit
//! big-endian timestamp, a 16-byte IV, AES-128-CBC with PKCS#7 padding, and HMAC-SHA256 over all
//! of it, in padded URL-safe base64. Checks run in the spec's order: version, then the TTL and
//! clock skew (only when a TTL is given, as Python does), then the HMAC in constant time, and
//! only then decryption. Composed from RustCrypto's `aes`, `cbc`, `hmac` and `sha2`.
//!
//! Keys come directly (a Fernet key, several comma-separated like `MultiFernet`) or from a
//! master secret the two common ways: base64url(SHA-256(secret)), or PBKDF2-HMAC-SHA256 with a
//! salt and iteration count (the `cryptography` documentation's recipe).

use crate::error::{Result, SealError};
use crate::plaintext::Plaintext;
use aes::Aes128;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Seconds a token's timestamp may lie in the future when a TTL is checked (Python's
/// `_MAX_CLOCK_SKEW`).
pub const MAX_CLOCK_SKEW: u64 = 60;
/// Largest PBKDF2 iteration count accepted.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const VERSION: u8 = 0x80;
const HEADER: usize = 1 + 8 + 16;
const MAC: usize = 32;
const MAX_TOKEN: usize = 1 << 20;

/// One Fernet key: a 16-byte signing key and a 16-byte encryption key, zeroized on drop.
#[derive(Clone)]
pub struct FernetKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FernetKey(..)")
    }
}

impl FernetKey {
    /// Reads a key as `Fernet.generate_key()` writes it: 32 bytes in padded URL-safe base64.
    pub fn parse(text: &str) -> Result<Self> {
        let b = Zeroizing::new(URL_SAFE.decode(text.trim()).map_err(|_| {
            SealError::Fernet("a key is 32 bytes in padded URL-safe base64 (44 characters)".into())
        })?);
        Self::from_bytes(&b)
    }

    fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != 32 {
            return Err(SealError::Fernet(format!(
                "a key is 32 bytes, this one {}",
                b.len()
            )));
        }
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(b);
        Ok(FernetKey(k))
    }

    /// A new random key.
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut k[..])
            .map_err(|e| SealError::Fernet(format!("the OS random source failed: {e}")))?;
        Ok(FernetKey(k))
    }

    /// The key as `Fernet.generate_key()` prints it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE.encode(&self.0[..]))
    }

    /// A key derived from a master secret (see [`KeySource`]).
    pub fn derive(secret: &[u8], source: &KeySource) -> Result<Self> {
        match source {
            KeySource::Direct => Self::parse(
                std::str::from_utf8(secret)
                    .map_err(|_| SealError::Fernet("the key is not text".into()))?,
            ),
            KeySource::Sha256 => Self::from_bytes(&Sha256::digest(secret)),
            KeySource::Pbkdf2 { salt, iterations } => {
                let mut k = Zeroizing::new([0u8; 32]);
                pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt, *iterations, &mut k[..]);
                Ok(FernetKey(k))
            }
        }
    }

    fn signing(&self) -> &[u8] {
        &self.0[..16]
    }

    fn encryption(&self) -> &[u8] {
        &self.0[16..]
    }
}

/// How the variable's value becomes a Fernet key.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The value is the key itself (several, comma-separated, act like `MultiFernet`).
    Direct,
    /// `base64url(SHA-256(secret))`.
    Sha256,
    /// `base64url(PBKDF2-HMAC-SHA256(secret, salt, iterations, 32))`.
    Pbkdf2 {
        /// The salt bytes.
        salt: Vec<u8>,
        /// The iteration count.
        iterations: u32,
    },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Direct => f.write_str("Direct"),
            KeySource::Sha256 => f.write_str("Sha256"),
            KeySource::Pbkdf2 { iterations, .. } => write!(f, "Pbkdf2({iterations})"),
        }
    }
}

impl FromStr for KeySource {
    type Err = SealError;

    /// `key`, `sha256`, or `pbkdf2:<salt>:<iterations>`, where the salt is literal text, or
    /// `b64:<base64>` / `hex:<hex>` for bytes (a literal salt may not contain `:`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "key" => return Ok(KeySource::Direct),
            "sha256" => return Ok(KeySource::Sha256),
            _ => {}
        }
        let bad = |m: &str| SealError::Fernet(format!("--fernet-key-from `{s}`: {m}"));
        let Some(rest) = s.strip_prefix("pbkdf2:") else {
            return Err(bad("expected key, sha256 or pbkdf2:<salt>:<iterations>"));
        };
        let (salt, iters) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("expected pbkdf2:<salt>:<iterations>"))?;
        let iterations: u32 = iters
            .parse()
            .map_err(|_| bad("the iteration count is not a number"))?;
        if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
            return Err(bad(&format!(
                "iterations must be 1..={MAX_PBKDF2_ITERATIONS}"
            )));
        }
        let salt = if let Some(b) = salt.strip_prefix("b64:") {
            STANDARD
                .decode(b)
                .or_else(|_| URL_SAFE.decode(b))
                .map_err(|_| bad("the b64: salt is not base64"))?
        } else if let Some(h) = salt.strip_prefix("hex:") {
            decode_hex(h).ok_or_else(|| bad("the hex: salt is not hex"))?
        } else if salt.contains(':') {
            return Err(bad(
                "a literal salt may not contain `:` (write b64:<base64> or hex:<hex>)",
            ));
        } else {
            salt.as_bytes().to_vec()
        };
        if salt.is_empty() {
            return Err(bad("empty salt"));
        }
        Ok(KeySource::Pbkdf2 { salt, iterations })
    }
}

fn decode_hex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One or more Fernet keys: the first encrypts; decryption tries each (Fernet tokens carry no
/// key id, so `MultiFernet` has no other way).
#[derive(Clone, Debug)]
pub struct Fernet {
    keys: Vec<FernetKey>,
}

impl Fernet {
    /// Keys, the first used to encrypt.
    pub fn new(keys: Vec<FernetKey>) -> Result<Self> {
        if keys.is_empty() {
            return Err(SealError::Fernet("no key".into()));
        }
        Ok(Fernet { keys })
    }

    /// The keys a variable's value gives: comma-separated keys for [`KeySource::Direct`], one
    /// master secret otherwise.
    pub fn from_secret(value: &str, source: &KeySource) -> Result<Self> {
        match source {
            KeySource::Direct => Fernet::new(
                value
                    .split(',')
                    .map(FernetKey::parse)
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => Fernet::new(vec![FernetKey::derive(value.as_bytes(), source)?]),
        }
    }

    /// A token for `data`, now, with a random IV.
    pub fn encrypt(&self, data: &[u8]) -> Result<String> {
        let mut iv = [0u8; 16];
        getrandom::fill(&mut iv)
            .map_err(|e| SealError::Fernet(format!("the OS random source failed: {e}")))?;
        Ok(self.encrypt_at(data, now(), iv))
    }

    /// A token with a given timestamp and IV (the spec's `generate` vectors; never reuse an IV).
    pub fn encrypt_at(&self, data: &[u8], timestamp: u64, iv: [u8; 16]) -> String {
        let k = &self.keys[0];
        let ct = cbc::Encryptor::<Aes128>::new(k.encryption().into(), (&iv).into())
            .encrypt_padded_vec_mut::<Pkcs7>(data);
        let mut out = Vec::with_capacity(HEADER + ct.len() + MAC);
        out.push(VERSION);
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k.signing()).expect("any key length");
        m.update(&out);
        out.extend_from_slice(&m.finalize().into_bytes());
        URL_SAFE.encode(out)
    }

    /// Decrypts a token now; with `ttl`, a token older than `ttl` seconds (or from more than a
    /// minute in the future) is refused.
    pub fn decrypt(&self, token: &str, ttl: Option<u64>) -> Result<Plaintext> {
        self.decrypt_at(token, ttl, now())
    }

    /// Decrypts a token as of `current_time` (Unix seconds).
    pub fn decrypt_at(
        &self,
        token: &str,
        ttl: Option<u64>,
        current_time: u64,
    ) -> Result<Plaintext> {
        let invalid = |why: &str| SealError::Fernet(format!("invalid token ({why})"));
        let token = token.trim();
        if token.len() > MAX_TOKEN {
            return Err(invalid("too long"));
        }
        let data = URL_SAFE
            .decode(token)
            .map_err(|_| invalid("not padded URL-safe base64"))?;
        if data.first() != Some(&VERSION) {
            return Err(invalid("not a Fernet token (version byte)"));
        }
        if data.len() < 9 {
            return Err(invalid("too short"));
        }
        let timestamp = u64::from_be_bytes(data[1..9].try_into().expect("8 bytes"));
        if let Some(ttl) = ttl {
            if u128::from(timestamp) + u128::from(ttl) < u128::from(current_time) {
                return Err(invalid("expired (older than the TTL)"));
            }
            if u128::from(current_time) + u128::from(MAX_CLOCK_SKEW) < u128::from(timestamp) {
                return Err(invalid("timestamp too far in the future (clock skew)"));
            }
        }
        if data.len() < HEADER + MAC {
            return Err(invalid("too short"));
        }
        let (signed, mac) = data.split_at(data.len() - MAC);
        let key = self
            .keys
            .iter()
            .find(|k| {
                let mut m =
                    <Hmac<Sha256> as Mac>::new_from_slice(k.signing()).expect("any key length");
                m.update(signed);
                // Constant-time comparison (hmac uses `subtle`).
                m.verify_slice(mac).is_ok()
            })
            .ok_or_else(|| invalid("signature mismatch (another key, or the token was changed)"))?;
        let iv: [u8; 16] = signed[9..HEADER].try_into().expect("16 bytes");
        let ct = &signed[HEADER..];
        if ct.is_empty() || !ct.len().is_multiple_of(16) {
            return Err(invalid("ciphertext is not a whole number of blocks"));
        }
        let pt = cbc::Decryptor::<Aes128>::new(key.encryption().into(), (&iv).into())
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(|_| invalid("bad padding"))?;
        Ok(Plaintext::new(pt))
    }
}

/// Whether `text` looks like a Fernet token (what `vigil_core::ciphertext` recognises).
pub fn is_token(text: &str) -> bool {
    vigil_core::ciphertext::sealed(text) == Some(vigil_core::ciphertext::Sealed::Fernet)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_ttl_and_skew_only_with_a_ttl() {
        let f = Fernet::new(vec![FernetKey::generate().unwrap()]).unwrap();
        let t = f.encrypt_at(b"hello", 1_000, [3u8; 16]);
        assert!(t.starts_with("gAAAAA") && is_token(&t));
        assert_eq!(
            f.decrypt_at(&t, None, 5_000_000).unwrap().as_bytes(),
            b"hello"
        );
        assert!(f.decrypt_at(&t, Some(60), 1_061).is_err());
        assert!(f.decrypt_at(&t, Some(60), 1_060).is_ok());
        // From the future: refused only when a TTL is checked.
        assert!(f.decrypt_at(&t, None, 0).is_ok());
        assert!(f.decrypt_at(&t, Some(60), 900).is_err());
        // A hostile timestamp cannot overflow the arithmetic.
        let far = f.encrypt_at(b"x", u64::MAX, [1u8; 16]);
        assert!(f.decrypt_at(&far, Some(u64::MAX), u64::MAX).is_ok());
    }

    #[test]
    fn multi_key_and_key_sources() {
        let (a, b) = (
            FernetKey::generate().unwrap(),
            FernetKey::generate().unwrap(),
        );
        let old = Fernet::new(vec![b.clone()]).unwrap();
        let t = old.encrypt(b"v").unwrap();
        let both = format!("{},{}", a.to_base64().as_str(), b.to_base64().as_str());
        let multi = Fernet::from_secret(&both, &KeySource::Direct).unwrap();
        assert_eq!(multi.decrypt(&t, None).unwrap().as_bytes(), b"v");
        assert!(Fernet::new(vec![a]).unwrap().decrypt(&t, None).is_err());
        assert_eq!(
            "pbkdf2:s4lt:480000".parse::<KeySource>().unwrap(),
            KeySource::Pbkdf2 {
                salt: b"s4lt".to_vec(),
                iterations: 480_000
            }
        );
        assert_eq!(
            "pbkdf2:hex:00ff:1".parse::<KeySource>().unwrap(),
            KeySource::Pbkdf2 {
                salt: vec![0, 255],
                iterations: 1
            }
        );
        for bad in [
            "pbkdf2:a:b:1",
            "pbkdf2:salt:0",
            "pbkdf2::10",
            "md5",
            "pbkdf2:s",
        ] {
            assert!(bad.parse::<KeySource>().is_err(), "{bad}");
        }
        assert!(FernetKey::parse("short").is_err());
    }
}
