//! The typed errors of the store: each has a stable `code()` that an agent sees in the MCP tool
//! error and can back off from, and a message that names the path but never quotes content.

/// Why an operation was refused or failed. Nothing was written when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The path would leave the root (`..`, absolute, encoded separators, a mount crossing).
    #[error("{path}: outside the memory root ({reason})")]
    OutsideRoot {
        /// The path as given (escaped, clipped).
        path: String,
        /// Which rule.
        reason: String,
    },
    /// A symbolic link on the way or at the end: never followed, not even inside the root.
    #[error("{path}: a symbolic link is in the way (links are never followed)")]
    Symlink {
        /// The path.
        path: String,
    },
    /// A file with more than one hard link: it may be a link to a file outside the root.
    #[error("{path}: has {links} hard links (refused: it may be a link to a file elsewhere)")]
    HardLink {
        /// The path.
        path: String,
        /// Its link count.
        links: u64,
    },
    /// Not a regular file (a directory where a file was expected, a FIFO, a device...).
    #[error("{path}: not a regular file ({kind})")]
    NotAFile {
        /// The path.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A name the store refuses: control characters, Windows device names, reserved characters.
    #[error("{path}: invalid name ({reason})")]
    InvalidName {
        /// The path.
        path: String,
        /// Which rule.
        reason: String,
    },
    /// Another entry of the directory has the same name up to case or Unicode folding.
    #[error(
        "{path}: collides with `{existing}` (names may not differ only in case or Unicode form)"
    )]
    NameCollision {
        /// The path asked for.
        path: String,
        /// The entry already there.
        existing: String,
    },
    /// The file would exceed the per-file size cap.
    #[error("{path}: {size} bytes exceeds the file size cap of {limit} bytes")]
    TooLarge {
        /// The path.
        path: String,
        /// The size it would have.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The directory already holds the maximum number of entries.
    #[error("{path}: the directory already holds {limit} entries (the cap)")]
    TooManyFiles {
        /// The directory.
        path: String,
        /// The cap.
        limit: u64,
    },
    /// The path is deeper than the depth cap.
    #[error("{path}: deeper than {limit} levels (the cap)")]
    TooDeep {
        /// The path.
        path: String,
        /// The cap.
        limit: usize,
    },
    /// The store would exceed its total size cap.
    #[error("the store would hold {size} bytes, over its total cap of {limit} bytes")]
    StoreFull {
        /// The total it would reach.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The result was cut at the per-operation result cap; `cursor` continues it.
    #[error("{what}: the result was cut at {limit} bytes; call again with the cursor to continue")]
    ResultTruncated {
        /// What was being returned.
        what: String,
        /// The cap.
        limit: u64,
        /// The continuation cursor.
        cursor: String,
    },
    /// No such file or directory.
    #[error("{path}: not found")]
    NotFound {
        /// The path.
        path: String,
    },
    /// `expected_version` did not match: someone else wrote first.
    #[error("{path}: version conflict (expected {expected}, found {found})")]
    Conflict {
        /// The path.
        path: String,
        /// What the caller expected.
        expected: String,
        /// What is there (`absent` when there is no file).
        found: String,
    },
    /// The file is not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotText {
        /// The path.
        path: String,
    },
    /// A directory that is not empty cannot be deleted.
    #[error("{path}: directory not empty")]
    NotEmpty {
        /// The path.
        path: String,
    },
    /// A cursor this store did not hand out (or one for another file).
    #[error("invalid cursor")]
    BadCursor,
    /// The audit log refused the record (its chain does not check out): nothing was written.
    /// (Not a `source`: its text is already in this message, and a printed chain would say it
    /// twice.)
    #[error("audit log: {0}")]
    Audit(vigil_core::chain::ChainError),
    /// The audit log does not verify, so its records are not handed out as history.
    #[error("the audit log does not verify ({detail}); run `vigil memory audit verify`")]
    Untrusted {
        /// The first problem.
        detail: String,
    },
    /// A change refused because the file's state, or the store's, is not what the audit log
    /// last recorded (edited, planted or deleted outside the store; the log deleted).
    #[error("{detail}")]
    Disagrees {
        /// What disagrees, and what to do.
        detail: String,
    },
    /// A store folder someone else could change: a link, not owned by this user, or writable
    /// by group or others.
    #[error("{path}: {reason}")]
    UnsafeStore {
        /// The folder.
        path: String,
        /// Which rule.
        reason: String,
    },
    /// An I/O error.
    #[error("{path}: {error}")]
    Io {
        /// The path (or store file) concerned.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

impl MemoryError {
    /// The stable code agents see (`outside_root`, `symlink`, `too_large`, …).
    pub fn code(&self) -> &'static str {
        match self {
            MemoryError::OutsideRoot { .. } => "outside_root",
            MemoryError::Symlink { .. } => "symlink",
            MemoryError::HardLink { .. } => "hard_link",
            MemoryError::NotAFile { .. } => "not_a_file",
            MemoryError::InvalidName { .. } => "invalid_name",
            MemoryError::NameCollision { .. } => "name_collision",
            MemoryError::TooLarge { .. } => "too_large",
            MemoryError::TooManyFiles { .. } => "too_many_files",
            MemoryError::TooDeep { .. } => "too_deep",
            MemoryError::StoreFull { .. } => "store_full",
            MemoryError::ResultTruncated { .. } => "result_truncated",
            MemoryError::NotFound { .. } => "not_found",
            MemoryError::Conflict { .. } => "conflict",
            MemoryError::NotText { .. } => "not_text",
            MemoryError::NotEmpty { .. } => "not_empty",
            MemoryError::BadCursor => "bad_cursor",
            MemoryError::Audit(_)
            | MemoryError::Untrusted { .. }
            | MemoryError::Disagrees { .. } => "audit",
            MemoryError::UnsafeStore { .. } => "unsafe_store",
            MemoryError::Io { .. } => "io",
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> MemoryError {
        MemoryError::Io {
            path: path.into(),
            error: source,
        }
    }
}

impl From<vigil_core::chain::ChainError> for MemoryError {
    fn from(e: vigil_core::chain::ChainError) -> Self {
        MemoryError::Audit(e)
    }
}
