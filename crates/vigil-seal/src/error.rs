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
    #[error("sealed with key `{kid}`, which is not in the key ring (it holds {have})")]
    UnknownKey {
        /// The value's key id.
        kid: String,
        /// The ring's key ids, for the message.
        have: String,
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
    /// A `.env` problem, with file and line (0 when the key is absent).
    #[error("{path}:{line}: {message}")]
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
    /// A plaintext over the size limit.
    #[error("value too large: {0} bytes (the limit is {limit} bytes)", limit = crate::value::MAX_PLAINTEXT)]
    TooLarge(usize),
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
