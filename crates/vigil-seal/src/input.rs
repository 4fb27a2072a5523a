//! Bounded reads: every input a command takes (stdin, `--in`, a token, a leaked text) is read
//! up to its limit plus one byte, and refused past it, so `/dev/zero` or a runaway pipe costs a
//! bounded amount of memory, never all of it.

use crate::error::{Result, SealError};
use std::io::Read;

/// Reads all of `r`, refusing more than `limit` bytes; `what` names the input in errors.
pub fn read_limited(r: impl Read, limit: usize, what: &str) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    r.take(limit as u64 + 1)
        .read_to_end(&mut b)
        .map_err(|e| SealError::Io {
            path: what.to_owned(),
            error: e,
        })?;
    if b.len() > limit {
        return Err(SealError::InputTooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn refuses_past_the_limit_after_reading_one_byte_more() {
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let e = super::read_limited(zero, 1024, "/dev/zero").unwrap_err();
        assert_eq!(e.to_string(), "/dev/zero: more than 1024 bytes; refused");
        assert_eq!(super::read_limited(&b"abc"[..], 3, "x").unwrap(), b"abc");
    }
}
