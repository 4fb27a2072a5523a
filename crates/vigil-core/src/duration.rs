//! Durations as people write them in `vigil.toml` and on the command line: `900` (seconds),
//! `15m`, `1h 30m`, `30days`, `1d`.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Why a text is not a duration (humantime's reason; the text itself is not repeated).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a duration ({0}); write e.g. 900, 15m, 1d")]
pub struct DurationError(#[from] humantime::DurationError);

/// Parses `900`, `15m`, `1d`, `2h 30m` (humantime syntax); a bare number means seconds.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    Ok(humantime::parse_duration(t)?)
}

/// Serde adapter for a duration written as a number of seconds or a humantime string.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
    }
}

/// Serde adapter for an optional duration (see [`deserialize`]).
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units() {
        assert_eq!(parse("900").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse("2h 30m").unwrap(), Duration::from_secs(9000));
        assert!(parse("soon")
            .unwrap_err()
            .to_string()
            .starts_with("not a duration"));
    }
}
