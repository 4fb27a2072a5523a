//! The gateway's rule for the secrets it verifies tokens with: every HMAC secret of the ring
//! (current and previous) must pass `vigil token check-config`'s strength rule, or the gateway
//! does not start; `--allow-weak-secret` lifts that only on a loopback listen address.

use std::net::SocketAddr;
use vigil_token::compliance::WeakSecret;

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

/// Applies the rule to `weak`, what the strength rule found in the ring
/// (`TokenSettings::refuse_weak`, which names each secret where it was written): the weak
/// secrets allowed (to warn about), or why the gateway may not start.
pub fn check(
    weak: Result<Vec<WeakSecret>, WeakSecret>,
    listen: SocketAddr,
) -> Result<Vec<WeakSecret>, SecretsError> {
    let weak = weak.map_err(SecretsError::Weak)?;
    match weak.first() {
        Some(w) if !listen.ip().is_loopback() => Err(SecretsError::NotLoopback(w.clone(), listen)),
        _ => Ok(weak),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_token::compliance::refuse_weak;
    use vigil_token::{Algorithm, Key, KeyRing};

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
            check(refuse_weak(weak.keys(), false), lo),
            Err(SecretsError::Weak(_))
        ));
        assert!(matches!(
            check(refuse_weak(weak.keys(), false), any),
            Err(SecretsError::Weak(_))
        ));
        assert!(matches!(
            check(refuse_weak(weak.keys(), true), any),
            Err(SecretsError::NotLoopback(..))
        ));
        assert_eq!(check(refuse_weak(weak.keys(), true), lo).unwrap().len(), 1);
        // 48 distinct characters of a 62-letter alphabet, built here (no literal secret).
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let strong: Vec<u8> = (0..48).map(|i| alphabet[(i * 37 + 11) % 62]).collect();
        let strong = ring(&strong);
        assert!(check(refuse_weak(strong.keys(), false), any)
            .unwrap()
            .is_empty());
    }
}
