//! The `[memory]` section of `vigil.toml` as written (registered as a [`Section`]): the store's
//! caps, its fsync policy, and who the HTTP server believes (the bearer token's audience, the
//! gateway assertion's key). [`crate::settings`] resolves it.
//!
//! ```toml
//! [memory]
//! max_file_size = "256KiB"        # per file
//! max_result_size = "64KiB"       # per operation; longer results come with a cursor
//! max_files_per_dir = 1000
//! max_depth = 16
//! max_total_size = "256MiB"
//! fsync = true                    # flush every write (file, directory, audit log) to disk
//! audience = "memory"             # bearer tokens on --listen must carry it
//! allowed_hosts = ["127.0.0.1", "localhost"]
//! allowed_origins = []            # browser origins allowed (none by default)
//!
//! [memory.assertion]              # trust assertions signed by this gateway key
//! issuer = "vigil-gateway"
//! public_key = "keys/gateway.pub.pem"   # or secret_env = "VIGIL_ASSERTION_SECRET" (HS256)
//! max_lifetime = "60s"                 # at most 5 minutes
//! ```

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use vigil_core::duration;
use vigil_core::size::SizeValue;
use vigil_core::Section;

/// The caps and the durability policy of one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_file_size: u64,
    /// Largest result of one operation, in bytes (content, listing, matches, history).
    pub max_result_size: u64,
    /// Most entries in one directory.
    pub max_files_per_dir: u64,
    /// Deepest path, in components (`a/b/c.md` is 3).
    pub max_depth: usize,
    /// Most bytes in all files together.
    pub max_total_size: u64,
    /// Flush every write to disk before answering.
    pub fsync: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 256 * 1024,
            max_result_size: 64 * 1024,
            max_files_per_dir: 1000,
            max_depth: 16,
            max_total_size: 256 * 1024 * 1024,
            fsync: true,
        }
    }
}

/// `[memory]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySection {
    /// Largest file.
    pub max_file_size: Option<SizeValue>,
    /// Largest result of one operation.
    pub max_result_size: Option<SizeValue>,
    /// Most entries in one directory.
    pub max_files_per_dir: Option<u64>,
    /// Deepest path.
    pub max_depth: Option<usize>,
    /// Most bytes in the whole store.
    pub max_total_size: Option<SizeValue>,
    /// Flush every write to disk (default true).
    pub fsync: Option<bool>,
    /// Audience bearer tokens must carry on `--listen` (default `memory`).
    pub audience: Option<String>,
    /// `Host` values accepted on `--listen` (default: loopback names).
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser `Origin`s accepted on `--listen` (default: none; requests without `Origin` pass).
    pub allowed_origins: Option<Vec<String>>,
    /// The gateway whose assertions are trusted.
    pub assertion: Option<AssertionSection>,
}

/// `[memory.assertion]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionSection {
    /// The gateway's `iss` (default `vigil-gateway`).
    pub issuer: Option<String>,
    /// The `aud` assertions must carry (default: `[memory] audience`).
    pub audience: Option<String>,
    /// The gateway's public key (PEM: EdDSA, ES256 or RS256).
    pub public_key: Option<PathBuf>,
    /// Algorithm of the key when the PEM does not say.
    pub alg: Option<String>,
    /// Or: the variable holding a shared HMAC secret (HS256).
    pub secret_env: Option<String>,
    /// Longest assertion lifetime accepted (default 60 s, at most 5 min).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub max_lifetime: Option<Duration>,
}

impl Section for MemorySection {
    const NAME: &'static str = "memory";
}

impl MemorySection {
    /// The bearer tokens' audience.
    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or("memory")
    }
}
