//! A project's env files, opened for a rotation or for reading: the lock, recovery of an
//! interrupted rotation, discovery, reading, parsing and placing each file in its environment;
//! and committing a plan (with the ledger) as one transaction.
//!
//! The project root is the folder of the configuration (`vigil.toml`, found in the working
//! directory or a parent folder up to the git top level, or `--config`'s folder; without any,
//! the git top level; see [`crate::settings`]). Its lock and journal live at the state root
//! ([`crate::txn::state_root`]), so overlapping configurations exclude each other.
//!
//! Only a command that writes ([`Access::Write`]: `--write`, `vigil env recover`) creates
//! `.vigil/` (mode `0700`), takes the exclusive lock and recovers an interrupted rotation, after
//! checking that Vigil itself wrote the journal for this project's files
//! ([`crate::txn::recover_for`]). Every other command writes nothing at all: a dry run, a CI gate
//! ([`Access::ReadOnly`]), `env check` and `env status` ([`Access::Recover`], kept for
//! compatibility: it now reads exactly like `ReadOnly`) take a shared lock only when the lock
//! file already exists, and refuse while an interrupted rotation is pending, naming `vigil env
//! recover`: a command run in CI or in a fresh clone must not act on a journal it finds.
//!
//! The commands are `open` → (`plan_rotation` | `plan_retire` | `check` | `status`) →
//! `commit`; the plans live in [`crate::rotate`], the checks in [`crate::check`] and
//! [`crate::status`].

use crate::discover::{self, EnvFile, SkipKind, Skipped};
use crate::envfile::{self, EnvFileError};
use crate::environment::PlaceError;
use crate::ledger::{Ledger, LedgerError, LEDGER};
use crate::rotate::{Loaded, Plan};
use crate::settings::{EnvSettings, SettingsError};
use crate::txn::{self, Lock, Recovery, TxnError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a command uses the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A rotation: the exclusive lock (creating `.vigil/`), then recovery.
    Write,
    /// `env check`, `env status`: reads like [`Access::ReadOnly`] (a pending journal is refused,
    /// never acted on; `vigil env recover` recovers).
    Recover,
    /// A dry run or a gate: writes nothing at all.
    ReadOnly,
}

/// The opened project.
#[derive(Debug)]
pub struct Project {
    /// `[env]`, resolved.
    pub settings: EnvSettings,
    /// The env files, parsed and placed, sorted by path.
    pub files: Vec<Loaded>,
    /// Files left out, with the reason (one warning each).
    pub skipped: Vec<Skipped>,
    /// What recovery did.
    pub recovery: Recovery,
    access: Access,
    _lock: Option<Lock>,
}

/// Why a project cannot be opened. Never holds a value from a file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A setting of `[env]` (a bad glob in `[env] files`).
    #[error(transparent)]
    Settings(#[from] SettingsError),
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
    /// A file that cannot be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// An env file that is outside the project (through a link, a linked folder or `..`).
    #[error("{path}: leads to {target}, outside the project: refused (copy the file in, or run vigil in the project the file belongs to)")]
    LinkOutside {
        /// The link, as found.
        path: String,
        /// Where it leads.
        target: String,
    },
    /// A discovered env file that is not UTF-8 text: its environment cannot be checked.
    #[error(
        "{0}, or, if it is encrypted, name it so (`.env.prod.enc`), or list the files to read in [env] files"
    )]
    Unreadable(EnvFileError),
    /// A file named in `[env] files` that is not text.
    #[error(
        "{path}: not UTF-8 text (binary or encrypted); decrypt it, or leave it out of [env] files"
    )]
    NotText {
        /// The file.
        path: String,
    },
    /// The lock or the journal.
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// A read-only command found an interrupted rotation.
    #[error("an interrupted rotation is pending ({journal}); this command writes nothing, so it does not act on it: run `vigil env recover` (which checks the journal, then finishes or undoes the rotation) first")]
    Pending {
        /// The journal.
        journal: String,
    },
    /// The project has no env file to work on.
    #[error("{root}: no env files found (looked for {globs}); nothing to check: run in the project, name it with --config, or list its files in [env] files")]
    NoFiles {
        /// The project root.
        root: String,
        /// The globs used.
        globs: String,
    },
}

impl ProjectError {
    /// Where the problem is, when it is one setting or one file.
    pub fn origin(&self) -> Option<vigil_core::Origin> {
        match self {
            ProjectError::Settings(e) => e.origin().cloned(),
            ProjectError::EnvFile(e) | ProjectError::Unreadable(e) => Some(e.origin()),
            ProjectError::Place(PlaceError::Unknown { path, .. })
            | ProjectError::Place(PlaceError::TwoEnvironments { path, .. })
            | ProjectError::Place(PlaceError::TwoOverrides { path, .. })
            | ProjectError::Place(PlaceError::Relabelled { path, .. })
            | ProjectError::NotRegular { path }
            | ProjectError::LinkOutside { path, .. }
            | ProjectError::NotText { path } => Some(vigil_core::Origin::EnvFile {
                path: path.into(),
                line: None,
                key: None,
            }),
            _ => None,
        }
    }
}

/// Why a plan cannot be committed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The ledger cannot be read or its salt made.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The transaction failed (and was rolled back when before its commit point).
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// The project was opened for reading: only [`Access::Write`] holds the lock a commit needs.
    #[error("the project was opened read-only; a commit needs Access::Write (the exclusive lock)")]
    ReadOnly,
}

