//! Fernet, read and written exactly as Python's `cryptography.fernet` does: `0x80`, a 64-bit
//! big-endian timestamp, a 16-byte IV, AES-128-CBC with PKCS#7 padding, and HMAC-SHA256 over all
//! of it, in padded URL-safe base64. Checks run in the spec's order: version, then the TTL and
//! clock skew (only when a TTL is given, as Python does), then the HMAC in constant time, and
//! only then decryption. Composed from RustCrypto's `aes`, `cbc`, `hmac` and `sha2`.
//!
//! Tokens and keys are read with Python's `base64.urlsafe_b64decode` rules (see
//! [`python_b64decode`]): characters outside the alphabet (a newline, a space) are skipped, both
//! alphabets are taken, a non-canonical last character is accepted and input after the padding is
//! ignored, so every token Python accepts is accepted here, and a migration never stops on one.
//!
//! Keys come directly (a Fernet key, several comma-separated like `MultiFernet`) or from a
//! master secret the two common ways: base64url(SHA-256(secret)), or PBKDF2-HMAC-SHA256 with a
//! salt and iteration count (the `cryptography` documentation's recipe). A key that is visibly
//! not random, or a master secret that is empty, a known default or guessable, is *weak*: it
//! still decrypts (to get data out from under it), but never encrypts.

use crate::error::{Result, SealError};
use crate::plaintext::Plaintext;
use aes::Aes128;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};
use base64::engine::DecodePaddingMode;
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
/// Longest token read, in bytes.
pub const MAX_TOKEN: usize = 1 << 20;
/// Least strength of a master secret a key is derived from (`--fernet-key-from sha256` or
/// `pbkdf2:…`), by `vigil_core::strength::estimate_chosen_bits`.
pub const MIN_MASTER_BITS: f64 = 80.0;

/// Decodes base64 as Python's `base64.urlsafe_b64decode` does (CPython's `binascii.a2b_base64`
/// in its default, non-strict mode, after mapping `-_` to `+/`): bytes outside the alphabet are
/// skipped; `=` before the third character of a quantum is skipped; a pad that completes a
/// quantum ends the input (what follows is ignored); trailing bits are dropped. A final quantum
/// of one character, or of two or three without its padding, is an error, as in Python. The
/// characters kept are decoded by the `base64` crate.
pub fn python_b64decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut data = Vec::with_capacity(text.len());
    let (mut quad, mut pads, mut ended) = (0usize, 0usize, false);
    for &c in text {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    ended = true;
                    break;
                }
            }
            continue;
        }
        let c = match c {
            b'-' => b'+',
            b'_' => b'/',
            c if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' => c,
            _ => continue,
        };
        pads = 0;
        data.push(c);
        quad = (quad + 1) % 4;
    }
    if !ended && quad != 0 {
        return None;
    }
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(&data).ok()
}

/// One Fernet key: a 16-byte signing key and a 16-byte encryption key, zeroized on drop.
#[derive(Clone)]
pub struct FernetKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FernetKey(..)")
    }
}

impl FernetKey {
    /// Reads a key as `Fernet(key)` does: 32 bytes in URL-safe base64 (as
    /// `Fernet.generate_key()` writes it), decoded by Python's rules ([`python_b64decode`]).
    pub fn parse(text: &str) -> Result<Self> {
        let b = Zeroizing::new(python_b64decode(text.trim().as_bytes()).ok_or_else(|| {
            SealError::Fernet("a key is 32 bytes in padded URL-safe base64 (44 characters)".into())
        })?);
        Self::from_bytes(&b)
    }

    /// Why this key must not encrypt: `None` for 32 random-looking bytes (see
    /// [`crate::key::check_random`]).
    pub fn weakness(&self) -> Option<crate::key::Weakness> {
        crate::key::check_random(&self.0[..]).err()
    }

    fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != 32 {
            return Err(SealError::Fernet(format!(
                "a key is 32 bytes, this one decodes to {}",
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
        if iters.is_empty() || !iters.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the iteration count is not a number"));
        }
        let iterations = iters
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
            .ok_or_else(|| {
                bad(&format!(
                    "the iteration count must be 1 to {MAX_PBKDF2_ITERATIONS} (a larger count makes every run take minutes)"
                ))
            })?;
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
    weak: Option<String>,
}

impl Fernet {
    /// Keys, the first used to encrypt (and judged by [`FernetKey::weakness`]).
    pub fn new(keys: Vec<FernetKey>) -> Result<Self> {
        let Some(first) = keys.first() else {
            return Err(SealError::Fernet("no key".into()));
        };
        let weak = first.weakness().map(|w| format!("the key {w}"));
        Ok(Fernet { keys, weak })
    }

    /// The keys a variable's value gives: comma-separated keys for [`KeySource::Direct`], one
    /// master secret otherwise. A master secret under [`MIN_MASTER_BITS`] (empty, a known
    /// default, guessable) makes the result weak.
    pub fn from_secret(value: &str, source: &KeySource) -> Result<Self> {
        match source {
            KeySource::Direct => {
                let mut keys = Vec::new();
                for (i, entry) in value.split(',').enumerate() {
                    if entry.trim().is_empty() {
                        return Err(SealError::Fernet(format!(
                            "entry {} of the comma-separated keys is empty",
                            i + 1
                        )));
                    }
                    keys.push(FernetKey::parse(entry).map_err(|e| match e {
                        SealError::Fernet(m) if value.contains(',') => {
                            SealError::Fernet(format!("entry {}: {m}", i + 1))
                        }
                        e => e,
                    })?);
                }
                Fernet::new(keys)
            }
            _ => {
                let mut f = Fernet::new(vec![FernetKey::derive(value.as_bytes(), source)?])?;
                if vigil_core::strength::is_known_default(value)
                    || vigil_core::strength::estimate_chosen_bits(value) < MIN_MASTER_BITS
                {
                    f.weak = Some(
                        "the master secret is weak (empty, short, a known default or guessable: anyone can try it against a token); use at least 16 random bytes, e.g. `openssl rand -base64 32`".into(),
                    );
                }
                Ok(f)
            }
        }
    }

    /// Why the encrypting key is weak, if it is: it decrypts (so data can be moved off it) but
    /// [`Fernet::encrypt`] refuses it.
    pub fn weakness(&self) -> Option<&str> {
        self.weak.as_deref()
    }

    /// A token for `data`, now, with a random IV. Refused under a weak key.
    pub fn encrypt(&self, data: &[u8]) -> Result<String> {
        if let Some(w) = &self.weak {
            return Err(SealError::Fernet(format!(
                "{w}; refusing to encrypt under it"
            )));
        }
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
        if token.len() > MAX_TOKEN {
            return Err(invalid("too long"));
        }
        let data = python_b64decode(token.as_bytes())
            .ok_or_else(|| invalid("not padded URL-safe base64"))?;
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
        assert!(Fernet::new(vec![a.clone()])
            .unwrap()
            .decrypt(&t, None)
            .is_err());
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
        let e = Fernet::from_secret(&format!("{},", a.to_base64().as_str()), &KeySource::Direct)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("entry 2 of the comma-separated keys is empty"),
            "{e}"
        );
        let e = "pbkdf2:s:999999999999"
            .parse::<KeySource>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be 1 to 10000000"), "{e}");
    }

    #[test]
    fn weak_keys_and_master_secrets_decrypt_but_never_encrypt() {
        let strong =
            Fernet::from_secret("gD8#kq2!Lm9zR4pw-Xc7v&Tq1yNs0bWe", &KeySource::Sha256).unwrap();
        assert!(strong.weakness().is_none());
        let token = strong.encrypt(b"v").unwrap();
        for (secret, source) in [
            ("", KeySource::Sha256),
            ("a", KeySource::Sha256),
            ("changeme", KeySource::Sha256),
            (
                "Password123!",
                KeySource::Pbkdf2 {
                    salt: b"s".to_vec(),
                    iterations: 1000,
                },
            ),
            (&*URL_SAFE.encode([0u8; 32]), KeySource::Direct),
            (&*URL_SAFE.encode([b'a'; 32]), KeySource::Direct),
            (
                &*URL_SAFE.encode((0u8..32).collect::<Vec<_>>()),
                KeySource::Direct,
            ),
        ] {
            let f = Fernet::from_secret(secret, &source).unwrap();
            assert!(f.weakness().is_some(), "{secret:?}");
            let e = f.encrypt(b"x").unwrap_err().to_string();
            assert!(e.contains("refusing to encrypt"), "{e}");
            assert!(f.decrypt(&token, None).is_err());
        }
        // A weak key still opens what it sealed (the spec's `generate` path is unchecked).
        let weak = Fernet::from_secret(&URL_SAFE.encode([0u8; 32]), &KeySource::Direct).unwrap();
        let t = weak.encrypt_at(b"old data", 1, [5u8; 16]);
        assert_eq!(weak.decrypt(&t, None).unwrap().as_bytes(), b"old data");
    }

    #[test]
    fn tokens_are_read_by_pythons_base64_rules() {
        let f = Fernet::new(vec![FernetKey::generate().unwrap()]).unwrap();
        let t = f.encrypt_at(b"hello", 1_000, [3u8; 16]);
        assert!(t.ends_with("=="));
        let ok = |s: &str| f.decrypt_at(s, None, 2_000).map(|p| p.as_bytes().to_vec());
        let body = t.trim_end_matches('=');
        const A: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = A.find(body.chars().last().unwrap()).unwrap();
        let noncanonical = format!("{}{}==", &body[..body.len() - 1], &A[last + 1..last + 2]);
        for accepted in [
            format!("{}\n{}", &t[..20], &t[20..]),
            format!("{} {}", &t[..20], &t[20..]),
            format!("{}!{}", &t[..20], &t[20..]),
            format!("{t}="),
            format!("{t}AAAA"),
            format!("={t}"),
            format!("{}={}", &t[..10], &t[10..]),
            t.replace('-', "+").replace('_', "/"),
            noncanonical,
        ] {
            assert_eq!(ok(&accepted).unwrap(), b"hello", "{accepted}");
        }
        // Python refuses a missing pad and a lone last character; so does Vigil.
        assert!(ok(body).is_err());
        assert!(ok(&format!("{body}A")).is_err());
    }
}
