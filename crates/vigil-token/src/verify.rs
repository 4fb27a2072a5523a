//! Verification: size limit, strict parsing, algorithm allow-list, key lookup in the ring,
//! signature, then the time, audience and issuer claims, each failure with its own reason.

use crate::key::{alg_name, KeyUsed};
use crate::keyring::KeyRing;
use crate::parts::{self, Claims, Header};
use crate::Rejection;
use jsonwebtoken::Algorithm;
use std::str::FromStr;

/// What a token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Algorithms accepted. Empty means "those of the ring's keys".
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// Longest lifetime accepted (`exp` − `iat`, and `exp` − now), in seconds.
    pub max_ttl: u64,
    /// Accepted audiences; empty accepts any (and a missing `aud`).
    pub audiences: Vec<String>,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Tokens longer than this are refused unread.
    pub max_token_bytes: usize,
    /// Refuse tokens without `exp`.
    pub require_exp: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            algorithms: Vec::new(),
            leeway: 30,
            max_ttl: 86_400,
            audiences: Vec::new(),
            issuer: None,
            max_token_bytes: 8192,
            require_exp: true,
        }
    }
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The key that verified it.
    pub key: KeyUsed,
    /// Its header.
    pub header: Header,
    /// Its claims.
    pub claims: Claims,
    /// Seconds until `exp` (0 when within the leeway past it).
    pub expires_in: u64,
}

/// Verifies tokens against a key ring under a policy. Cheap to share (`&self` everywhere).
#[derive(Debug)]
pub struct Verifier {
    ring: KeyRing,
    policy: Policy,
    allowed: Vec<Algorithm>,
}

/// `kid` values accepted: what key ids look like in practice, nothing that could be a path,
/// a query or markup.
fn kid_ok(kid: &str) -> bool {
    (1..=128).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        && !kid.contains("..")
}

impl Verifier {
    /// A verifier; the allow-list defaults to the algorithms of the ring's keys.
    pub fn new(ring: KeyRing, policy: Policy) -> Self {
        let allowed = if policy.algorithms.is_empty() {
            ring.algorithms()
        } else {
            policy.algorithms.clone()
        };
        Verifier {
            ring,
            policy,
            allowed,
        }
    }

    /// The ring.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The algorithms accepted.
    pub fn allowed(&self) -> &[Algorithm] {
        &self.allowed
    }

    /// Verifies `token` as of `now` (seconds since the epoch), against the policy's audiences.
    pub fn verify(&self, token: &str, now: u64) -> Result<Verified, Rejection> {
        self.verify_for(token, now, &self.policy.audiences)
    }

    /// Verifies `token` as of `now`, accepting the given audiences instead of the policy's.
    pub fn verify_for(
        &self,
        token: &str,
        now: u64,
        audiences: &[String],
    ) -> Result<Verified, Rejection> {
        if token.len() > self.policy.max_token_bytes {
            return Err(Rejection::TooLarge {
                len: token.len(),
                limit: self.policy.max_token_bytes,
            });
        }
        let split = parts::split(token)?;
        let header = parts::header(&parts::b64(split.header, "header")?)?;
        let alg = self.algorithm(&header)?;
        if let Some(crit) = &header.crit {
            return Err(Rejection::UnsupportedCritical(crit.join(", ")));
        }
        if let Some(kid) = &header.kid {
            if !kid_ok(kid) {
                return Err(Rejection::InvalidKeyId);
            }
        }
        if split.signature.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        // Decoded here only to tell a malformed signature from a wrong one.
        parts::b64(split.signature, "signature")?;
        let input = split.signing_input.as_bytes();
        let key = self
            .ring
            .find(alg, header.kid.as_deref(), |k| {
                jsonwebtoken::crypto::verify(split.signature, input, k.decoding(), alg)
                    .unwrap_or(false)
            })?
            .ok_or(Rejection::BadSignature)?;
        let claims = parts::claims(&parts::b64(split.claims, "claims")?)?;
        let expires_in = self.check_claims(&claims, now, audiences)?;
        Ok(Verified {
            alg,
            key,
            header,
            claims,
            expires_in,
        })
    }

    fn algorithm(&self, header: &Header) -> Result<Algorithm, Rejection> {
        let name = header
            .alg
            .as_deref()
            .ok_or_else(|| Rejection::Malformed("header has no `alg`".into()))?;
        if name.eq_ignore_ascii_case("none") {
            return Err(Rejection::AlgorithmNone);
        }
        let alg = Algorithm::from_str(name)
            .map_err(|_| Rejection::UnsupportedAlgorithm(name.chars().take(32).collect()))?;
        if !self.allowed.contains(&alg) {
            let list: Vec<&str> = self.allowed.iter().map(|a| alg_name(*a)).collect();
            return Err(Rejection::AlgorithmNotAllowed(name.into(), list.join(", ")));
        }
        Ok(alg)
    }

    fn check_claims(&self, c: &Claims, now: u64, audiences: &[String]) -> Result<u64, Rejection> {
        let p = &self.policy;
        let now = now as i64;
        let leeway = p.leeway as i64;
        let max_ttl = p.max_ttl as i64;
        let exp = match c.exp {
            Some(e) => e,
            None if p.require_exp => return Err(Rejection::MissingClaim("exp")),
            None => i64::MAX,
        };
        if exp != i64::MAX && exp.saturating_add(leeway) <= now {
            return Err(Rejection::Expired((now - exp) as u64));
        }
        if let Some(nbf) = c.nbf {
            if nbf.saturating_sub(leeway) > now {
                return Err(Rejection::NotYetValid((nbf - now) as u64));
            }
        }
        if let Some(iat) = c.iat {
            if iat.saturating_sub(leeway) > now {
                return Err(Rejection::IssuedInFuture((iat - now) as u64));
            }
        }
        if exp != i64::MAX {
            let from = c.iat.unwrap_or(now).min(now);
            let life = exp.saturating_sub(from);
            if life > max_ttl.saturating_add(leeway) {
                return Err(Rejection::LifetimeTooLong(life as u64, p.max_ttl));
            }
        }
        if !audiences.is_empty() {
            let Some(aud) = &c.aud else {
                return Err(Rejection::MissingClaim("aud"));
            };
            if !aud.iter().any(|a| audiences.contains(a)) {
                return Err(Rejection::WrongAudience {
                    got: shown(aud),
                    expected: shown(audiences),
                });
            }
        }
        if let Some(want) = &p.issuer {
            if c.iss.as_deref() != Some(want.as_str()) {
                return Err(Rejection::WrongIssuer {
                    got: c
                        .iss
                        .clone()
                        .map(|s| s.chars().take(64).collect())
                        .unwrap_or_else(|| "none".into()),
                    expected: want.clone(),
                });
            }
        }
        Ok(exp.saturating_sub(now).max(0) as u64)
    }
}

fn shown(list: &[String]) -> String {
    let items: Vec<String> = list
        .iter()
        .take(5)
        .map(|a| format!("`{}`", a.chars().take(64).collect::<String>()))
        .collect();
    items.join(", ")
}
