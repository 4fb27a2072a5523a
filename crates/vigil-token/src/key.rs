//! One key: an HMAC secret, a PEM key pair or a JWK, bound to exactly one algorithm, and the
//! errors of building one. The ring ([`crate::keyring`]) and a JWKS ([`crate::jwks`]) both hold
//! keys of this type; neither needs the other to make one.

use crate::compliance::{secret_weakness, Weakness};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A problem building a key (always names where the key came from; never quotes key material).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("{}: cannot read key: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file or JWK does not hold a key of the expected kind.
    #[error("{label}: {problem}")]
    Invalid {
        /// The key's name: a variable, a file, or `<jwks>:<kid>`.
        label: String,
        /// What is wrong.
        problem: KeyProblem,
    },
}

/// What is wrong with a key's material or its declared algorithm.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    /// A secret given an algorithm that is not HMAC.
    #[error("{} is not an HMAC algorithm", alg_name(*.0))]
    NotHmac(Algorithm),
    /// An empty secret.
    #[error("the secret is empty")]
    EmptySecret,
    /// A public key alone, without `alg`.
    #[error("say `alg` for a public key without its private key")]
    AlgRequired,
    /// An HMAC algorithm for a PEM file.
    #[error("HMAC keys are secrets: give them through a variable, not a PEM file")]
    HmacInPem,
    /// The public half cannot be derived from the private key.
    #[error("cannot derive the public key: {0}")]
    DerivePublic(jsonwebtoken::errors::Error),
    /// A JWK whose `alg` is not a signature algorithm.
    #[error("not a signature algorithm")]
    NotSignature,
    /// A JWK whose algorithm cannot be told.
    #[error("cannot tell the key's algorithm; add `alg`")]
    UnknownJwkAlgorithm,
    /// A JWK `jsonwebtoken` cannot use.
    #[error("{0}")]
    Jwk(jsonwebtoken::errors::Error),
    /// A JWK whose key type does not fit its `alg`.
    #[error("key type does not fit alg {}", alg_name(*.0))]
    WrongFamily(Algorithm),
    /// A file that is not a PEM private key (of this algorithm, when one was given).
    #[error("{}", match .0 {
        Some(a) => format!("not a PEM private key for {}", alg_name(*a)),
        None => "not a PEM private key (Ed25519, EC P-256/P-384 or RSA)".to_owned(),
    })]
    NotPrivatePem(Option<Algorithm>),
    /// A file that is not a PEM public key of this algorithm.
    #[error("not a PEM public key for {}", alg_name(*.0))]
    NotPublicPem(Algorithm),
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

fn invalid(label: &str, problem: KeyProblem) -> KeyError {
    KeyError::Invalid {
        label: label.to_owned(),
        problem,
    }
}

impl Key {
    /// An HMAC secret (HS256/384/512). `label` names its source, e.g. the variable.
    pub fn hmac(label: &str, secret: &[u8], alg: Algorithm) -> Result<Key, KeyError> {
        if alg.family() != AlgorithmFamily::Hmac {
            return Err(invalid(label, KeyProblem::NotHmac(alg)));
        }
        if secret.is_empty() {
            return Err(invalid(label, KeyProblem::EmptySecret));
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
                path: p.to_path_buf(),
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
            (None, None) => return Err(invalid(&label, KeyProblem::AlgRequired)),
        };
        if alg.family() == AlgorithmFamily::Hmac {
            return Err(invalid(&label, KeyProblem::HmacInPem));
        }
        let decoding = match public {
            Some(p) => decoding_from_pem(&label, &read(p)?, alg)?,
            None => {
                // Derive the public half from the private key through its JWK.
                let (_, enc) = signing
                    .as_ref()
                    .expect("private key present when public is absent");
                let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(enc, alg)
                    .map_err(|e| invalid(&label, KeyProblem::DerivePublic(e)))?;
                DecodingKey::from_jwk(&jwk)
                    .map_err(|e| invalid(&label, KeyProblem::DerivePublic(e)))?
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
                    .map_err(|_| invalid(&label, KeyProblem::NotSignature))?,
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
            return Err(invalid(&label, KeyProblem::UnknownJwkAlgorithm));
        };
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|e| invalid(&label, KeyProblem::Jwk(e)))?;
        if decoding.family() != alg.family() {
            return Err(invalid(&label, KeyProblem::WrongFamily(alg)));
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
    Err(invalid(label, KeyProblem::NotPrivatePem(alg)))
}

fn decoding_from_pem(label: &str, pem: &[u8], alg: Algorithm) -> Result<DecodingKey, KeyError> {
    let key = match alg.family() {
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Hmac => unreachable!("checked by the caller"),
    };
    key.map_err(|_| invalid(label, KeyProblem::NotPublicPem(alg)))
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
