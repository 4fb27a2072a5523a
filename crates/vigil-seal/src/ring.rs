//! The key ring: master keys with ids, the first one primary, read from `VIGIL_SEAL_KEYS`
//! (`k2:<base64>,k1:<base64>`), `VIGIL_SEAL_KEY` (one key) and `VIGIL_SEAL_PASSPHRASE` (Argon2id).
//! A sealed value names its key id, and only that key is tried. Each key's sub-keys are derived
//! once per process and kept with the ring.

use crate::error::{Result, SealError};
use crate::kdf;
use crate::key::{valid_kid, MasterKey, PURPOSE_AEAD, PURPOSE_FINGERPRINT};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// The variable holding a ring of keys, primary first.
pub const VAR_KEYS: &str = "VIGIL_SEAL_KEYS";
/// The variable holding one key.
pub const VAR_KEY: &str = "VIGIL_SEAL_KEY";
/// The variable holding a passphrase.
pub const VAR_PASSPHRASE: &str = "VIGIL_SEAL_PASSPHRASE";
/// Prefix of every variable `vigil seal` reads (removed from `seal run`'s child).
pub const VAR_PREFIX: &str = "VIGIL_SEAL_";
/// Most distinct passphrase salts one ring derives keys for (each costs one Argon2id run).
pub const MAX_DERIVATIONS: usize = 16;
/// Shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE: usize = 12;
/// Least strength of a passphrase by `vigil_core::strength::estimate_chosen_bits` (dictionary
/// words and sequences removed first).
pub const MIN_PASSPHRASE_BITS: f64 = 64.0;

/// The sub-keys of one master key: the AEAD cipher and the fingerprint HMAC key.
pub(crate) struct Cipher {
    pub(crate) aead: XChaCha20Poly1305,
    pub(crate) fingerprint: Zeroizing<[u8; 32]>,
}

impl Cipher {
    fn new(master: &MasterKey) -> Self {
        let k = master.subkey(PURPOSE_AEAD);
        Cipher {
            aead: XChaCha20Poly1305::new((&*k).into()),
            fingerprint: master.subkey(PURPOSE_FINGERPRINT),
        }
    }
}

/// Master keys with their ids (first primary), and optionally a passphrase.
pub struct KeyRing {
    keys: Vec<(String, Arc<Cipher>)>,
    /// Ids derived from their key (`VIGIL_SEAL_KEY`, bare entries), for the unknown-key hint.
    derived_ids: Vec<String>,
    passphrase: Option<Zeroizing<String>>,
    derived: Mutex<HashMap<String, Arc<Cipher>>>,
    salt: Mutex<Option<Vec<u8>>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("kids", &self.kids())
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

impl KeyRing {
    /// A ring of keys, the first primary. Ids must be valid and unique, keys distinct.
    pub fn new(keys: Vec<(String, MasterKey)>) -> Result<Self> {
        let mut ring = KeyRing {
            keys: Vec::new(),
            derived_ids: Vec::new(),
            passphrase: None,
            derived: Mutex::new(HashMap::new()),
            salt: Mutex::new(None),
        };
        let mut seen: Vec<Zeroizing<String>> = Vec::new();
        for (i, (kid, key)) in keys.into_iter().enumerate() {
            let at = format!("entry {} (`{kid}`)", i + 1);
            if !valid_kid(&kid) {
                return Err(SealError::Keys {
                    var: VAR_KEYS,
                    message: format!("{at}: a key id is 1 to 32 characters of A-Z a-z 0-9 _ -"),
                });
            }
            if ring.keys.iter().any(|(k, _)| *k == kid) {
                return Err(SealError::Keys {
                    var: VAR_KEYS,
                    message: format!("{at}: the id is used twice"),
                });
            }
            let b64 = key.to_base64();
            if seen.contains(&b64) {
                return Err(SealError::Keys {
                    var: VAR_KEYS,
                    message: format!("{at}: the same key appears under two ids"),
                });
            }
            seen.push(b64);
            ring.keys.push((kid, Arc::new(Cipher::new(&key))));
        }
        Ok(ring)
    }

