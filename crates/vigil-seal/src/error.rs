//! Every way sealing, opening, a store or a key ring can fail. No variant holds a key, a
//! plaintext or a passphrase: messages name the key id, the context, the file and line, or the
//! variable, never a value.

/// A `vigil seal` failure.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The text is not a well-formed sealed value (or Fernet token).
    #[error("{0}")]
    Format(String),
    /// The value names a key id the ring does not hold.
    #[error("sealed with key `{kid}`, which is not in the key ring (it holds {have}){hint}")]
    UnknownKey {
        /// The value's key id.
        kid: String,
        /// The ring's key ids, for the message.
        have: String,
        /// `; …` advice when a likely cause is known (empty otherwise).
        hint: String,
    },
    /// Authentication failed: wrong context, a changed byte, or another key under the same id.
    #[error("does not decrypt with key `{kid}` and context [{context}]: it was sealed for another context (user, field, store, environment or .env key), changed since, or sealed by a different key with the same id")]
    Decrypt {
        /// The key id tried (the only one: the value names it).
        kid: String,
        /// The context given, as `name=value,…`.
        context: String,
    },
    /// A key variable is malformed, or two variables disagree.
    #[error("{var}: {message}")]
    Keys {
        /// The environment variable (or option) at fault.
        var: &'static str,
        /// What is wrong (never the key).
        message: String,
    },
    /// No key is configured.
    #[error("no key: set VIGIL_SEAL_KEYS, VIGIL_SEAL_KEY or VIGIL_SEAL_PASSPHRASE (`vigil seal keygen` prints a key)")]
    NoKey,
    /// A context is malformed or missing.
    #[error("context: {0}")]
    Context(String),
    /// A passphrase-derived value carries Argon2id parameters outside the accepted bounds.
    #[error("refused Argon2id parameters: {0}")]
    Kdf(String),
    /// A Fernet key or token problem.
    #[error("Fernet: {0}")]
    Fernet(String),
    /// A store problem, with the database path.
    #[error("{path}: {message}")]
    Store {
        /// The database file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An I/O failure, with the path.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A `.env` problem, with file and line (0 when no line applies: then only the file is named).
    #[error("{path}{}: {message}", at_line(*line))]
    Env {
        /// The env file.
        path: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// What is wrong (never the value).
        message: String,
    },
    /// The `.env` transaction (lock, journal, recovery) failed.
    #[error(transparent)]
    Txn(#[from] vigil_env::txn::TxnError),
    /// An env file that cannot be read (too large, not text) or parsed; names file and line.
    #[error(transparent)]
    EnvFile(#[from] vigil_env::EnvFileError),
    /// `vigil.toml` (its `[env]` section) cannot be used.
    #[error(transparent)]
    Settings(#[from] vigil_env::SettingsError),
    /// `vigil.toml` cannot be read or parsed.
    #[error(transparent)]
    Config(#[from] vigil_core::ConfigError),
    /// The environment model cannot place a file (its message names the file and the line of
    /// `vigil.toml` that would place it).
    #[error("{0}")]
    Place(String),
    /// A file's project (the folder of `.vigil/`) cannot be told, or a file is outside it.
    #[error("{path}: {message}")]
    Project {
        /// The file as given.
        path: String,
        /// What is wrong, and the way out.
        message: String,
    },
    /// A plaintext over the size limit.
    #[error("value too large: {0} bytes (the limit is {limit} bytes)", limit = crate::value::MAX_PLAINTEXT)]
    TooLarge(usize),
    /// Input (stdin or a file) over the limit of what the command reads; refused after reading
    /// one byte past the limit.
    #[error("{what}: more than {limit} bytes; refused")]
    InputTooLarge {
        /// `stdin` or the file.
        what: String,
        /// The limit in bytes.
        limit: usize,
    },
}

/// `:<line>`, or nothing for line 0 (no line applies).
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

impl SealError {
    /// An I/O error with its path.
    pub fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        SealError::Io {
            path: path.display().to_string(),
            error,
        }
    }
}

/// `Result` with [`SealError`].
pub type Result<T, E = SealError> = std::result::Result<T, E>;
