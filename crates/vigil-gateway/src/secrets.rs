//! The gateway's rule for the secrets it verifies tokens with: every HMAC secret of the ring
//! (current and previous) must pass `vigil token check-config`'s strength rule, or the gateway
//! does not start; `--allow-weak-secret` lifts that only on a loopback listen address.

use std::net::SocketAddr;
use vigil_token::compliance::{refuse_weak, WeakSecret};
use vigil_token::KeyRing;

/// Why the gateway refuses its keys.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A weak or default secret, without `--allow-weak-secret`.
    #[error(
        "{0}; refused (--allow-weak-secret accepts it on a loopback address, for development only)"
    )]
    Weak(WeakSecret),
    /// `--allow-weak-secret` on an address other machines can reach.
    // The variable's name leads: the log redactor takes a word after `secret:` for a value.
    #[error("{0}; --allow-weak-secret accepts it only on a loopback listen address, not {1}")]
    NotLoopback(WeakSecret, SocketAddr),
}

/// Applies the rule: the weak secrets allowed (to warn about), or why the gateway may not start.
/// `placed` names a weak secret where it was written (an `--env-file` line).
pub fn check(
    ring: &KeyRing,
    listen: SocketAddr,
    allow_weak: bool,
    placed: impl Fn(WeakSecret) -> WeakSecret,
) -> Result<Vec<WeakSecret>, SecretsError> {
    let weak = refuse_weak(ring.keys(), allow_weak).map_err(|w| SecretsError::Weak(placed(w)))?;
    let weak: Vec<WeakSecret> = weak.into_iter().map(placed).collect();
    match weak.first() {
        Some(w) if !listen.ip().is_loopback() => Err(SecretsError::NotLoopback(w.clone(), listen)),
        _ => Ok(weak),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_token::{Algorithm, Key};

    fn ring(secret: &[u8]) -> KeyRing {
        let mut r = KeyRing::new();
        r.push(Key::hmac("MCP_JWT_SECRET", secret, Algorithm::HS256).unwrap());
        r
    }

    #[test]
    fn weak_secrets_pass_only_when_allowed_on_loopback() {
        let weak = ring(b"password123");
        let lo: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8443".parse().unwrap();
        assert!(matches!(
            check(&weak, lo, false, |w| w),
            Err(SecretsError::Weak(_))
        ));
        assert!(matches!(
            check(&weak, any, false, |w| w),
            Err(SecretsError::Weak(_))
        ));
        assert!(matches!(
            check(&weak, any, true, |w| w),
            Err(SecretsError::NotLoopback(..))
        ));
        assert_eq!(check(&weak, lo, true, |w| w).unwrap().len(), 1);
        // 48 distinct characters of a 62-letter alphabet, built here (no literal secret).
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let strong: Vec<u8> = (0..48).map(|i| alphabet[(i * 37 + 11) % 62]).collect();
        let strong = ring(&strong);
        assert!(check(&strong, any, false, |w| w).unwrap().is_empty());
    }
}
