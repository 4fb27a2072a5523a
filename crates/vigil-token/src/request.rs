//! What the token commands' flags ask for, checked against the policy: a [`MintRequest`] from
//! `mint`'s flags, a [`Policy`] narrowed by `verify`'s. Every problem names its flag.

use crate::config::{flag_duration, Invalid, TokenError};
use crate::mint::MintRequest;
use crate::verify::Policy;
use vigil_core::Origin;

/// `vigil token mint`'s flags, as given.
#[derive(Debug, Clone, Default)]
pub struct MintFlags {
    /// `--aud` (repeatable).
    pub audiences: Vec<String>,
    /// `--ttl`: seconds or `15m`, `1h`…
    pub ttl: String,
    /// `--sub`.
    pub subject: Option<String>,
    /// `--claim KEY=VALUE` (VALUE read as JSON when it parses, else as a string).
    pub claims: Vec<String>,
}

fn flag(name: &str, error: Invalid) -> TokenError {
    TokenError::Invalid {
        origin: Origin::Flag(name.to_owned()),
        error: Box::new(error),
    }
}

impl MintRequest {
    /// The request `flags` describe under `policy`: every audience must be one of the
    /// configured ones (when any are), the issuer is the policy's. The lifetime and reserved
    /// claims are checked by [`crate::mint()`].
    pub fn from_flags(flags: &MintFlags, policy: &Policy) -> Result<MintRequest, TokenError> {
        let ttl = flag_duration("--ttl", &flags.ttl)?.as_secs();
        if !policy.audiences.is_empty() {
            if let Some(a) = flags
                .audiences
                .iter()
                .find(|a| !policy.audiences.contains(a))
            {
                return Err(flag(
                    "--aud",
                    Invalid::Audience {
                        audience: a.clone(),
                        allowed: policy.audiences.clone(),
                    },
                ));
            }
        }
        let mut claims = serde_json::Map::new();
        for c in &flags.claims {
            let (k, v) = c
                .split_once('=')
                .ok_or_else(|| flag("--claim", Invalid::Claim(c.clone())))?;
            let value =
                serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
            claims.insert(k.to_owned(), value);
        }
        Ok(MintRequest {
            audiences: flags.audiences.clone(),
            subject: flags.subject.clone(),
            issuer: policy.issuer.clone(),
            ttl,
            claims,
        })
    }
}

impl Policy {
    /// Narrows the policy with `verify`'s flags: `--leeway` replaces the leeway, `--aud` (when
    /// given) the accepted audiences.
    pub fn with_flags(
        mut self,
        leeway: Option<&str>,
        audiences: &[String],
    ) -> Result<Policy, TokenError> {
        if let Some(l) = leeway {
            self.leeway = flag_duration("--leeway", l)?.as_secs();
        }
        if !audiences.is_empty() {
            self.audiences = audiences.to_vec();
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked_against_the_policy_and_named() {
        let policy = Policy {
            audiences: vec!["filesystem".into(), "memory".into()],
            issuer: Some("vigil".into()),
            ..Policy::default()
        };
        let mut flags = MintFlags {
            audiences: vec!["memory".into()],
            ttl: "15m".into(),
            claims: vec!["scope=[\"read\"]".into(), "team=ops".into()],
            ..MintFlags::default()
        };
        let r = MintRequest::from_flags(&flags, &policy).unwrap();
        assert_eq!((r.ttl, r.issuer.as_deref()), (900, Some("vigil")));
        assert_eq!(r.claims["scope"], serde_json::json!(["read"]));
        assert_eq!(r.claims["team"], "ops");
        flags.audiences = vec!["git".into()];
        let e = MintRequest::from_flags(&flags, &policy).unwrap_err();
        assert_eq!(e.origin(), Some(Origin::Flag("--aud".into())));
        assert_eq!(
            e.to_string(),
            "--aud: `git` is not one of the configured audiences (filesystem, memory)"
        );
        flags.audiences = vec!["memory".into()];
        flags.claims = vec!["team".into()];
        let e = MintRequest::from_flags(&flags, &policy).unwrap_err();
        assert_eq!(e.to_string(), "--claim: `team` is not KEY=VALUE");
        flags.ttl = "soon".into();
        let e = MintRequest::from_flags(&flags, &policy).unwrap_err();
        assert!(e.to_string().starts_with("--ttl: not a duration"), "{e}");
        let p = policy.with_flags(Some("1m"), &["git".into()]).unwrap();
        assert_eq!(
            (p.leeway, p.audiences.as_slice()),
            (60, &["git".to_owned()][..])
        );
    }
}
