//! The gateway assertion: a short-lived JWT that an authenticating gateway signs with its own key
//! for one upstream, saying which client it verified. The upstream trusts the gateway's key,
//! never a header such as `X-Vigil-Subject` that any local process could send.
//!
//! Format (a compact JWS, explicitly typed so no other token is ever taken for one):
//!
//! | part | value |
//! | --- | --- |
//! | header `typ` | `vigil-assertion+jwt` (required) |
//! | header `alg`, `kid` | the gateway's key (EdDSA, ES256 or HS256; `kid` when it has one) |
//! | `iss` | the gateway's name, e.g. `vigil-gateway` (required, must equal the configured issuer) |
//! | `aud` | the route's upstream audience, e.g. `memory` (required) |
//! | `sub` | the client subject the gateway verified (required, non-empty) |
//! | `iat`, `nbf`, `exp` | issue time and expiry; `exp - iat` at most [`MAX_LIFETIME`] seconds |
//! | `jti` | 128 random bits (required; each is accepted once: a replay is refused) |
//!
//! The verifier remembers every `jti` it accepted until that assertion expires (at most
//! [`MAX_SEEN`] at once; past that it refuses, failing closed), so an assertion captured on the
//! way cannot be replayed within its lifetime.
//! It travels in the upstream request's `Authorization: Bearer …` header (the gateway never
//! forwards the client's own token).

use crate::key::Key;
use crate::keyring::KeyRing;
use crate::mint::{mint_typed, MintError, MintRequest};
use crate::{Policy, Rejection, Verifier};

/// The `typ` header every assertion carries.
pub const TYP: &str = "vigil-assertion+jwt";

/// The longest lifetime an assertion may have, in seconds.
pub const MAX_LIFETIME: u64 = 300;

/// The default lifetime a gateway gives an assertion, in seconds.
pub const DEFAULT_LIFETIME: u64 = 30;

/// Signs an assertion for `upstream` saying the gateway `issuer` verified `subject`.
pub fn mint_assertion(
    key: &Key,
    issuer: &str,
    upstream: &str,
    subject: &str,
    now: u64,
    lifetime: u64,
) -> Result<String, MintError> {
    let req = MintRequest {
        audiences: vec![upstream.to_owned()],
        subject: Some(subject.to_owned()),
        issuer: Some(issuer.to_owned()),
        ttl: lifetime,
        claims: Default::default(),
    };
    mint_typed(key, &req, Some(TYP), now, MAX_LIFETIME)
}

/// The most assertions remembered at once for replay detection.
pub const MAX_SEEN: usize = 65_536;

/// The longest `jti` accepted, in bytes.
pub const MAX_JTI: usize = 128;

/// Verifies assertions from one trusted gateway for one upstream audience.
#[derive(Debug)]
pub struct AssertionVerifier {
    verifier: Verifier,
    /// Accepted `jti`s and their `exp`.
    seen: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    leeway: i64,
}

impl AssertionVerifier {
    /// Trusts the keys of `ring` (the gateway's, and only those), assertions issued by `issuer`
    /// for `audience`, living at most `max_lifetime` seconds (capped at [`MAX_LIFETIME`]).
    pub fn new(ring: KeyRing, issuer: &str, audience: &str, max_lifetime: u64) -> Self {
        let policy = Policy {
            audiences: vec![audience.to_owned()],
            issuer: Some(issuer.to_owned()),
            max_ttl: max_lifetime.min(MAX_LIFETIME),
            leeway: 5,
            ..Policy::default()
        };
        AssertionVerifier {
            verifier: Verifier::new(ring, policy),
            seen: Default::default(),
            leeway: 5,
        }
    }

    /// Whether `token`'s header says it is an assertion (read without verifying anything, only
    /// to choose the verifier; the signature decides).
    pub fn is_assertion(token: &str) -> bool {
        let Ok(split) = crate::parts::split(token) else {
            return false;
        };
        crate::parts::b64(split.header, "header")
            .ok()
            .and_then(|h| crate::parts::header(&h).ok())
            .and_then(|h| h.typ)
            .is_some_and(|t| t == TYP)
    }

