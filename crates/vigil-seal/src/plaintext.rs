//! `Plaintext`: decrypted bytes that are zeroized on drop and never shown by `Debug`.

use std::fmt;
use zeroize::Zeroizing;

/// Decrypted bytes. `Debug` prints only the length; the memory is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    /// Wraps bytes (the vector is moved, not copied).
    pub fn new(bytes: Vec<u8>) -> Self {
        Plaintext(Zeroizing::new(bytes))
    }

    /// The bytes. Callers must not log, print or return them in an error.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as UTF-8, or `None`.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&[u8]> for Plaintext {
    fn from(b: &[u8]) -> Self {
        Plaintext::new(b.to_vec())
    }
}

impl From<&str> for Plaintext {
    fn from(s: &str) -> Self {
        Plaintext::new(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_shows_only_the_length() {
        let p = super::Plaintext::from("hunter2-but-longer-0042");
        assert_eq!(format!("{p:?}"), "Plaintext(23 bytes)");
        assert_eq!(p.as_str(), Some("hunter2-but-longer-0042"));
    }
}
