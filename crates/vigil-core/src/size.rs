//! Sizes as people write them in `vigil.toml` and on the command line: `4096`, `500KB`, `10MiB`.

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

impl SizeValue {
    /// The number of bytes, or why the text is not a size.
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            SizeValue::Bytes(b) => Ok(*b),
            SizeValue::Text(t) => parse(t),
        }
    }
}

/// Parses `10MiB`, `10M`, `500KB`, `1g`, `4096` into bytes (K/M/G are powers of 1024).
pub fn parse(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a size (examples: 10MiB, 500KB, 4096)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{t}` has an unknown unit (use B, KiB, MiB or GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{t}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn sizes() {
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("10MiB"), Ok(10 << 20));
        assert_eq!(parse("1g"), Ok(1 << 30));
        assert!(parse("ten").is_err());
        assert!(parse("5 parsecs").is_err());
    }
}