    /// The verified subject, or why the assertion is refused.
    pub fn verify(&self, token: &str, now: u64) -> Result<String, Rejection> {
        let v = self.verifier.verify(token, now)?;
        if v.header.typ.as_deref() != Some(TYP) {
            return Err(Rejection::InvalidClaim("typ", "not a gateway assertion"));
        }
        if v.claims.iat.is_none() {
            return Err(Rejection::MissingClaim("iat"));
        }
        let sub = match v.claims.sub {
            Some(s) if !s.is_empty() => s,
            _ => return Err(Rejection::MissingClaim("sub")),
        };
        let jti = match v.claims.jti {
            Some(j) if !j.is_empty() && j.len() <= MAX_JTI => j,
            Some(_) => return Err(Rejection::InvalidClaim("jti", "empty or too long")),
            None => return Err(Rejection::MissingClaim("jti")),
        };
        let exp = v.claims.exp.ok_or(Rejection::MissingClaim("exp"))?;
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains_key(&jti) {
            return Err(Rejection::InvalidClaim(
                "jti",
                "already used (a replayed assertion)",
            ));
        }
        if seen.len() >= MAX_SEEN {
            let leeway = self.leeway;
            seen.retain(|_, e| e.saturating_add(leeway) >= now);
            if seen.len() >= MAX_SEEN {
                return Err(Rejection::InvalidClaim(
                    "jti",
                    "too many assertions in flight to check for replay; retry",
                ));
            }
        }
        seen.insert(jti, exp);
        Ok(sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;

    fn key(secret: &[u8]) -> Key {
        Key::hmac("gateway", secret, Algorithm::HS256).unwrap()
    }

    fn verifier(secret: &[u8]) -> AssertionVerifier {
        let mut ring = KeyRing::new();
        ring.push(key(secret));
        AssertionVerifier::new(ring, "vigil-gateway", "memory", 60)
    }

    #[test]
    fn an_assertion_round_trips_and_names_its_subject() {
        let s = [9u8; 32];
        let t = mint_assertion(&key(&s), "vigil-gateway", "memory", "alice", 1_000, 30).unwrap();
        assert!(AssertionVerifier::is_assertion(&t));
        assert_eq!(verifier(&s).verify(&t, 1_010).unwrap(), "alice");
    }

    #[test]
    fn an_assertion_is_accepted_once_and_one_without_jti_never() {
        let s = [9u8; 32];
        let v = verifier(&s);
        let t = mint_assertion(&key(&s), "vigil-gateway", "memory", "alice", 1_000, 30).unwrap();
        assert_eq!(v.verify(&t, 1_001).unwrap(), "alice");
        let again = v.verify(&t, 1_002).unwrap_err();
        assert_eq!(again.code(), "invalid_claim");
        assert!(again.to_string().contains("replayed"), "{again}");
        // A fresh one from the same gateway still passes.
        let t2 = mint_assertion(&key(&s), "vigil-gateway", "memory", "alice", 1_000, 30).unwrap();
        assert_eq!(v.verify(&t2, 1_003).unwrap(), "alice");
        // Signed correctly but without `jti`: refused.
        let header = jsonwebtoken::Header {
            typ: Some(TYP.into()),
            kid: Some("gateway".into()),
            ..jsonwebtoken::Header::new(Algorithm::HS256)
        };
        let claims = serde_json::json!({"iss": "vigil-gateway", "aud": "memory", "sub": "alice",
                                        "iat": 1_000, "nbf": 1_000, "exp": 1_030});
        let no_jti = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&s),
        )
        .unwrap();
        let e = v.verify(&no_jti, 1_001).unwrap_err();
        assert_eq!(e.code(), "missing_claim", "{e}");
    }

    #[test]
    fn forged_stale_misdirected_and_untyped_assertions_are_refused() {
        let s = [9u8; 32];
        let v = verifier(&s);
        let other = mint_assertion(&key(&[8u8; 32]), "vigil-gateway", "memory", "a", 1_000, 30);
        assert_eq!(
            v.verify(&other.unwrap(), 1_001).unwrap_err().code(),
            "bad_signature"
        );
        let stale = mint_assertion(&key(&s), "vigil-gateway", "memory", "a", 1_000, 30).unwrap();
        assert_eq!(v.verify(&stale, 1_100).unwrap_err().code(), "expired");
        let long = mint_assertion(&key(&s), "vigil-gateway", "memory", "a", 1_000, 200).unwrap();
        assert_eq!(
            v.verify(&long, 1_001).unwrap_err().code(),
            "lifetime_too_long"
        );
        let aud = mint_assertion(&key(&s), "vigil-gateway", "git", "a", 1_000, 30).unwrap();
        assert_eq!(v.verify(&aud, 1_001).unwrap_err().code(), "wrong_audience");
        let iss = mint_assertion(&key(&s), "someone", "memory", "a", 1_000, 30).unwrap();
        assert_eq!(v.verify(&iss, 1_001).unwrap_err().code(), "wrong_issuer");
        // A plain token signed with the same key is not an assertion.
        let req = MintRequest {
            audiences: vec!["memory".into()],
            subject: Some("a".into()),
            issuer: Some("vigil-gateway".into()),
            ttl: 30,
            claims: Default::default(),
        };
        let plain = crate::mint(&key(&s), &req, 1_000, 60).unwrap();
        assert!(!AssertionVerifier::is_assertion(&plain));
        assert!(v.verify(&plain, 1_001).is_err());
    }
}
