//! Sizes as people write them in `vigil.toml` and on the command line: `4096`, `500KB`, `10MiB`.

use crate::origin::{Located, Origin};
use serde::Deserialize;

/// A size written as a number of bytes or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    /// Bytes.
    Bytes(u64),
    /// `10MiB`, `500KB`, `1G`...
    Text(String),
}

/// Why a text is not a size. The text is quoted: a size is never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No leading number.
    #[error("`{0}` is not a size (examples: 10MiB, 500KB, 4096)")]
    NotASize(String),
    /// A unit other than B, K, M, G (with or without `B`/`iB`).
    #[error("`{0}` has an unknown unit (use B, KiB, MiB or GiB)")]
    UnknownUnit(String),
    /// More bytes than fit in 64 bits.
    #[error("`{0}` is too large")]
    TooLarge(String),
}

impl SizeValue {
    /// The number of bytes, or why the text is not a size.
    pub fn bytes(&self) -> Result<u64, SizeError> {
        match self {
            SizeValue::Bytes(b) => Ok(*b),
            SizeValue::Text(t) => parse(t),
        }
    }

    /// [`SizeValue::bytes`], with the error naming where the value was written.
    pub fn bytes_at(&self, origin: impl FnOnce() -> Origin) -> Result<u64, Located<SizeError>> {
        self.bytes().map_err(|e| Located::new(origin(), e))
    }
}

/// Parses `10MiB`, `10M`, `500KB`, `1g`, `4096` into bytes (K/M/G are powers of 1024).
pub fn parse(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| SizeError::NotASize(t.to_owned()))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(SizeError::UnknownUnit(t.to_owned())),
    };
    n.checked_mul(mult)
        .ok_or_else(|| SizeError::TooLarge(t.to_owned()))
}

/// A size for people: `10 MiB`, `512 KiB`, `1000 B` (whole units only).
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("10MiB"), Ok(10 << 20));
        assert_eq!(parse("1g"), Ok(1 << 30));
        assert_eq!(parse("ten"), Err(SizeError::NotASize("ten".into())));
        assert_eq!(
            parse("5 parsecs"),
            Err(SizeError::UnknownUnit("5 parsecs".into()))
        );
        assert!(matches!(
            parse("99999999999999999999G"),
            Err(SizeError::NotASize(_))
        ));
        assert_eq!(
            parse("99999999999G"),
            Err(SizeError::TooLarge("99999999999G".into()))
        );
    }

    #[test]
    fn errors_name_their_origin() {
        let e = SizeValue::Text("lots".into())
            .bytes_at(|| Origin::Flag("--max-file-size".into()))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--max-file-size: `lots` is not a size (examples: 10MiB, 500KB, 4096)"
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(10 << 20), "10 MiB");
        assert_eq!(human(1000), "1000 B");
        assert_eq!(human(3 << 30), "3 GiB");
    }
}
