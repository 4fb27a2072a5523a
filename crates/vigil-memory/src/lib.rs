//! Vigil's agent memory store: a folder of text files that a model reads and writes by path,
//! which it cannot escape, served over MCP.
//!
//! - **Under the root by construction** ([`fsops`]): one directory handle opened on the store's
//!   `files/` folder, every path resolved beneath it by the kernel (`openat2` with
//!   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV`, or one
//!   `O_NOFOLLOW` component at a time); no link is ever followed; a file must be regular, with
//!   one link, on the root's device. Names ([`name`]) are NFC, free of control characters and
//!   Windows device names; case and Unicode twins are refused.
//! - **Capped** ([`config::Limits`]): file size, result size (with a continuation cursor), files
//!   per directory, depth, total size; each breach is a typed [`MemoryError`] and writes nothing.
//! - **Audited** ([`store`]): every write, append and delete is one line of a hash-chained log
//!   (`vigil_core::chain`) kept outside the tools' reach, with its head apart.
//! - **Safe with several writers**: one `flock` per store for writers, temp files renamed into
//!   place, a crash journal; `expected_version` for optimistic updates.
//! - **MCP** ([`server`]): seven tools over stdio or Streamable HTTP (`rmcp`), the principal
//!   proven by a bearer JWT or a gateway assertion ([`auth`]).
//! - **Settings** ([`settings`]): `[memory]` ([`MemorySection`], registered as a
//!   `vigil_core::Section`) resolved into caps and a [`server::Transport`] by
//!   [`MemorySettings`], which owns every refusal to start; errors carry a `vigil_core::Origin`.

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod auth;
pub mod config;
pub mod cursor;
pub mod error;
pub mod fsops;
pub mod lines;
pub mod name;
pub mod server;
pub mod settings;
pub mod store;

pub use config::{Limits, MemorySection};
pub use error::MemoryError;
pub use settings::{ChangeQuery, MemorySettings, Open, ServeFlags, SettingsError};
pub use store::{Actor, Store};
