//! Vigil's shared ground: secrets as types, log redaction, one `vigil.toml`, one exit-code contract.
//!
//! Every other Vigil crate depends on this one and on nothing else of Vigil's, so that the rules
//! every part must keep (a secret never reaches a log, an error names its file, line and key) are
//! written once.

pub mod chain;
pub mod ciphertext;
pub mod config;
pub mod duration;
pub mod exit;
pub mod fsx;
pub mod logging;
pub mod redact;
pub mod secret;
pub mod size;
pub mod strength;

pub use config::{Config, ConfigError};
pub use exit::ExitStatus;
pub use secret::Secret;
