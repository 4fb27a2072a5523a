//! Why a token was refused: one variant per reason, each with a stable machine name ([`Rejection::code`])
//! and a message that never contains the token or a key.

use thiserror::Error;

/// The precise reason a token failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// Longer than the configured limit; rejected before any decoding.
    #[error("token is {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Length of the token.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Not a compact JWS: wrong number of parts, bad base64url, bad JSON, wrong JSON types.
    #[error("malformed token ({0})")]
    Malformed(String),
    /// The same key twice in the header or the claims (parsers disagree on which one wins).
    #[error("duplicate key `{key}` in the {part}")]
    DuplicateKey {
        /// `header` or `claims`.
        part: &'static str,
        /// The repeated key.
        key: String,
    },
    /// `alg: none` (any casing): an unsigned token.
    #[error("unsigned token (alg `none`) refused")]
    AlgorithmNone,
    /// An algorithm Vigil does not implement.
    #[error("unsupported algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// An algorithm outside the allow-list.
    #[error("algorithm {0} is not allowed (allowed: {1})")]
    AlgorithmNotAllowed(String, String),
    /// No key of the ring belongs to the token's algorithm family (for instance an HS256 token
    /// when the ring holds only public keys: a public key is never used as an HMAC secret).
    #[error("no key in the ring can verify {0}; public keys are never used as HMAC secrets")]
    NoKeyForAlgorithm(String),
    /// A `crit` header naming extensions Vigil does not understand (RFC 7515 §4.1.11).
    #[error("critical header extension not supported: {0}")]
    UnsupportedCritical(String),
    /// A `kid` with characters that have no business in a key id (paths, quotes, spaces).
    #[error("key id rejected: it may contain only letters, digits and . _ : - (1 to 128 of them)")]
    InvalidKeyId,
    /// A `kid` that no live key carries.
    #[error("unknown key id `{0}`")]
    UnknownKeyId(String),
    /// A `kid` that names a key of another algorithm (never a reason to try the kid-less keys).
    #[error("key `{kid}` is not an {alg} key")]
    KeyAlgorithm {
        /// The token's `kid`.
        kid: String,
        /// The token's `alg`.
        alg: String,
    },
    /// The third part is empty.
    #[error("signature missing")]
    MissingSignature,
    /// No live key produced this signature.
    #[error("bad signature: no live key of the ring signed this token")]
    BadSignature,
    /// A claim the policy requires is absent.
    #[error("missing required claim `{0}`")]
    MissingClaim(&'static str),
    /// A registered claim has the wrong JSON type or an impossible value.
    #[error("claim `{0}` is invalid: {1}")]
    InvalidClaim(&'static str, &'static str),
    /// `exp` (plus leeway) is in the past.
    #[error("expired {} ago", human(*.0))]
    Expired(u64),
    /// `nbf` (minus leeway) is in the future.
    #[error("not valid yet: valid in {}", human(*.0))]
    NotYetValid(u64),
    /// `iat` (minus leeway) is in the future.
    #[error("issued in the future ({} from now)", human(*.0))]
    IssuedInFuture(u64),
    /// `exp` is further away than the policy's maximum lifetime.
    #[error("lifetime {} exceeds the maximum of {}", human(*.0), human(*.1))]
    LifetimeTooLong(u64, u64),
    /// `aud` does not name an accepted audience.
    #[error("wrong audience: token is for {got}, expected {expected}")]
    WrongAudience {
        /// The token's audiences.
        got: String,
        /// What was accepted.
        expected: String,
    },
    /// `iss` is not the configured issuer.
    #[error("wrong issuer: {got}, expected {expected}")]
    WrongIssuer {
        /// The token's issuer (or `none`).
        got: String,
        /// The configured issuer.
        expected: String,
    },
}

impl Rejection {
    /// A stable, machine-readable name of the reason (used in JSON output and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::TooLarge { .. } => "too_large",
            Rejection::Malformed(_) => "malformed",
            Rejection::DuplicateKey { .. } => "duplicate_key",
            Rejection::AlgorithmNone => "alg_none",
            Rejection::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Rejection::AlgorithmNotAllowed(..) => "algorithm_not_allowed",
            Rejection::NoKeyForAlgorithm(_) => "no_key_for_algorithm",
            Rejection::UnsupportedCritical(_) => "unsupported_critical",
            Rejection::InvalidKeyId => "invalid_kid",
            Rejection::UnknownKeyId(_) => "unknown_kid",
            Rejection::KeyAlgorithm { .. } => "kid_alg_mismatch",
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::MissingClaim(_) => "missing_claim",
            Rejection::InvalidClaim(..) => "invalid_claim",
            Rejection::Expired(_) => "expired",
            Rejection::NotYetValid(_) => "not_yet_valid",
            Rejection::IssuedInFuture(_) => "issued_in_future",
            Rejection::LifetimeTooLong(..) => "lifetime_too_long",
            Rejection::WrongAudience { .. } => "wrong_audience",
            Rejection::WrongIssuer { .. } => "wrong_issuer",
        }
    }
}

/// `3725` → `1h 2m 5s`; the format every time span in Vigil's token messages uses.
pub fn human(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    parts.join(" ")
}
