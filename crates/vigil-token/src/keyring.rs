//! The key ring: every key that is live at once, so a secret or key pair can be rotated without
//! downtime. Mint signs with the current key; verify accepts any live key whose algorithm matches
//! the token's. A key is bound to one algorithm, so a public key can never be used as an HMAC
//! secret (the HS/RS confusion attack) and an RS256 key never verifies PS256.

use crate::jwks::Jwks;
use crate::key::{alg_name, Key, KeyUsed};
use crate::Rejection;
use jsonwebtoken::Algorithm;

/// The ring has no key that can sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no key in the ring can sign (the previous secret and public keys only verify)")]
pub struct NoSigner;

/// The ring has no asymmetric key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ring has no asymmetric key to publish (HMAC secrets are never published)")]
pub struct NothingToPublish;

/// A key that cannot be made the ring's current one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrentError {
    /// No key has this `kid` or label.
    #[error("no key with kid or name `{0}` in the ring")]
    Unknown(String),
    /// The key only verifies.
    #[error("key `{0}` has no private key, so it cannot be current")]
    CannotSign(String),
}

/// Every live key: static keys (secrets and PEM files) and, optionally, a JWKS.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
    current: Option<usize>,
    jwks: Option<Jwks>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Adds a key; the first key that can sign becomes current unless [`KeyRing::set_current`]
    /// says otherwise.
    pub fn push(&mut self, key: Key) {
        if self.current.is_none() && key.can_sign() {
            self.current = Some(self.keys.len());
        }
        self.keys.push(key);
    }

    /// Makes the key with this `kid` or label the current one.
    pub fn set_current(&mut self, name: &str) -> Result<(), CurrentError> {
        let i = self
            .keys
            .iter()
            .position(|k| k.kid.as_deref() == Some(name) || k.label == name)
            .ok_or_else(|| CurrentError::Unknown(name.to_owned()))?;
        if !self.keys[i].can_sign() {
            return Err(CurrentError::CannotSign(name.to_owned()));
        }
        self.current = Some(i);
        Ok(())
    }

    /// Attaches a JWKS source.
    pub fn set_jwks(&mut self, jwks: Jwks) {
        self.jwks = Some(jwks);
    }

    /// The JWKS source, if any.
    pub fn jwks(&self) -> Option<&Jwks> {
        self.jwks.as_ref()
    }

    /// The key mint signs with.
    pub fn current(&self) -> Option<&Key> {
        self.current.map(|i| &self.keys[i])
    }

    /// The key mint signs with, or why there is none.
    pub fn signer(&self) -> Result<&Key, NoSigner> {
        self.current().ok_or(NoSigner)
    }

    /// The public JWK set of the ring's asymmetric keys, to publish; HMAC secrets never are.
    pub fn public_set(&self) -> Result<jsonwebtoken::jwk::JwkSet, NothingToPublish> {
        let keys: Vec<_> = self.keys.iter().filter_map(Key::public_jwk).collect();
        if keys.is_empty() {
            return Err(NothingToPublish);
        }
        Ok(jsonwebtoken::jwk::JwkSet { keys })
    }

    /// The static keys (secrets and PEM keys), current first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The algorithms the ring's keys serve (the default allow-list).
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = self.keys.iter().map(|k| k.alg).collect();
        if let Some(j) = &self.jwks {
            algs.extend(j.algorithms());
        }
        let mut out = Vec::new();
        for a in algs {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// Tries the keys that may have signed a token with this `alg` and `kid`, in order, until
    /// `check` accepts one. `Ok(None)` means candidates existed and none matched.
    ///
    /// With a `kid`: the keys carrying it (static, then JWKS, refreshed once if none does);
    /// failing those, the static keys without a kid (a kid is only a hint, and HMAC secrets
    /// usually have none). Without a `kid`: every key of the algorithm.
    pub(crate) fn find(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        mut check: impl FnMut(&Key) -> bool,
    ) -> Result<Option<KeyUsed>, Rejection> {
        let used = |i: usize, k: &Key| KeyUsed {
            label: k.label.clone(),
            kid: k.kid.clone(),
            current: Some(i) == self.current,
        };
        let of_alg = || self.keys.iter().enumerate().filter(|(_, k)| k.alg == alg);
        if let Some(kid) = kid {
            let mut tried = false;
            for (i, k) in of_alg().filter(|(_, k)| k.kid.as_deref() == Some(kid)) {
                tried = true;
                if check(k) {
                    return Ok(Some(used(i, k)));
                }
            }
            if !tried {
                if let Some(j) = &self.jwks {
                    let visit = j.visit(alg, Some(kid), &mut check);
                    if visit.matched.is_some() {
                        return Ok(visit.matched);
                    }
                    tried = visit.tried;
                }
            }
            if tried {
                return Ok(None);
            }
            // A kid that names a key of another algorithm says which key signed (or claims
            // to): never fall back to a kid-less key of this algorithm for it.
            if self.keys.iter().any(|k| k.kid.as_deref() == Some(kid)) {
                return Err(Rejection::KeyAlgorithm {
                    kid: kid.to_owned(),
                    alg: alg_name(alg).into(),
                });
            }
            for (i, k) in of_alg().filter(|(_, k)| k.kid.is_none()) {
                tried = true;
                if check(k) {
                    return Ok(Some(used(i, k)));
                }
            }
            if tried {
                return Ok(None);
            }
            // With a JWKS any kid may appear there later, so "unknown kid" is the precise
            // reason; without one, a kid for an algorithm no key serves is a key-family problem.
            let any = of_alg().next().is_some() || self.jwks.is_some();
            return Err(if any {
                Rejection::UnknownKeyId(kid.to_owned())
            } else {
                Rejection::NoKeyForAlgorithm(alg_name(alg).into())
            });
        }
        let mut tried = false;
        for (i, k) in of_alg() {
            tried = true;
            if check(k) {
                return Ok(Some(used(i, k)));
            }
        }
        if let Some(j) = &self.jwks {
            let visit = j.visit(alg, None, &mut check);
            if visit.matched.is_some() {
                return Ok(visit.matched);
            }
            tried |= visit.tried;
        }
        if tried {
            Ok(None)
        } else {
            Err(Rejection::NoKeyForAlgorithm(alg_name(alg).into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kid_of_another_algorithm_never_falls_back_to_a_kid_less_key() {
        let mut ring = KeyRing::new();
        ring.push(Key::hmac("MCP_JWT_SECRET", &[7u8; 48], Algorithm::HS256).unwrap());
        let mut other = Key::hmac("other", &[9u8; 48], Algorithm::HS384).unwrap();
        other.kid = Some("rs1".into());
        ring.push(other);
        let e = ring
            .find(Algorithm::HS256, Some("rs1"), |_| true)
            .unwrap_err();
        assert_eq!(e.to_string(), "key `rs1` is not an HS256 key");
        // An unknown kid still falls back to the kid-less key (a kid is only a hint).
        assert!(ring
            .find(Algorithm::HS256, Some("zz"), |_| true)
            .unwrap()
            .is_some());
    }
}
