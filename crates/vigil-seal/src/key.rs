//! Master keys (32 random bytes, zeroized on drop, never in `Debug`), their ids, and the
//! per-purpose sub-keys derived from them with HKDF-SHA256.

use crate::error::{Result, SealError};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// Length of a master key in bytes.
pub const KEY_LEN: usize = 32;
/// Longest key id.
pub const MAX_KID: usize = 32;

/// HKDF `info` of the XChaCha20-Poly1305 key.
pub(crate) const PURPOSE_AEAD: &str = "vigil-seal/v1/aead";
/// HKDF `info` of the fingerprint HMAC key.
pub(crate) const PURPOSE_FINGERPRINT: &str = "vigil-seal/v1/fingerprint";
/// HKDF `info` of the derived key id.
const PURPOSE_KID: &str = "vigil-seal/v1/kid";

/// A 32-byte master key. Zeroized on drop; `Debug` shows nothing of it.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        MasterKey(Zeroizing::new(bytes))
    }

    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut k[..]).map_err(|e| SealError::Keys {
            var: "keygen",
            message: format!("the OS random source failed: {e}"),
        })?;
        Ok(MasterKey(k))
    }

    /// Reads a key written in base64 (standard or URL-safe alphabet, padded or not). Refuses
    /// anything but exactly 32 bytes, 64 hex digits (ambiguous: hex is also base64), and bytes
    /// that are visibly not random (see [`check_random`]). The message never quotes the input.
    pub fn parse(text: &str) -> std::result::Result<Self, KeyProblem> {
        let t = text.trim();
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyProblem::Hex);
        }
        let bytes = Zeroizing::new(
            [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|e| e.decode(t).ok())
                .ok_or(KeyProblem::NotBase64)?,
        );
        if bytes.len() != KEY_LEN {
            return Err(KeyProblem::Length(bytes.len()));
        }
        check_random(&bytes).map_err(KeyProblem::Weak)?;
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(&bytes);
        Ok(MasterKey(k))
    }

    /// The key in standard padded base64 (what `keygen` prints).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(&self.0[..]))
    }

    /// A 32-byte sub-key for one purpose: HKDF-SHA256 with no salt and `purpose` as info.
    pub(crate) fn subkey(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let hk = Hkdf::<Sha256>::new(None, &self.0[..]);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        hk.expand(purpose.as_bytes(), &mut out[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// The id a key gets when none is written beside it: `k` and 8 base64url characters of an
    /// HKDF output (reveals nothing of the key; stable, so `VIGIL_SEAL_KEY=<key>` and
    /// `VIGIL_SEAL_KEYS=<key>,…` agree).
    pub fn derived_kid(&self) -> String {
        let sub = self.subkey(PURPOSE_KID);
        format!("k{}", URL_SAFE_NO_PAD.encode(&sub[..6]))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Refuses key bytes that are visibly not random: all printable text (a passphrase pasted as a
/// key), fewer than 16 distinct byte values (`[0; 32]`, `b"a" * 32`), or fewer than 16 distinct
/// differences between neighbours (a counter such as `bytes(range(32))`, a repeated pattern).
/// For 32 random bytes each of these has odds below 10^-13. The message never quotes a byte.
pub fn check_random(bytes: &[u8]) -> std::result::Result<(), Weakness> {
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(Weakness::Text);
    }
    let distinct = |it: &mut dyn Iterator<Item = u8>| {
        let mut seen = [false; 256];
        it.for_each(|b| seen[b as usize] = true);
        seen.iter().filter(|s| **s).count()
    };
    if distinct(&mut bytes.iter().copied()) < 16 {
        return Err(Weakness::FewValues);
    }
    if distinct(&mut bytes.windows(2).map(|w| w[1].wrapping_sub(w[0]))) < 16 {
        return Err(Weakness::Pattern);
    }
    Ok(())
}

/// Why key bytes are visibly not random (see [`check_random`]); the message never quotes a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    /// Every byte is printable text: a passphrase pasted as a key.
    #[error("is text, not random bytes (use VIGIL_SEAL_PASSPHRASE for a passphrase)")]
    Text,
    /// Fewer than 16 distinct byte values.
    #[error("is not random (too few distinct bytes)")]
    FewValues,
    /// Fewer than 16 distinct differences between neighbours: a counter or a repeated pattern.
    #[error("is not random (a sequence or a repeated pattern)")]
    Pattern,
}

/// Why a master key written in text is refused (see [`MasterKey::parse`]); the message never
/// quotes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// 64 hex digits: ambiguous, since hex is also base64.
    #[error("looks like 64 hex digits; a key is written in base64 (`vigil seal keygen`, or `openssl rand -base64 32`)")]
    Hex,
    /// Not base64 in any of the four alphabets.
    #[error("not base64 (a key is 32 random bytes in base64, as `vigil seal keygen` or `openssl rand -base64 32` prints)")]
    NotBase64,
    /// Decodes to this many bytes, not [`KEY_LEN`].
    #[error("decodes to {0} bytes, not {KEY_LEN} (use VIGIL_SEAL_PASSPHRASE for a passphrase)")]
    Length(usize),
    /// 32 bytes that are visibly not random.
    #[error("{0}; make one with `vigil seal keygen`")]
    Weak(Weakness),
}

/// Whether `kid` is a valid key id: 1 to 32 characters of `A-Z a-z 0-9 _ -`.
pub fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_random_keys_in_both_alphabets_and_refuses_the_rest() {
        let k = MasterKey::generate().unwrap();
        let std = k.to_base64();
        let again = MasterKey::parse(&std).unwrap();
        assert_eq!(again.derived_kid(), k.derived_kid());
        let url = URL_SAFE_NO_PAD.encode(STANDARD.decode(std.as_str()).unwrap());
        assert_eq!(
            MasterKey::parse(&url).unwrap().derived_kid(),
            k.derived_kid()
        );
        let text = STANDARD.encode(b"this-is-a-passphrase-not-a-key!!");
        assert!(MasterKey::parse(&text)
            .unwrap_err()
            .to_string()
            .contains("is text"));
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32]))
            .unwrap_err()
            .to_string()
            .contains("not random"));
        // A counter, a repeated 8-byte pattern, hex.
        let counter: Vec<u8> = (0u8..32).collect();
        assert!(MasterKey::parse(&STANDARD.encode(&counter))
            .unwrap_err()
            .to_string()
            .contains("a sequence or a repeated pattern"));
        let stepped: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(200))
            .collect();
        assert!(MasterKey::parse(&STANDARD.encode(&stepped)).is_err());
        let pattern: Vec<u8> = (0..32)
            .map(|i| [3u8, 141, 77, 250, 9, 18, 200, 64][i % 8])
            .collect();
        assert!(MasterKey::parse(&STANDARD.encode(&pattern)).is_err());
        let hex: String = std::iter::repeat_n("9f3a", 16).collect();
        assert!(MasterKey::parse(&hex)
            .unwrap_err()
            .to_string()
            .contains("hex"));
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16]))
            .unwrap_err()
            .to_string()
            .contains("16 bytes"));
        assert!(MasterKey::parse("not base64 at all!").is_err());
        assert_eq!(format!("{k:?}"), "MasterKey(..)");
    }

    #[test]
    fn subkeys_differ_by_purpose_and_kids_are_valid() {
        let k = MasterKey::generate().unwrap();
        assert_ne!(
            k.subkey(PURPOSE_AEAD)[..],
            k.subkey(PURPOSE_FINGERPRINT)[..]
        );
        assert!(valid_kid(&k.derived_kid()));
        assert!(!valid_kid("k1:x") && !valid_kid("") && !valid_kid(&"k".repeat(33)));
    }
}
