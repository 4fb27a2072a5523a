//! The key ring: every key that is live at once, so a secret or key pair can be rotated without
//! downtime. Mint signs with the current key; verify accepts any live key whose algorithm matches
//! the token's. A key is bound to one algorithm, so a public key can never be used as an HMAC
//! secret (the HS/RS confusion attack) and an RS256 key never verifies PS256.

use crate::compliance::{secret_weakness, Weakness};
use crate::jwks::Jwks;
use crate::Rejection;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A problem building a key (always names where the key came from; never quotes key material).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("{path}: cannot read key: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A key file or JWK does not hold a key of the expected kind.
    #[error("{origin}: {message}")]
    Invalid {
        /// File name or `jwks key <kid>`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// One live key.
pub struct Key {
    /// Where the key came from, for messages and logs: `MCP_JWT_SECRET`, `keys/ed.pem`, `jwks:kid`.
    pub label: String,
    /// The `kid` the key is published under, if any.
    pub kid: Option<String>,
    /// The one algorithm this key signs and verifies.
    pub alg: Algorithm,
    decoding: DecodingKey,
    signing: Option<EncodingKey>,
    /// For an HMAC secret: why it is too weak to trust (`check-config`'s rule), if it is.
    weakness: Option<Weakness>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("label", &self.label)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("material", &"[REDACTED]")
            .finish()
    }
}

/// An algorithm name JOSE does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm `{0}` (known: HS256 HS384 HS512 ES256 ES384 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA)")]
pub struct UnknownAlgorithm(pub String);

/// Parses an algorithm name as JOSE writes it (`HS256`, `EdDSA`…).
pub fn parse_alg(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
    Algorithm::from_str(name).map_err(|_| UnknownAlgorithm(name.to_owned()))
}

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

/// The JOSE name of an algorithm.
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

fn invalid(origin: &str, message: impl Into<String>) -> KeyError {
    KeyError::Invalid {
        origin: origin.to_owned(),
        message: message.into(),
    }
}

impl Key {
    /// An HMAC secret (HS256/384/512). `label` names its source, e.g. the variable.
    pub fn hmac(label: &str, secret: &[u8], alg: Algorithm) -> Result<Key, KeyError> {
        if alg.family() != AlgorithmFamily::Hmac {
            return Err(invalid(
                label,
                format!("{} is not an HMAC algorithm", alg_name(alg)),
            ));
        }
        if secret.is_empty() {
            return Err(invalid(label, "the secret is empty"));
        }
        Ok(Key {
            label: label.to_owned(),
            kid: None,
            alg,
            decoding: DecodingKey::from_secret(secret),
            signing: Some(EncodingKey::from_secret(secret)),
            weakness: secret_weakness(&String::from_utf8_lossy(secret)),
        })
    }

    /// A key from PEM files: a public key to verify and, optionally, the private key to mint.
    /// `alg` may be omitted when the private key says it (Ed25519 → EdDSA, P-256 → ES256,
    /// RSA → RS256).
    pub fn from_pem_files(
        kid: Option<String>,
        alg: Option<Algorithm>,
        public: Option<&Path>,
        private: Option<&Path>,
    ) -> Result<Key, KeyError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| KeyError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        let label = private
            .or(public)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "key".into());
        let signing = match private {
            Some(p) => Some(signing_from_pem(&label, &read(p)?, alg)?),
            None => None,
        };
        let alg = match (alg, &signing) {
            (Some(a), _) => a,
            (None, Some((a, _))) => *a,
            (None, None) => {
                return Err(invalid(
                    &label,
                    "say `alg` for a public key without its private key",
                ))
            }
        };
        if alg.family() == AlgorithmFamily::Hmac {
            return Err(invalid(
                &label,
                "HMAC keys are secrets: give them through a variable, not a PEM file",
            ));
        }
        let decoding = match public {
            Some(p) => decoding_from_pem(&label, &read(p)?, alg)?,
            None => {
                // Derive the public half from the private key through its JWK.
                let (_, enc) = signing
                    .as_ref()
                    .expect("private key present when public is absent");
                let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(enc, alg)
                    .map_err(|e| invalid(&label, format!("cannot derive the public key: {e}")))?;
                DecodingKey::from_jwk(&jwk)
                    .map_err(|e| invalid(&label, format!("cannot derive the public key: {e}")))?
            }
        };
        Ok(Key {
            label,
            kid,
            alg,
            decoding,
            signing: signing.map(|(_, k)| k),
            weakness: None,
        })
    }

    /// A verification key from one JWK of a set. `None` for keys that are not for signatures
    /// (`use: enc`) or are symmetric (`kty: oct`: secrets never travel in a JWKS).
    pub fn from_jwk(jwk: &jsonwebtoken::jwk::Jwk, origin: &str) -> Result<Option<Key>, KeyError> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Ok(None);
        }
        let kid = jwk.common.key_id.clone();
        let label = format!("{origin}:{}", kid.as_deref().unwrap_or("(no kid)"));
        let alg = match jwk.common.key_algorithm {
            Some(ka) => Some(
                parse_alg(&format!("{ka:?}"))
                    .map_err(|_| invalid(&label, "not a signature algorithm"))?,
            ),
            None => match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(p) => match p.curve {
                    EllipticCurve::P256 => Some(Algorithm::ES256),
                    EllipticCurve::P384 => Some(Algorithm::ES384),
                    _ => None,
                },
                AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
                AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
                _ => None,
            },
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            tracing::warn!(key = %label, "symmetric key in a JWKS ignored: HMAC secrets belong in a variable");
            return Ok(None);
        }
        let Some(alg) = alg else {
            return Err(invalid(
                &label,
                "cannot tell the key's algorithm; add `alg`",
            ));
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|e| invalid(&label, e.to_string()))?;
        if decoding.family() != alg.family() {
            return Err(invalid(
                &label,
                format!("key type does not fit alg {}", alg_name(alg)),
            ));
        }
        Ok(Some(Key {
            label,
            kid,
            alg,
            decoding,
            signing: None,
            weakness: None,
        }))
    }

    /// The same key without its signing half: it verifies but never mints (a previous secret).
    pub fn verify_only(mut self) -> Key {
        self.signing = None;
        self
    }

    /// For an HMAC secret that fails `check-config`'s strength rule (a known default, or under
    /// 256 bits of estimated entropy): why. `None` for strong secrets and asymmetric keys.
    pub fn weakness(&self) -> Option<&Weakness> {
        self.weakness.as_ref()
    }

    /// Whether this key can mint (holds a private key or a secret).
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The public JWK of an asymmetric key that holds its private half (for `vigil token jwks`).
    pub fn public_jwk(&self) -> Option<jsonwebtoken::jwk::Jwk> {
        if self.alg.family() == AlgorithmFamily::Hmac {
            return None;
        }
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(self.signing.as_ref()?, self.alg).ok()?;
        jwk.common.key_id = self.kid.clone();
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Some(jwk)
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn signing(&self) -> Option<&EncodingKey> {
        self.signing.as_ref()
    }
}

