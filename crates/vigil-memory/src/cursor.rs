//! Paging cursors the server hands out and takes back: the position is readable, and a MAC
//! under a key made at start binds it to the call it came from, so a crafted or borrowed cursor
//! is `bad_cursor`, never a position.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How many bytes of the MAC a cursor carries (128 bits: forging one is out of reach).
const TAG_LEN: usize = 16;

/// Seals and opens cursors with a key that lives as long as the process: a cursor from an
/// earlier run is `bad_cursor`, and the client starts the listing again.
pub struct Cursors {
    key: [u8; 32],
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors { key: [REDACTED] }")
    }
}

impl Cursors {
    /// A fresh random key.
    pub fn new() -> std::io::Result<Cursors> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(std::io::Error::other)?;
        Ok(Cursors { key })
    }

    fn tag(&self, call: &str, scope: &str, position: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        for part in [call, scope, position] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let tag = mac.finalize().into_bytes();
        tag[..TAG_LEN].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The cursor for `position` in `call` (`read`, `list`, …) over `scope` (its file, folder
    /// or query).
    pub fn seal(&self, call: &str, scope: &str, position: &str) -> String {
        format!("{position}~{}", self.tag(call, scope, position))
    }

    /// The position of a cursor this process sealed for the same call and scope, else `None`.
    pub fn open<'c>(&self, call: &str, scope: &str, cursor: &'c str) -> Option<&'c str> {
        let (position, tag) = cursor.rsplit_once('~')?;
        let want = self.tag(call, scope, position);
        // Constant time: the tag is a secret's image.
        use subtle::ConstantTimeEq;
        bool::from(want.as_bytes().ct_eq(tag.as_bytes())).then_some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_opens_only_for_its_call_and_scope_and_only_unaltered() {
        let c = Cursors::new().unwrap();
        let s = c.seal("read", "big.md", "abc@10");
        assert_eq!(c.open("read", "big.md", &s), Some("abc@10"));
        assert_eq!(c.open("read", "big2.md", &s), None);
        assert_eq!(c.open("list", "big.md", &s), None);
        assert_eq!(c.open("read", "big.md", &s.replace("@10", "@11")), None);
        assert_eq!(c.open("read", "big.md", "abc@10"), None);
        let other = Cursors::new().unwrap();
        assert_eq!(other.open("read", "big.md", &s), None, "another run's key");
    }
}
