//! Vigil's encryption at rest for the secrets a bot keeps for its users.
//!
//! A value is sealed as `vseal:v1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>` with
//! XChaCha20-Poly1305 under a sub-key (HKDF-SHA256) of the key the `kid` names, and bound to its
//! context (`user=alice,field=openrouter_key`) and its own header through associated data, so a
//! value copied to another user, field, store, environment or `.env` key does not decrypt. Key
//! rings come from `VIGIL_SEAL_KEYS`, `VIGIL_SEAL_KEY` or `VIGIL_SEAL_PASSPHRASE` (Argon2id,
//! parameters in the value and bounded on read). Around that: a SQLite store for per-user
//! secrets, sealed `.env` values, keyed fingerprints, crash-safe rotation, Fernet interop and
//! migration, and a check for tracked SQLite files. Every primitive comes from RustCrypto.
//!
//! ```
//! use vigil_seal::{seal, open, Context, KeyRing, MasterKey};
//! let ring = KeyRing::new(vec![("k1".into(), MasterKey::generate().unwrap())]).unwrap();
//! let alice = Context::parse("user=alice,field=openrouter_key").unwrap();
//! let sealed = seal(&ring, &alice, b"sk-or-v1-example").unwrap();
//! assert!(sealed.starts_with("vseal:v1:k1:"));
//! assert_eq!(open(&ring, &alice, &sealed).unwrap().as_bytes(), b"sk-or-v1-example");
//! let bob = Context::parse("user=bob,field=openrouter_key").unwrap();
//! assert!(open(&ring, &bob, &sealed).is_err());
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod check;
pub mod context;
pub mod envfile;
pub mod error;
pub mod fault;
pub mod fernet;
pub mod index;
pub mod input;
pub mod kdf;
pub mod key;
pub mod leak;
pub mod migrate;
pub mod plaintext;
pub mod project;
pub mod ring;
pub mod rotate;
pub mod run;
pub mod store;
pub mod value;

pub use context::{Context, Purpose};
pub use error::SealError;
pub use fernet::{Fernet, FernetKey, KeySource};
pub use key::MasterKey;
pub use plaintext::Plaintext;
pub use project::{Placed, Project};
pub use ring::KeyRing;
pub use store::Store;
pub use value::{fingerprint, open, seal, seal_with_fingerprint, Fingerprint};
