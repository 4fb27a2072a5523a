//! Vigil's JWTs: mint, verify and inspect the tokens that guard MCP servers, against a key ring
//! of several live keys (current and previous HMAC secrets, PEM key pairs with `kid`, a JWKS).
//!
//! Verification is strict by construction: a size limit before any decoding, duplicate JSON keys
//! refused, `alg: none` and algorithms outside the allow-list refused, a key bound to one
//! algorithm (so a public key is never an HMAC secret), `jku`/`x5u`/`jwk` headers never followed,
//! `exp` required and bounded. Every refusal is a [`Rejection`] with its precise reason.
//!
//! ```
//! use vigil_token::{mint, Key, KeyRing, MintRequest, Policy, Verifier};
//! let secret = vec![7u8; 32];
//! let mut ring = KeyRing::new();
//! ring.push(Key::hmac("MCP_JWT_SECRET", &secret, jsonwebtoken::Algorithm::HS256).unwrap());
//! let req = MintRequest { audiences: vec!["filesystem".into()], ttl: 900, ..Default::default() };
//! let token = mint(ring.current().unwrap(), &req, 1_800_000_000, 86_400).unwrap();
//! let v = Verifier::new(ring, Policy { audiences: vec!["filesystem".into()], ..Policy::default() });
//! assert_eq!(v.verify(&token, 1_800_000_100).unwrap().expires_in, 800);
//! assert_eq!(v.verify(&token, 1_800_001_000).unwrap_err().code(), "expired");
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod assertion;
pub mod compliance;
pub mod config;
pub mod environments;
pub mod input;
pub mod inspect;
pub mod jwks;
pub mod key;
pub mod keyring;
pub mod mint;
pub mod parts;
pub mod rejection;
pub mod request;
pub mod time;
pub mod verify;

pub use assertion::{mint_assertion, AssertionVerifier};
pub use config::{Overrides, TokenError, TokenSection, TokenSettings};
pub use jsonwebtoken::Algorithm;
pub use key::{Key, KeyUsed};
pub use keyring::KeyRing;
pub use mint::{mint, mint_typed, subject_problem, MintRequest};
pub use rejection::Rejection;
pub use request::MintFlags;
pub use verify::{Policy, Verified, Verifier};