    /// Adds a passphrase (checked: at least 12 characters, and at least 64 bits by
    /// `vigil_core::strength::estimate_chosen_bits` once known defaults, common password words
    /// and sequences are taken out, so `Password123!` is refused). With keys in the ring it only
    /// decrypts; alone it also encrypts.
    pub fn with_passphrase(mut self, passphrase: Zeroizing<String>) -> Result<Self> {
        let p = passphrase.as_str();
        let weak = |m: &str| SealError::Keys {
            var: VAR_PASSPHRASE,
            message: m.to_owned(),
        };
        if p.chars().count() < MIN_PASSPHRASE {
            return Err(weak("shorter than 12 characters"));
        }
        if vigil_core::strength::is_known_default(p)
            || vigil_core::strength::estimate_chosen_bits(p) < MIN_PASSPHRASE_BITS
        {
            return Err(weak(
                "too weak (a known default, common password words, a sequence or repetition); use several random words or a key from `vigil seal keygen`",
            ));
        }
        self.passphrase = Some(passphrase);
        Ok(self)
    }

    /// The ring the environment describes (see the module documentation).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The ring described by variables read through `get` (for tests and embedding).
    /// `VIGIL_SEAL_KEYS` and `VIGIL_SEAL_KEY` together are refused, and so is a variable that is
    /// set but empty.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let keys = get(VAR_KEYS).map(Zeroizing::new);
        let key = get(VAR_KEY).map(Zeroizing::new);
        let pass = get(VAR_PASSPHRASE).map(Zeroizing::new);
        for (var, v) in [(VAR_KEYS, &keys), (VAR_KEY, &key), (VAR_PASSPHRASE, &pass)] {
            if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
                return Err(SealError::Keys {
                    var,
                    message: "is set but empty".into(),
                });
            }
        }
        let entries: Vec<(String, MasterKey)> = match (&keys, &key) {
            (Some(_), Some(_)) => {
                return Err(SealError::Keys {
                    var: VAR_KEY,
                    message: format!("set together with {VAR_KEYS}; keep one of them"),
                })
            }
            (Some(list), None) => parse_list(list)?,
            (None, Some(one)) => {
                let k = MasterKey::parse(one).map_err(|m| {
                    let message = match one.split_once(':') {
                        Some((kid, rest)) if valid_kid(kid.trim()) && MasterKey::parse(rest).is_ok() => format!(
                            "holds `{}:<key>`, a VIGIL_SEAL_KEYS entry: use VIGIL_SEAL_KEYS=\"{}:…\" to keep the id `{}`, or drop the `{}:` (the key then gets an id derived from it, and values sealed under `{}` no longer find it)",
                            kid.trim(), kid.trim(), kid.trim(), kid.trim(), kid.trim()
                        ),
                        _ => m.to_string(),
                    };
                    SealError::Keys {
                        var: VAR_KEY,
                        message,
                    }
                })?;
                vec![(k.derived_kid(), k)]
            }
            (None, None) => Vec::new(),
        };
        let derived_ids: Vec<String> = entries
            .iter()
            .filter(|(kid, key)| *kid == key.derived_kid())
            .map(|(kid, _)| kid.clone())
            .collect();
        let mut ring = KeyRing::new(entries)?;
        ring.derived_ids = derived_ids;
        let ring = match pass {
            Some(p) => ring.with_passphrase(p)?,
            None => ring,
        };
        if ring.keys.is_empty() && ring.passphrase.is_none() {
            return Err(SealError::NoKey);
        }
        Ok(ring)
    }

    /// The key ids, primary first, then `passphrase` when one is set.
    pub fn kids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.keys.iter().map(|(k, _)| k.clone()).collect();
        if self.passphrase.is_some() {
            v.push("passphrase".into());
        }
        v
    }

    /// The ids of the keys (not the passphrase), primary first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Whether a passphrase is set.
    pub fn has_passphrase(&self) -> bool {
        self.passphrase.is_some()
    }

    /// Has new passphrase values use `salt` (a store keeps one so that all its values share one
    /// Argon2id run). Ignored when the salt's length is out of bounds or one is already chosen.
    pub fn use_passphrase_salt(&self, salt: &[u8]) {
        if salt.len() == kdf::SALT_LEN {
            let mut s = self.salt.lock().expect("salt lock");
            if s.is_none() {
                *s = Some(salt.to_vec());
            }
        }
    }

    /// The header field new values get and its cipher: the primary key, or the passphrase with
    /// this process's salt when the ring has no key.
    pub(crate) fn primary(&self) -> Result<(String, Arc<Cipher>)> {
        if let Some((kid, c)) = self.keys.first() {
            return Ok((kid.clone(), c.clone()));
        }
        if self.passphrase.is_none() {
            return Err(SealError::NoKey);
        }
        let salt = {
            let mut s = self.salt.lock().expect("salt lock");
            match &*s {
                Some(v) => v.clone(),
                None => {
                    let mut v = vec![0u8; kdf::SALT_LEN];
                    getrandom::fill(&mut v).map_err(|e| SealError::Keys {
                        var: VAR_PASSPHRASE,
                        message: format!("the OS random source failed: {e}"),
                    })?;
                    *s = Some(v.clone());
                    v
                }
            }
        };
        let header = kdf::header(kdf::DEFAULT, &salt);
        let c = self.cipher(&header)?;
        Ok((header, c))
    }

    /// The header field new values get (the primary key id, or the passphrase header).
    pub fn primary_id(&self) -> Result<String> {
        self.primary().map(|(h, _)| h)
    }

    /// Whether a value whose header field is `field` is under the primary key already.
    pub fn is_primary(&self, field: &str) -> bool {
        match self.keys.first() {
            Some((kid, _)) => kid == field,
            None => self.passphrase.is_some() && field.starts_with(kdf::PREFIX),
        }
    }

    /// The cipher for a header field: the one key with that id, or the passphrase stretched
    /// with the field's parameters (bounded first) and salt.
    pub(crate) fn cipher(&self, field: &str) -> Result<Arc<Cipher>> {
        if field.starts_with(kdf::PREFIX) {
            let Some(pass) = &self.passphrase else {
                return Err(SealError::UnknownKey {
                    kid: "passphrase".into(),
                    have: self.have(),
                    hint: format!("; it was sealed under a passphrase: set {VAR_PASSPHRASE}"),
                });
            };
            let (params, salt) = kdf::parse_header(field)?;
            let mut cache = self.derived.lock().expect("derived-key cache");
            if let Some(c) = cache.get(field) {
                return Ok(c.clone());
            }
            if cache.len() >= MAX_DERIVATIONS {
                return Err(SealError::Kdf(format!(
                    "more than {MAX_DERIVATIONS} different passphrase salts in one run; rotate these values to a key"
                )));
            }
            let master = kdf::derive(pass.as_bytes(), params, &salt)?;
            let c = Arc::new(Cipher::new(&master));
            cache.insert(field.to_owned(), c.clone());
            return Ok(c);
        }
        self.keys
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| SealError::UnknownKey {
                kid: field.to_owned(),
                have: self.have(),
                hint: match self.derived_ids.first() {
                    Some(d) => format!(
                        "; note that {d} is an id derived from its key (VIGIL_SEAL_KEY, or an entry without `id:`): if that is the key of `{field}`, write it as VIGIL_SEAL_KEYS=\"{field}:<key>\""
                    ),
                    None => String::new(),
                },
            })
    }

    fn have(&self) -> String {
        let k = self.kids();
        if k.is_empty() {
            "no key".into()
        } else {
            k.join(", ")
        }
    }
}

