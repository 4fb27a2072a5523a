//! The sealed value: `vseal:v1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>`, XChaCha20-Poly1305
//! with a random 24-byte nonce, the key the header names, and the context (with the header
//! field) as associated data. Also the keyed fingerprint of a plaintext.
//!
//! The header field is a key id (`k2`) or, for a passphrase, its Argon2id parameters and salt
//! (`argon2id.m19456.t2.p1.<salt>`); neither contains `:`, and the payload is unpadded
//! base64url, so a value never needs quoting in a shell or any `.env` dialect.

use crate::context::Context;
use crate::error::{Result, SealError};
use crate::plaintext::Plaintext;
use crate::ring::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::{AeadInPlace, Tag, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// What every sealed value starts with.
pub const PREFIX: &str = "vseal:v1:";
/// Largest plaintext sealed, in bytes.
pub const MAX_PLAINTEXT: usize = 64 * 1024;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_PAYLOAD_CHARS: usize = (MAX_PLAINTEXT + NONCE_LEN + TAG_LEN) * 4 / 3 + 4;
/// Longest sealed value's text, in bytes (prefix, the longest header field, payload): what
/// `seal decrypt` reads at most.
pub const MAX_TEXT: usize = PREFIX.len() + 128 + 1 + MAX_PAYLOAD_CHARS;

/// A keyed fingerprint of a plaintext: HMAC-SHA256 under the fingerprint sub-key of the key
/// that sealed it, first 16 bytes in hex. Matches a leaked plaintext to where it is stored
/// without decrypting anything, and reveals nothing without the key.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Fingerprint {
    /// The header field (key id or passphrase header) of the key it was made under.
    pub kid: String,
    /// 32 hex characters.
    pub hex: String,
}

/// Seals `plaintext` under the ring's primary key, bound to `ctx`.
pub fn seal(ring: &KeyRing, ctx: &Context, plaintext: &[u8]) -> Result<String> {
    let (field, cipher) = ring.primary()?;
    seal_with(&cipher.aead, &field, ctx, plaintext)
}

thread_local! {
    /// Per-thread scratch for the associated data (no allocation per value).
    static AAD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with the associated data of (`field`, `ctx`).
fn with_aad<T>(field: &str, ctx: &Context, f: impl FnOnce(&[u8]) -> T) -> T {
    AAD.with(|cell| match cell.try_borrow_mut() {
        Ok(mut aad) => {
            aad.clear();
            ctx.encode_aad(field, &mut aad);
            f(&aad)
        }
        Err(_) => {
            let mut aad = Vec::new();
            ctx.encode_aad(field, &mut aad);
            f(&aad)
        }
    })
}

/// Seals, and returns the value's fingerprint too.
pub fn seal_with_fingerprint(
    ring: &KeyRing,
    ctx: &Context,
    plaintext: &[u8],
) -> Result<(String, Fingerprint)> {
    let (field, cipher) = ring.primary()?;
    let text = seal_with(&cipher.aead, &field, ctx, plaintext)?;
    let fp = Fingerprint {
        hex: hmac_hex(&cipher.fingerprint, plaintext),
        kid: field,
    };
    Ok((text, fp))
}

fn seal_with(
    aead: &chacha20poly1305::XChaCha20Poly1305,
    field: &str,
    ctx: &Context,
    plaintext: &[u8],
) -> Result<String> {
    if ctx.is_empty() {
        return Err(SealError::Context(
            "a value must be bound to a context (e.g. user=alice,field=openrouter_key)".into(),
        ));
    }
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(SealError::TooLarge(plaintext.len()));
    }
    let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    buf.resize(NONCE_LEN, 0);
    getrandom::fill(&mut buf[..NONCE_LEN]).map_err(|e| SealError::Keys {
        var: "nonce",
        message: format!("the OS random source failed: {e}"),
    })?;
    buf.extend_from_slice(plaintext);
    let (nonce, body) = buf.split_at_mut(NONCE_LEN);
    let tag = with_aad(field, ctx, |aad| {
        aead.encrypt_in_place_detached(XNonce::from_slice(nonce), aad, body)
    })
    .map_err(|_| SealError::TooLarge(plaintext.len()))?;
    buf.extend_from_slice(&tag);
    let mut out = String::with_capacity(PREFIX.len() + field.len() + 1 + buf.len() * 4 / 3 + 4);
    out.push_str(PREFIX);
    out.push_str(field);
    out.push(':');
    URL_SAFE_NO_PAD.encode_string(&buf, &mut out);
    Ok(out)
}

