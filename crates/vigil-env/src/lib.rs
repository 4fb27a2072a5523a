//! Vigil's `.env` files: a lossless document model (python-dotenv's reading of each line), so a
//! rotation can replace one value's bytes and keep every other byte of the user's file.
//!
//! ```
//! use vigil_env::Document;
//! let text = "# bot\r\nexport AUTH_TOKEN='old' # rotated monthly\r\nPORT=8080";
//! let mut doc = Document::parse(text).unwrap();
//! assert_eq!(doc.get("AUTH_TOKEN"), Some("old"));
//! doc.set("AUTH_TOKEN", "n3wV4lue").unwrap();
//! assert_eq!(doc.to_string(), "# bot\r\nexport AUTH_TOKEN='n3wV4lue' # rotated monthly\r\nPORT=8080");
//! ```

pub mod document;

pub use document::{Binding, Document, ParseError, Quote};
