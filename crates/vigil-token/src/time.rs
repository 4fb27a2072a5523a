//! Time as the token commands read and print it: seconds since the epoch, `--at` as seconds or
//! RFC 3339, RFC 3339 out.

use crate::config::{Invalid, TokenError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vigil_core::Origin;

/// Seconds since the epoch now.
pub fn now() -> Result<u64, std::time::SystemTimeError> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

/// Seconds since the epoch at `--at` (seconds, or an RFC 3339 time), or now.
pub fn at(text: Option<&str>) -> Result<u64, TokenError> {
    let invalid = |s: &str| TokenError::Invalid {
        origin: Origin::Flag("--at".into()),
        error: Box::new(Invalid::Time(s.to_owned())),
    };
    match text {
        None => now().map_err(|_| invalid("now")),
        Some(s) => {
            if let Ok(n) = s.parse::<u64>() {
                return Ok(n);
            }
            humantime::parse_rfc3339_weak(s)
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .ok_or_else(|| invalid(s))
        }
    }
}

/// An RFC 3339 rendering of seconds since the epoch (the number itself when out of range).
pub fn rfc3339(secs: i64) -> String {
    if secs < 0 {
        return secs.to_string();
    }
    match UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64)) {
        Some(t) if secs < 253_402_300_800 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => secs.to_string(),
    }
}