/// `kid:<base64>,kid:<base64>` (or bare `<base64>` entries, which get their derived id).
fn parse_list(list: &str) -> Result<Vec<(String, MasterKey)>> {
    let mut out = Vec::new();
    for (i, entry) in list.split(',').enumerate() {
        let entry = entry.trim();
        let at = |m: String| SealError::Keys {
            var: VAR_KEYS,
            message: format!("entry {}: {m}", i + 1),
        };
        if entry.is_empty() {
            return Err(at("empty".into()));
        }
        let (kid, b64) = match entry.split_once(':') {
            Some((kid, b64)) => (Some(kid.trim()), b64),
            None => (None, entry),
        };
        let key = MasterKey::parse(b64).map_err(|e| at(e.to_string()))?;
        let kid = kid.map(str::to_owned).unwrap_or_else(|| key.derived_kid());
        out.push((kid, key));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(&'static str, String)> = pairs.to_vec();
        move |n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
    }

    #[test]
    fn reads_the_three_forms_and_refuses_ambiguity() {
        let (a, b) = (
            MasterKey::generate().unwrap(),
            MasterKey::generate().unwrap(),
        );
        let list = format!(
            "k2:{},k1:{}",
            a.to_base64().as_str(),
            b.to_base64().as_str()
        );
        let r = KeyRing::from_lookup(env(&[(VAR_KEYS, list.clone())])).unwrap();
        assert_eq!(r.kids(), ["k2", "k1"]);
        assert_eq!(r.primary_id().unwrap(), "k2");
        let one = KeyRing::from_lookup(env(&[(VAR_KEY, a.to_base64().to_string())])).unwrap();
        assert_eq!(one.kids(), [a.derived_kid()]);
        let both = KeyRing::from_lookup(env(&[
            (VAR_KEYS, list.clone()),
            (VAR_KEY, a.to_base64().to_string()),
        ]));
        assert!(matches!(both, Err(SealError::Keys { var: VAR_KEY, .. })));
        assert!(matches!(
            KeyRing::from_lookup(env(&[])),
            Err(SealError::NoKey)
        ));
        assert!(KeyRing::from_lookup(env(&[(VAR_KEYS, String::new())])).is_err());
        let dup = format!(
            "k1:{},k1:{}",
            a.to_base64().as_str(),
            b.to_base64().as_str()
        );
        assert!(KeyRing::from_lookup(env(&[(VAR_KEYS, dup)])).is_err());
        for weak in ["changeme", "password1234", "Password123!", "P@ssw0rd2024!"] {
            let weak = KeyRing::from_lookup(env(&[(VAR_PASSPHRASE, weak.into())]));
            assert!(matches!(
                weak,
                Err(SealError::Keys {
                    var: VAR_PASSPHRASE,
                    ..
                })
            ));
        }
        assert!(KeyRing::from_lookup(env(&[(
            VAR_PASSPHRASE,
            "correct horse battery staple 42".into()
        )]))
        .is_ok());
        // `kid:key` in VIGIL_SEAL_KEY: the message says what to do, never the key.
        let e = KeyRing::from_lookup(env(&[(VAR_KEY, format!("k1:{}", a.to_base64().as_str()))]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("VIGIL_SEAL_KEYS=\"k1:…\"") && e.contains("drop the `k1:`"),
            "{e}"
        );
        assert!(!e.contains(a.to_base64().as_str()), "{e}");
        // A value sealed under k1, opened with the same key given as VIGIL_SEAL_KEY: the id
        // changed, and the message says so.
        let k1 = KeyRing::from_lookup(env(&[(VAR_KEYS, format!("k1:{}", a.to_base64().as_str()))]))
            .unwrap();
        let ctx = crate::Context::parse("a=b").unwrap();
        let v = crate::seal(&k1, &ctx, b"x").unwrap();
        let e = crate::open(&one, &ctx, &v).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "{} is an id derived from its key",
                a.derived_kid()
            )) && e.contains("VIGIL_SEAL_KEYS=\"k1:<key>\""),
            "{e}"
        );
        let err = KeyRing::from_lookup(env(&[(VAR_KEYS, "k1:AAAA".into())])).unwrap_err();
        assert!(
            err.to_string().starts_with("VIGIL_SEAL_KEYS: entry 1:"),
            "{err}"
        );
    }

    #[test]
    fn debug_never_shows_keys() {
        let a = MasterKey::generate().unwrap();
        let b64 = a.to_base64().to_string();
        let r = KeyRing::new(vec![("k1".into(), a)]).unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains(&b64) && d.contains("k1"), "{d}");
    }
}