impl Project {
    /// Opens the project of `settings` for `access`: a file that does not parse, or that the
    /// environment model cannot place, is an error naming it, and nothing is changed.
    pub fn open(settings: EnvSettings, access: Access) -> Result<Project, ProjectError> {
        let root = settings.root.as_path();
        let model = &settings.model;
        let discovered = |settings: &EnvSettings| {
            discover::discover(root, &settings.section)
                .map_err(|e| ProjectError::Settings(settings.glob_error(e)))
        };
        let (lock, recovery, found) = match access {
            Access::Write => {
                let l = txn::lock(root)?;
                let found = discovered(&settings)?;
                let targets: Vec<PathBuf> =
                    found.found.iter().map(|f| root.join(&f.path)).collect();
                let recovery = txn::recover_for(root, &targets)?;
                // Recovery may have renamed files: find them again.
                let found = if recovery == Recovery::Nothing {
                    found
                } else {
                    discovered(&settings)?
                };
                (Some(l), recovery, found)
            }
            Access::Recover | Access::ReadOnly => {
                let shared = txn::lock_shared(root)?;
                if txn::pending(root) {
                    return Err(ProjectError::Pending {
                        journal: txn::journal_path(root).display().to_string(),
                    });
                }
                (shared, Recovery::Nothing, discovered(&settings)?)
            }
        };
        let mut skipped = found.skipped;
        let mut files: Vec<Loaded> = Vec::new();
        let mut real: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for f in found.found {
            let shown = f.path.display().to_string();
            let full = root.join(&f.path);
            let kind = std::fs::symlink_metadata(&full).map(|m| m.file_type());
            let link = kind.as_ref().is_ok_and(|t| t.is_symlink());
            if kind
                .as_ref()
                .is_ok_and(|t| !t.is_file() && !t.is_dir() && !t.is_symlink())
            {
                // A FIFO (1Password and other managers mount `.env` as one), a socket, a
                // device: never read (a FIFO would block), never passed over in silence.
                skipped.push(Skipped::new(
                    f.path,
                    SkipKind::Special,
                    "not a regular file (a FIFO, socket or device): not read, so not checked",
                ));
                continue;
            }
            match std::fs::metadata(&full) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(ProjectError::NotRegular { path: shown }),
                Err(_) if link => {
                    skipped.push(Skipped::new(f.path, SkipKind::Link, "a link to nothing"));
                    continue;
                }
                Err(error) => {
                    return Err(EnvFileError::Read {
                        path: f.path,
                        error,
                    }
                    .into())
                }
            }
            // A file outside the project (a committed link, a linked folder) would have
            // another project's or the user's file read and rewritten: refused before it is
            // read, where it leads named.
            let canonical = std::fs::canonicalize(&full).unwrap_or_else(|_| full.clone());
            if !canonical.starts_with(root) {
                return Err(ProjectError::LinkOutside {
                    path: shown,
                    target: canonical.display().to_string(),
                });
            }
            let doc = match envfile::load_in(root, &f.path) {
                Ok(doc) => doc,
                Err(EnvFileError::NotText { .. }) if f.explicit => {
                    return Err(ProjectError::NotText { path: shown })
                }
                // A file named as an env file that cannot be read (one Latin-1 byte, UTF-16 from
                // Notepad) would leave its environment unchecked: never skipped in silence.
                // Files named as encrypted (`.env.prod.enc`) were set aside before this.
                Err(e @ EnvFileError::NotText { .. }) => return Err(ProjectError::Unreadable(e)),
                Err(e) => return Err(e.into()),
            };
            let file = EnvFile::with_model(f.path, model)?;
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
        for s in skipped.iter_mut() {
            s.read_content(root);
        }
        tracing::debug!(files = files.len(), root = %root.display(), "env files loaded");
        Ok(Project {
            settings,
            files,
            skipped,
            recovery,
            access,
            _lock: lock,
        })
    }

    /// The project root (canonical).
    pub fn root(&self) -> &Path {
        &self.settings.root
    }

    /// Refuses a project without a single env file (templates count): a check of nothing is
    /// not a clean check.
    pub fn ensure_files(&self) -> Result<(), ProjectError> {
        if self.files.is_empty() {
            return Err(ProjectError::NoFiles {
                root: self.root().display().to_string(),
                globs: self.settings.section.file_globs().join(", "),
            });
        }
        Ok(())
    }

    /// Commits a plan as one transaction (refused unless the project was opened with
    /// [`Access::Write`]): its files, and the ledger (one salted hash per environment of each
    /// new value, never a value) when the plan made new values. With `backup`, the old files
    /// are kept under `.vigil/backup/` until the next successful commit. The project keeps the
    /// files as they were read: open it again to read the new ones.
    pub fn commit(&self, plan: &Plan, backup: bool) -> Result<(), CommitError> {
        if self.access != Access::Write {
            return Err(CommitError::ReadOnly);
        }
        let root = self.root();
        let mut changes: Vec<txn::Change> = plan
            .files
            .iter()
            .map(|f| txn::Change {
                path: root.join(&f.file.path),
                old: Some(f.old.clone().into_bytes()),
                new: f.new.clone().into_bytes(),
            })
            .collect();
        if !plan.values.is_empty() {
            txn::project_dir(root)?;
            let (mut ledger, old) = Ledger::load_with_text(root)?;
            let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            for (name, values) in &plan.values {
                let files = plan.holders.get(name).cloned().unwrap_or_default();
                if plan.partial.contains(name) {
                    ledger.record_partial(name, values, &at, files)?;
                } else {
                    ledger.record(name, values, &at, files)?;
                }
            }
            changes.push(txn::Change {
                path: root.join(LEDGER),
                old: old.map(String::into_bytes),
                new: ledger.to_text().into_bytes(),
            });
        }
        txn::commit(root, &changes, backup)?;
        Ok(())
    }
}
