//! The environments `vigil token check-config` judges, placed by vigil-env's environment model
//! (the one `env rotate`, `env check` and `env status` use): each env file is one source of its
//! environment (`.env.prod` and `services/bot/.env.prod` are two services of production), and
//! the same secret in two *environments* is the problem, never in two services of one.

use crate::compliance::{is_production, Environment};
use crate::config::TokenSection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigil_core::Secret;
use vigil_env::environment::{Model, PlaceError};
use vigil_env::rotate::Loaded;
use vigil_env::Document;

/// An environment file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentsError {
    /// A file that cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
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
    /// A file the model cannot place.
    #[error(transparent)]
    Place(#[from] PlaceError),
}

fn vars(doc: &Document) -> BTreeMap<String, Secret<String>> {
    let mut vars = BTreeMap::new();
    for b in doc.bindings() {
        if let Some(v) = &b.value {
            vars.insert(b.key.clone(), Secret::new(v.clone()));
        }
    }
    vars
}

/// One source per non-template file of an opened project (`vigil_env::Project`).
pub fn from_project(files: &[Loaded], section: &TokenSection) -> Vec<Environment> {
    files
        .iter()
        .filter(|l| !l.file.template)
        .map(|l| Environment {
            name: l.file.environment.clone(),
            origin: l.file.path.display().to_string(),
            production: is_production(&l.file.environment, section),
            vars: vars(&l.doc),
        })
        .collect()
}

/// Sources named on the command line: `NAME=FILE` (the environment given, `prod` read as
/// production) or `FILE` (placed by `model` from its path, relative to `root` when it is inside
/// it).
pub fn from_args(
    args: &[String],
    root: &Path,
    model: &Model,
    section: &TokenSection,
) -> Result<Vec<Environment>, EnvironmentsError> {
    let mut out = Vec::new();
    for a in args {
        let (name, path) = match a.split_once('=') {
            Some((n, p)) => (Some(n.to_owned()), PathBuf::from(p)),
            None => (None, PathBuf::from(a)),
        };
        let shown = path.display().to_string();
        let name = match name {
            // `prod=…` is production, as in file names.
            Some(n) => model.environment_word(&n).unwrap_or(n),
            None => {
                // The folder canonical (the root is), the name as given (a link stays itself).
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                let abs = std::fs::canonicalize(dir.unwrap_or(Path::new(".")))
                    .map(|d| d.join(path.file_name().unwrap_or_default()))
                    .unwrap_or_else(|_| path.clone());
                let rel = abs
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|_| path.clone());
                model.place(&rel)?.environment
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| EnvironmentsError::Read {
            path: shown.clone(),
            source,
        })?;
        let doc = Document::parse(&text).map_err(|e| EnvironmentsError::Parse {
            path: shown.clone(),
            line: e.line,
            message: e.message,
        })?;
        out.push(Environment {
            production: is_production(&name, section),
            name,
            origin: shown,
            vars: vars(&doc),
        });
    }
    Ok(out)
}

/// The process environment as one environment called `name`.
pub fn from_process(name: &str, section: &TokenSection) -> Environment {
    Environment {
        name: name.to_owned(),
        origin: "the process environment".into(),
        production: is_production(name, section),
        vars: std::env::vars().map(|(k, v)| (k, Secret::new(v))).collect(),
    }
}
