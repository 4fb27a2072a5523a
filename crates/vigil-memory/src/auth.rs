//! Who is writing, proven: on `--listen` every request carries `Authorization: Bearer …`, either
//! a client JWT verified against `vigil token`'s key ring for the store's audience, or a gateway
//! assertion (`vigil_token::assertion`) verified against the one gateway key the store trusts.
//! Its `sub` is the principal the audit log records. Headers such as `X-Vigil-Subject` are never
//! read: any local process can send them.

use http::HeaderMap;
use vigil_token::{AssertionVerifier, Verifier};

/// A verified principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The subject (`sub`).
    pub subject: String,
    /// How it was proven.
    pub via: Via,
}

/// How a principal was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The client's own bearer token.
    Token,
    /// A gateway assertion.
    Gateway,
    /// `--principal` on stdio (the operator who started the process).
    Operator,
}

/// Why a request was refused; `code` goes into `WWW-Authenticate`'s description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `missing_token`, `malformed_header`, or a token rejection code (`bad_signature`, …).
    pub code: &'static str,
    /// A sentence (never quoting the token).
    pub message: String,
}

/// Verifies bearer tokens and gateway assertions.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Option<Verifier>,
    audience: String,
    assertions: Option<AssertionVerifier>,
}

impl Authenticator {
    /// Client tokens verified by `tokens` (must carry `audience`), and/or gateway assertions
    /// verified by `assertions`; `None` when neither is given (nothing to verify with).
    pub fn new(
        tokens: Option<Verifier>,
        audience: &str,
        assertions: Option<AssertionVerifier>,
    ) -> Option<Authenticator> {
        if tokens.is_none() && assertions.is_none() {
            return None;
        }
        Some(Authenticator {
            tokens,
            audience: audience.to_owned(),
            assertions,
        })
    }

    /// The principal of a request with these headers, as of `now` (seconds since the epoch).
    pub fn principal(&self, headers: &HeaderMap, now: u64) -> Result<Principal, Refusal> {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(Refusal {
                code: "missing_token",
                message: "no bearer token (X-Vigil-Subject and similar headers are not trusted)"
                    .into(),
            });
        };
        if values.next().is_some() {
            return Err(malformed("more than one Authorization header"));
        }
        let text = value
            .to_str()
            .map_err(|_| malformed("the Authorization header is not ASCII"))?;
        let (scheme, token) = text
            .split_once(' ')
            .ok_or_else(|| malformed("expected `Bearer <token>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(malformed("expected the Bearer scheme"));
        }
        let token = token.trim();
        if AssertionVerifier::is_assertion(token) {
            let Some(v) = &self.assertions else {
                return Err(Refusal {
                    code: "untrusted_assertion",
                    message:
                        "gateway assertions are not trusted here ([memory.assertion] is not set)"
                            .into(),
                });
            };
            let verified = v.verify(token, now).map_err(|r| Refusal {
                code: r.code(),
                message: format!("gateway assertion refused: {r}"),
            })?;
            return subject(verified, Via::Gateway);
        }
        let Some(v) = &self.tokens else {
            return Err(Refusal {
                code: "untrusted_token",
                message: "only gateway assertions are accepted here".into(),
            });
        };
        let verified = v
            .verify_for(token, now, std::slice::from_ref(&self.audience))
            .map_err(|r| Refusal {
                code: r.code(),
                message: format!("token refused: {r}"),
            })?;
        match verified.claims.sub {
            Some(s) if !s.is_empty() => subject(s, Via::Token),
            _ => Err(Refusal {
                code: "missing_claim",
                message: "token refused: no `sub` (the audit log needs a principal)".into(),
            }),
        }
    }
}

/// The longest principal accepted, in bytes.
pub const MAX_PRINCIPAL: usize = 256;

/// Checks a principal before the audit log records it: 1 to [`MAX_PRINCIPAL`] bytes, no control
/// character (a newline would forge a row of `vigil memory log`, an escape sequence would reach
/// a terminal) and no invisible or bidirectional formatting character.
pub fn check_principal(p: &str) -> Result<(), BadPrincipal> {
    if p.trim().is_empty() {
        return Err(BadPrincipal::Empty);
    }
    if p.len() > MAX_PRINCIPAL {
        return Err(BadPrincipal::TooLong);
    }
    // The same characters a path may not hold (`name::refused_char`): control, format,
    // separators, odd spaces, fillers, private-use and unassigned code points.
    if p.chars().any(|c| crate::name::refused_char(c).is_some()) {
        return Err(BadPrincipal::Control);
    }
    Ok(())
}

/// Why [`check_principal`] refused a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPrincipal {
    /// Empty or only spaces.
    #[error("is empty")]
    Empty,
    /// Over [`MAX_PRINCIPAL`] bytes.
    #[error("is longer than 256 bytes")]
    TooLong,
    /// A control or invisible formatting character.
    #[error("holds a control or invisible formatting character")]
    Control,
}

fn subject(subject: String, via: Via) -> Result<Principal, Refusal> {
    match check_principal(&subject) {
        Ok(()) => Ok(Principal { subject, via }),
        Err(why) => Err(Refusal {
            code: "invalid_subject",
            message: format!("refused: the `sub` claim {why}"),
        }),
    }
}

fn malformed(message: &str) -> Refusal {
    Refusal {
        code: "malformed_header",
        message: message.into(),
    }
}
