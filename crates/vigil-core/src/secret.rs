//! `Secret<T>`: a value that prints, debugs and serializes only in redacted form, is zeroized on
//! drop, and compares only in constant time.

use std::fmt;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize;

/// A secret value. `Debug`, `Display` and `Serialize` show only [`mask`] of it; the only way to
/// the real bytes is [`Secret::expose_secret`], whose every use should say why in a comment.
///
/// There is no `PartialEq`: `==` on the bytes returns at the first difference, which tells an
/// attacker who can time it how much of a guess was right. [`Secret::ct_eq`] compares in time
/// that depends only on the lengths (`subtle`).
#[derive(Clone, Default)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize + AsRef<[u8]>> Secret<T> {
    /// Whether two secrets hold the same bytes, in constant time for equal lengths (a length
    /// difference is not hidden).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.ct_eq_bytes(other.0.as_ref())
    }

    /// Whether this secret's bytes equal `candidate`, in constant time for equal lengths.
    pub fn ct_eq_bytes(&self, candidate: &[u8]) -> bool {
        self.0.as_ref().ct_eq(candidate).into()
    }
}

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The real value. Callers must not log, print or return it in an error.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for Secret<String> {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret<String> {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// Anything a secret can be masked from: strings and byte vectors.
pub trait Maskable {
    /// The redacted form, see [`mask`].
    fn masked(&self) -> String;
}

impl Maskable for String {
    fn masked(&self) -> String {
        mask(self)
    }
}

impl Maskable for Vec<u8> {
    fn masked(&self) -> String {
        mask(&String::from_utf8_lossy(self))
    }
}

impl<T: Zeroize + Maskable> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.0.masked())
    }
}

impl<T: Zeroize + Maskable> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.masked())
    }
}

impl<T: Zeroize + Maskable> serde::Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.masked())
    }
}

impl<'de> serde::Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// The redacted form of a secret: `***` for values under 16 characters, otherwise the first and
/// last four characters around an ellipsis (`sk-p…Vk3M`), never the middle. A value of 16 to 31
/// characters keeps two on each side, so at most a quarter of it is shown.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=15 => return "***".to_owned(),
        16..=31 => 2,
        _ => 4,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_fully_hidden() {
        assert_eq!(mask(""), "***");
        assert_eq!(mask("hunter2"), "***");
        assert_eq!(mask("fifteen-chars-x"), "***");
    }

    #[test]
    fn long_values_keep_only_the_ends() {
        let v = format!("{}{}", "sk-p", "roj-abcdefghijklmnopqrstuvwxyz0123Vk3M");
        assert_eq!(mask(&v), "sk-p…Vk3M");
        assert_eq!(mask("0123456789abcdefXY"), "01…XY");
    }

    #[test]
    fn debug_display_and_serialize_are_masked() {
        let raw = "correct-horse-battery-staple-0042";
        let s = Secret::from(raw);
        for shown in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{s:#?}"),
            serde_json::to_string(&s).unwrap(),
        ] {
            assert!(!shown.contains(raw), "{shown}");
            assert!(shown.contains("corr…0042"), "{shown}");
        }
        assert_eq!(s.expose_secret(), raw);
    }

    #[test]
    fn comparison_is_by_content() {
        let a = Secret::from("correct-horse-battery-staple");
        assert!(a.ct_eq(&Secret::from("correct-horse-battery-staple")));
        assert!(!a.ct_eq(&Secret::from("correct-horse-battery-stapl3")));
        assert!(!a.ct_eq(&Secret::from("correct")));
        assert!(a.ct_eq_bytes(b"correct-horse-battery-staple"));
        assert!(Secret::new(vec![1u8, 2, 3]).ct_eq(&Secret::new(vec![1, 2, 3])));
    }

    proptest::proptest! {
        #[test]
        fn mask_never_shows_more_than_a_quarter(v in "\\PC{0,80}") {
            let m = mask(&v);
            let n = v.chars().count();
            let shown = m.chars().filter(|c| *c != '…').count();
            if n < 16 { proptest::prop_assert_eq!(m, "***"); } else { proptest::prop_assert!(shown * 4 <= n); }
        }
    }
}
