//! A project's env files, opened for a rotation or for reading: the lock, recovery of an
//! interrupted rotation, discovery, reading, parsing and placing each file in its environment.
//!
//! Only a rotation (`--write`) creates `.vigil/` (mode `0700`) and takes the exclusive lock. A
//! dry run or a CI gate ([`Access::ReadOnly`]) writes nothing at all: it takes a shared lock only
//! when the lock file already exists, and refuses while an interrupted rotation is pending.
//! `env check` and `env status` ([`Access::Recover`]) read the same way, but finish or undo an
//! interrupted rotation first, as every `vigil env` command always has.

use crate::config::EnvSection;
use crate::discover::{self, EnvFile, GlobError, Skipped};
use crate::document::Document;
use crate::environment::{Model, ModelError, PlaceError};
use crate::rotate::Loaded;
use crate::txn::{self, Lock, Recovery, TxnError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a command uses the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A rotation: the exclusive lock (creating `.vigil/`), then recovery.
    Write,
    /// A reading command that finishes or undoes an interrupted rotation first (`env check`,
    /// `env status`); it writes only then.
    Recover,
    /// A dry run or a gate: writes nothing at all.
    ReadOnly,
}

/// The opened project.
#[derive(Debug)]
pub struct Project {
    /// The project root (canonical).
    pub root: PathBuf,
    /// The env files, parsed and placed, sorted by path.
    pub files: Vec<Loaded>,
    /// Files left out, with the reason (one warning each).
    pub skipped: Vec<Skipped>,
    /// What recovery did.
    pub recovery: Recovery,
    _lock: Option<Lock>,
}

/// Why a project cannot be opened. Never holds a value from a file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A bad glob in `[env] files`.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// A bad glob in `[env.environments]`.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A file the environment model cannot place.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// Two paths (a link and its target) that are one file, placed in two environments.
    #[error("{a} and {b} are one file (a link): it cannot be in two environments ({env_a} and {env_b}); remove the link or place both in one environment under [env.environments]")]
    SameFile {
        /// One path.
        a: String,
        /// The other.
        b: String,
        /// Environment of `a`.
        env_a: String,
        /// Environment of `b`.
        env_b: String,
    },
    /// A link to something that is not a regular file.
    #[error("{path}: a link to something that is not a regular file; refused")]
    NotRegular {
        /// The link.
        path: String,
    },
    /// A file that cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file named in `[env] files` that is not text.
    #[error(
        "{path}: not UTF-8 text (binary or encrypted); decrypt it, or leave it out of [env] files"
    )]
    NotText {
        /// The file.
        path: String,
    },
    /// A line no dialect reads.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// Why (never the line's content).
        message: String,
    },
    /// The lock or the journal.
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// A read-only command found an interrupted rotation.
    #[error("an interrupted rotation is pending ({journal}); this command changes nothing, so run `vigil env check` (which finishes or undoes it) first")]
    Pending {
        /// The journal.
        journal: String,
    },
}

impl Project {
    /// Opens the project at `root` (the folder of `vigil.toml`) with its `[env]` section.
    pub fn open(
        root: &Path,
        section: &EnvSection,
        access: Access,
    ) -> Result<Project, ProjectError> {
        let (lock, recovery) = match access {
            Access::Write => {
                let l = txn::lock(root)?;
                (Some(l), txn::recover(root)?)
            }
            Access::Recover | Access::ReadOnly => {
                let shared = txn::lock_shared(root)?;
                if txn::pending(root) {
                    if access == Access::ReadOnly {
                        return Err(ProjectError::Pending {
                            journal: txn::journal_path(root).display().to_string(),
                        });
                    }
                    drop(shared);
                    let l = txn::lock(root)?;
                    (Some(l), txn::recover(root)?)
                } else {
                    (shared, Recovery::Nothing)
                }
            }
        };
        let model = Model::new(section)?;
        let found = discover::discover(root, section)?;
        let mut skipped = found.skipped;
        let mut files: Vec<Loaded> = Vec::new();
        let mut real: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for f in found.found {
            let shown = f.path.display().to_string();
            let full = root.join(&f.path);
            let link = std::fs::symlink_metadata(&full)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            match std::fs::metadata(&full) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(ProjectError::NotRegular { path: shown }),
                Err(_) if link => {
                    skipped.push(Skipped {
                        path: f.path,
                        reason: "a link to nothing".into(),
                    });
                    continue;
                }
                Err(source) => {
                    return Err(ProjectError::Read {
                        path: shown,
                        source,
                    })
                }
            }
            let bytes = std::fs::read(&full).map_err(|source| ProjectError::Read {
                path: shown.clone(),
                source,
            })?;
            let text = match String::from_utf8(bytes) {
                Ok(t) if !t.contains('\0') => t,
                _ if f.explicit => return Err(ProjectError::NotText { path: shown }),
                _ => {
                    skipped.push(Skipped {
                        path: f.path,
                        reason: "binary or not UTF-8 text (encrypted?)".into(),
                    });
                    continue;
                }
            };
            let doc = Document::parse(&text).map_err(|e| ProjectError::Parse {
                path: shown.clone(),
                line: e.line,
                message: e.message,
            })?;
            let file = EnvFile::with_model(f.path, &model)?;
            let canonical = std::fs::canonicalize(&full).unwrap_or(full);
            if let Some(&i) = real.get(&canonical) {
                let first: &EnvFile = &files[i].file;
                if first.environment != file.environment && !first.template && !file.template {
                    return Err(ProjectError::SameFile {
                        a: first.path.display().to_string(),
                        b: shown,
                        env_a: first.environment.clone(),
                        env_b: file.environment,
                    });
                }
                tracing::debug!(path = %shown, "the same file as {}", first.path.display());
                continue;
            }
            real.insert(canonical, files.len());
            files.push(Loaded { file, doc });
        }
        tracing::debug!(files = files.len(), root = %root.display(), "env files loaded");
        Ok(Project {
            root: root.to_path_buf(),
            files,
            skipped,
            recovery,
            _lock: lock,
        })
    }
}
