//! Vigil's shared ground: secrets as types, log redaction, one `vigil.toml`, one exit-code contract.
//!
//! This crate depends on no other Vigil crate, and every other one depends on it, so that the
//! rules every part must keep (a secret never reaches a log, an error names where its value was
//! written: [`Origin`]) are written once.

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod chain;
pub mod ciphertext;
pub mod config;
pub mod duration;
pub mod exit;
pub mod fsx;
pub mod logging;
pub mod origin;
pub mod pin;
pub mod redact;
pub mod secret;
pub mod size;
pub mod strength;

pub use config::{Config, ConfigError, Section};
pub use exit::ExitStatus;
pub use origin::{Located, Origin};
pub use secret::Secret;