/// A PEM private-key loader of `jsonwebtoken`.
type PemLoader = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;

fn signing_from_pem(
    label: &str,
    pem: &[u8],
    alg: Option<Algorithm>,
) -> Result<(Algorithm, EncodingKey), KeyError> {
    let want = alg.map(|a| a.family());
    let tries: [(AlgorithmFamily, Algorithm, PemLoader); 3] = [
        (
            AlgorithmFamily::Ed,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem,
        ),
        (
            AlgorithmFamily::Ec,
            Algorithm::ES256,
            EncodingKey::from_ec_pem,
        ),
        (
            AlgorithmFamily::Rsa,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem,
        ),
    ];
    for (family, default, load) in tries {
        if want.is_some_and(|w| w != family) {
            continue;
        }
        if let Ok(k) = load(pem) {
            return Ok((alg.unwrap_or(default), k));
        }
    }
    Err(invalid(
        label,
        match alg {
            Some(a) => format!("not a PEM private key for {}", alg_name(a)),
            None => "not a PEM private key (Ed25519, EC P-256/P-384 or RSA)".to_owned(),
        },
    ))
}

fn decoding_from_pem(label: &str, pem: &[u8], alg: Algorithm) -> Result<DecodingKey, KeyError> {
    let key = match alg.family() {
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Hmac => unreachable!("checked by the caller"),
    };
    key.map_err(|_| invalid(label, format!("not a PEM public key for {}", alg_name(alg))))
}

/// Every live key: static keys (secrets and PEM files) and, optionally, a JWKS.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
    current: Option<usize>,
    jwks: Option<Jwks>,
}

/// Which key verified a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsed {
    /// The key's label.
    pub label: String,
    /// The key's `kid`.
    pub kid: Option<String>,
    /// Whether it is the current (minting) key; `false` means a previous key still accepted.
    pub current: bool,
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