/// Splits a sealed value into its header field and payload, checking the prefix, the header
/// field and the payload's length (not the key, and not the payload's alphabet: see
/// [`is_sealed`]).
pub fn parse(text: &str) -> Result<(&str, &str)> {
    let t = text.trim();
    let Some(rest) = t.strip_prefix(PREFIX) else {
        return Err(SealError::Format(if t.starts_with("vseal:") {
            "unsupported vseal version (this Vigil reads vseal:v1)".into()
        } else {
            "not a sealed value (expected vseal:v1:<kid>:<payload>)".into()
        }));
    };
    let Some((field, payload)) = rest.split_once(':') else {
        return Err(SealError::Format("sealed value without a payload".into()));
    };
    if !(crate::key::valid_kid(field) || field.starts_with(crate::kdf::PREFIX)) {
        return Err(SealError::Format(format!(
            "malformed key id in a sealed value: `{}`",
            field.escape_debug()
        )));
    }
    // The alphabet is checked by the base64url decoder (or by `is_sealed`), not twice.
    let min = (NONCE_LEN + TAG_LEN) * 4 / 3;
    if payload.len() < min || payload.len() > MAX_PAYLOAD_CHARS {
        return Err(SealError::Format(
            "sealed value with a malformed payload (truncated, or not base64url)".into(),
        ));
    }
    Ok((field, payload))
}

/// The header field (key id or passphrase header) of a sealed value, without decrypting it.
pub fn header_of(text: &str) -> Result<&str> {
    parse(text).map(|(f, _)| f)
}

/// Whether `text` has the form of a sealed value: what this crate parses, and what
/// `vigil_core::ciphertext` (the recognition `vigil scan` and `vigil env` use) takes for one,
/// payload shaped like random base64url included.
pub fn is_sealed(text: &str) -> bool {
    parse(text).is_ok()
        && vigil_core::ciphertext::sealed(text) == Some(vigil_core::ciphertext::Sealed::Vigil)
}

/// Opens a sealed value with the one key its header names, checking the context.
pub fn open(ring: &KeyRing, ctx: &Context, text: &str) -> Result<Plaintext> {
    let (field, payload) = parse(text)?;
    if ctx.is_empty() {
        return Err(SealError::Context(
            "give the context the value was sealed with (e.g. user=alice,field=openrouter_key)"
                .into(),
        ));
    }
    let cipher = ring.cipher(field)?;
    let mut buf =
        Zeroizing::new(URL_SAFE_NO_PAD.decode(payload).map_err(|_| {
            SealError::Format("sealed value whose payload is not base64url".into())
        })?);
    if buf.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Format("sealed value too short".into()));
    }
    let split = buf.len() - TAG_LEN;
    let tag = Tag::clone_from_slice(&buf[split..]);
    let (nonce, body) = buf[..split].split_at_mut(NONCE_LEN);
    let nonce = *XNonce::from_slice(nonce);
    with_aad(field, ctx, |aad| {
        cipher
            .aead
            .decrypt_in_place_detached(&nonce, aad, body, &tag)
    })
    .map_err(|_| SealError::Decrypt {
        kid: field.to_owned(),
        context: ctx.to_string(),
    })?;
    buf.truncate(split);
    buf.drain(..NONCE_LEN);
    Ok(Plaintext::new(std::mem::take(&mut *buf)))
}

