//! Vigil's `.env` files: a lossless document model (python-dotenv's reading of each line), the
//! project's env files placed in their environments (one model, [`environment`], used by every
//! command), rotation planned in memory and committed as one crash-safe transaction, checks, and
//! the rotation ledger with its schedules. Every crate reads `.env` files through [`envfile`].
//!
//! ```
//! use vigil_env::Document;
//! let text = "# bot\r\nexport AUTH_TOKEN='old' # rotated monthly\r\nPORT=8080";
//! let mut doc = Document::parse(text).unwrap();
//! assert_eq!(doc.get("AUTH_TOKEN"), Some("old"));
//! doc.set("AUTH_TOKEN", "n3wV4lue").unwrap();
//! assert_eq!(doc.to_string(), "# bot\r\nexport AUTH_TOKEN='n3wV4lue' # rotated monthly\r\nPORT=8080");
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod check;
pub mod config;
pub mod discover;
pub mod document;
pub mod envfile;
pub mod environment;
pub mod generate;
pub mod ledger;
pub mod project;
pub mod rotate;
pub mod schedule;
pub mod settings;
pub mod status;
pub mod txn;

pub use config::EnvSection;
pub use discover::EnvFile;
pub use document::{Binding, Document, ParseError, Quote};
pub use envfile::{EnvFileError, Lookup};
pub use environment::{Model, Placement};
pub use project::{Access, Project};
pub use settings::{EnvSettings, SettingsError};
