//! Passphrases stretched with Argon2id. A value sealed under a passphrase carries the parameters
//! and salt in its header field, `argon2id.m<KiB>.t<passes>.p<lanes>.<salt, base64url>`, and the
//! parameters are checked against fixed bounds before any work is done, so a hostile value can
//! cost at most 64 MiB and a fraction of a second per salt (each salt is derived once per
//! process, and a run derives at most `ring::MAX_DERIVATIONS` salts), never minutes or
//! gigabytes. Vigil writes 19 MiB and 2 passes; the bounds leave room above that, no more.

use crate::error::{Result, SealError};
use crate::key::{MasterKey, KEY_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// The prefix of a passphrase header field.
pub const PREFIX: &str = "argon2id.";
/// Largest accepted memory cost, in KiB (64 MiB).
pub const MAX_M_KIB: u32 = 64 * 1024;
/// Largest accepted number of passes.
pub const MAX_T: u32 = 8;
/// Largest accepted number of lanes.
pub const MAX_P: u32 = 4;
/// Largest accepted memory × passes, in KiB (64 MiB × 4 passes).
pub const MAX_COST: u64 = 256 * 1024;
/// Salt length written, in bytes.
pub const SALT_LEN: usize = 16;
const MAX_SALT: usize = 64;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

/// What new values use: OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane).
pub const DEFAULT: Params = Params {
    m_kib: 19 * 1024,
    t: 2,
    p: 1,
};

impl Params {
    /// Checks the bounds; the error names the parameter and its limit.
    pub fn check(&self) -> Result<()> {
        let Params { m_kib, t, p } = *self;
        if !(1..=MAX_P).contains(&p) {
            return Err(SealError::Kdf(format!("p={p} is outside 1..={MAX_P}")));
        }
        if !(1..=MAX_T).contains(&t) {
            return Err(SealError::Kdf(format!("t={t} is outside 1..={MAX_T}")));
        }
        if m_kib < 8 * p || m_kib > MAX_M_KIB {
            return Err(SealError::Kdf(format!(
                "m={m_kib} KiB is outside {}..={MAX_M_KIB} KiB",
                8 * p
            )));
        }
        if u64::from(m_kib) * u64::from(t) > MAX_COST {
            return Err(SealError::Kdf(format!(
                "m×t = {} KiB is above the limit of {MAX_COST} KiB",
                u64::from(m_kib) * u64::from(t)
            )));
        }
        Ok(())
    }
}

/// The header field for parameters and salt.
pub fn header(params: Params, salt: &[u8]) -> String {
    format!(
        "{PREFIX}m{}.t{}.p{}.{}",
        params.m_kib,
        params.t,
        params.p,
        URL_SAFE_NO_PAD.encode(salt)
    )
}

/// Reads a header field (canonical form only), checking the bounds before anything else.
pub fn parse_header(field: &str) -> Result<(Params, Vec<u8>)> {
    let bad = || SealError::Format(format!("malformed passphrase header `{field}`"));
    let rest = field.strip_prefix(PREFIX).ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split('.').collect();
    let [m, t, p, salt] = parts[..] else {
        return Err(bad());
    };
    let num = |s: &str, tag: char| -> Result<u32> {
        let d = s.strip_prefix(tag).ok_or_else(bad)?;
        if d.is_empty() || d.len() > 10 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Ten digits may exceed u32: that is a bound violation, reported as such.
        let n: u64 = d.parse().map_err(|_| bad())?;
        u32::try_from(n).map_err(|_| SealError::Kdf(format!("{tag}={n} is far above its limit")))
    };
    let params = Params {
        m_kib: num(m, 'm')?,
        t: num(t, 't')?,
        p: num(p, 'p')?,
    };
    params.check()?;
    let salt = URL_SAFE_NO_PAD.decode(salt).map_err(|_| bad())?;
    if !(SALT_LEN..=MAX_SALT).contains(&salt.len()) {
        return Err(SealError::Kdf(format!(
            "a salt of {} bytes is outside {SALT_LEN}..={MAX_SALT}",
            salt.len()
        )));
    }
    if header(params, &salt) != field {
        return Err(bad());
    }
    Ok((params, salt))
}

/// Stretches a passphrase into a master key (the parameters are checked first).
pub fn derive(passphrase: &[u8], params: Params, salt: &[u8]) -> Result<MasterKey> {
    params.check()?;
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN))
        .map_err(|e| SealError::Kdf(e.to_string()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    a.hash_password_into(passphrase, salt, &mut out[..])
        .map_err(|e| SealError::Kdf(e.to_string()))?;
    Ok(MasterKey::from_bytes(*out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_only_canonical_ones_parse() {
        let salt = [9u8; 16];
        let h = header(DEFAULT, &salt);
        assert_eq!(parse_header(&h).unwrap(), (DEFAULT, salt.to_vec()));
        let s = URL_SAFE_NO_PAD.encode(salt);
        for bad in [
            format!("argon2id.m019456.t2.p1.{s}"),
            format!("argon2id.m19456.t2.p1.{s}.x"),
            format!("argon2i.m19456.t2.p1.{s}"),
            format!("argon2id.m19456.t2.{s}"),
            format!("argon2id.m19456.t+2.p1.{s}"),
        ] {
            assert!(
                matches!(parse_header(&bad), Err(SealError::Format(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn hostile_parameters_are_refused_before_any_work() {
        let s = URL_SAFE_NO_PAD.encode([1u8; 16]);
        for (field, what) in [
            (format!("argon2id.m4194304.t1.p1.{s}"), "m=4194304"),
            (format!("argon2id.m262144.t4.p8.{s}"), "p=8"),
            (format!("argon2id.m262144.t4.p1.{s}"), "m=262144"),
            (format!("argon2id.m65536.t1000.p1.{s}"), "t=1000"),
            (format!("argon2id.m65536.t1.p255.{s}"), "p=255"),
            (format!("argon2id.m65536.t8.p1.{s}"), "m×t"),
            (format!("argon2id.m9999999999.t1.p1.{s}"), "m=9999999999"),
            (
                format!("argon2id.m19456.t2.p1.{}", URL_SAFE_NO_PAD.encode([1u8; 4])),
                "salt of 4 bytes",
            ),
        ] {
            let e = parse_header(&field).unwrap_err();
            assert!(
                matches!(&e, SealError::Kdf(m) if m.contains(what)),
                "{field}: {e}"
            );
        }
    }
}