/// The fingerprint of `plaintext` under the key a header field names.
pub fn fingerprint(ring: &KeyRing, field: &str, plaintext: &[u8]) -> Result<Fingerprint> {
    let c = ring.cipher(field)?;
    Ok(Fingerprint {
        kid: field.to_owned(),
        hex: hmac_hex(&c.fingerprint, plaintext),
    })
}

fn hmac_hex(key: &[u8; 32], data: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    let d = m.finalize().into_bytes();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MasterKey;

    fn ring(kids: &[&str]) -> KeyRing {
        KeyRing::new(
            kids.iter()
                .map(|k| (k.to_string(), MasterKey::generate().unwrap()))
                .collect(),
        )
        .unwrap()
    }

    fn ctx(s: &str) -> Context {
        Context::parse(s).unwrap()
    }

    #[test]
    fn round_trip_and_the_form_core_recognises() {
        let r = ring(&["k1"]);
        let c = ctx("user=alice,field=openrouter_key");
        for pt in [&b""[..], b"x", &[0u8, 255, 10, 13][..], &[b'a'; 5000][..]] {
            let s = seal(&r, &c, pt).unwrap();
            assert!(s.starts_with("vseal:v1:k1:"), "{s}");
            assert_eq!(
                vigil_core::ciphertext::sealed(&s),
                Some(vigil_core::ciphertext::Sealed::Vigil)
            );
            assert_eq!(open(&r, &c, &s).unwrap().as_bytes(), pt);
        }
        // Two seals of one plaintext differ (random nonce).
        assert_ne!(seal(&r, &c, b"x").unwrap(), seal(&r, &c, b"x").unwrap());
    }

    #[test]
    fn another_context_header_or_any_flipped_bit_fails() {
        let r = ring(&["k1"]);
        let c = ctx("user=alice,field=openrouter_key");
        let s = seal(&r, &c, b"sk-or-v1-not-a-real-key").unwrap();
        for other in [
            "user=bob,field=openrouter_key",
            "user=alice,field=deepgram_key",
            "user=alice,field=openrouter_key,env=prod",
            "user=alice",
        ] {
            assert!(
                matches!(open(&r, &ctx(other), &s), Err(SealError::Decrypt { .. })),
                "{other}"
            );
        }
        let (field, payload) = parse(&s).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(payload).unwrap();
        for bit in 0..raw.len() * 8 {
            let mut b = raw.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let t = format!("{PREFIX}{field}:{}", URL_SAFE_NO_PAD.encode(&b));
            assert!(open(&r, &c, &t).is_err(), "bit {bit}");
        }
        assert!(open(&r, &c, &s.replace(":k1:", ":k2:")).is_err());
        assert!(open(&r, &c, &s[..s.len() - 2]).is_err());
        assert!(matches!(
            seal(&r, &Context::new(), b"x"),
            Err(SealError::Context(_))
        ));
    }

    #[test]
    fn only_the_named_key_is_tried() {
        let old = ring(&["k1"]);
        let c = ctx("user=alice,field=x");
        let s = seal(&old, &c, b"v").unwrap();
        let other = ring(&["k2"]);
        assert!(matches!(
            open(&other, &c, &s),
            Err(SealError::UnknownKey { kid, .. }) if kid == "k1"
        ));
        // Same id, different key: a decryption failure, never a silent second try.
        let impostor = ring(&["k1"]);
        assert!(matches!(
            open(&impostor, &c, &s),
            Err(SealError::Decrypt { .. })
        ));
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let r = ring(&["k1"]);
        let (_, a) = seal_with_fingerprint(&r, &ctx("a=1"), b"leaked").unwrap();
        let (_, b) = seal_with_fingerprint(&r, &ctx("b=2"), b"leaked").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.hex.len(), 32);
        assert_eq!(fingerprint(&r, "k1", b"leaked").unwrap(), a);
        let other = ring(&["k1"]);
        assert_ne!(fingerprint(&other, "k1", b"leaked").unwrap(), a);
    }
}
