//! The environments `vigil token check-config` judges, placed by vigil-env's environment model
//! (the one `env rotate`, `env check` and `env status` use): each env file is one source of its
//! environment (`.env.prod` and `services/bot/.env.prod` are two services of production), and
//! the same secret in two *environments* is the problem, never in two services of one.

use crate::compliance::{is_production, Environment};
use crate::config::TokenSection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigil_core::Secret;
use vigil_env::discover::Skipped;
use vigil_env::environment::{Model, PlaceError};
use vigil_env::project::ProjectError;
use vigil_env::rotate::Loaded;
use vigil_env::{envfile, Access, Document, EnvFileError, EnvSettings, Project};

/// An environment file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentsError {
    /// A file that cannot be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// A file the model cannot place.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// The project's env files cannot be opened.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// `NAME=FILE` names another environment than the file's own name does.
    #[error("{path}: given as environment `{given}`, but its name places it in `{placed}`: name it `{placed}={path}`, or give the file alone")]
    Relabelled {
        /// The file, as given.
        path: String,
        /// The environment given.
        given: String,
        /// The environment its name gives.
        placed: String,
    },
    /// A link whose name places it in another environment than the file it leads to.
    #[error("{path}: a link to {target}, whose name places it in `{placed}`, not `{given}`: check the file by its own name")]
    LinkRelabelled {
        /// The link, as given.
        path: String,
        /// Where it leads.
        target: String,
        /// The environment the link's name (or label) gives.
        given: String,
        /// The environment of the target's name.
        placed: String,
    },
}

/// The environments `check-config` judges, and the project files discovery left out.
#[derive(Debug)]
pub struct Gathered {
    /// One source per file (or the process environment).
    pub environments: Vec<Environment>,
    /// Files discovery skipped (one warning each).
    pub skipped: Vec<Skipped>,
}

/// Where `check-config` reads its environments: the `NAME=FILE` or `FILE` arguments when
/// given, else the project's env files (templates excluded; the project is opened read-only,
/// so nothing is written), else the process environment as `process_name`.
pub fn gather(
    args: &[String],
    process_name: &str,
    env: EnvSettings,
    section: &TokenSection,
) -> Result<Gathered, EnvironmentsError> {
    let env_production = env.section.production.clone();
    let (mut environments, skipped) = if args.is_empty() {
        let project = Project::open(env, Access::ReadOnly)?;
        (from_project(&project.files, section), project.skipped)
    } else {
        (from_args(args, &env.root, &env.model, section)?, Vec::new())
    };
    // Production for `[env] production` too, so `env check` and `check-config` agree.
    for e in &mut environments {
        e.production |= vigil_env::config::is_production(&e.name, env_production.as_deref());
    }
    if environments.is_empty() {
        environments.push(from_process(process_name, section));
    }
    Ok(Gathered {
        environments,
        skipped,
    })
}

/// An environment's variables, by name.
type Vars = BTreeMap<String, Secret<String>>;
/// Earlier bindings of keys bound again later.
type Earlier = Vec<(String, Secret<String>)>;

/// The variables of `doc` (the last binding of each key) and the earlier bindings a later one
/// overrides (what loaders that keep the first binding run with).
fn vars(doc: &Document) -> (Vars, Earlier) {
    let mut vars = BTreeMap::new();
    let mut earlier = Vec::new();
    for b in doc.bindings() {
        if let Some(v) = &b.value {
            if let Some(old) = vars.insert(b.key.clone(), Secret::new(v.clone())) {
                earlier.push((b.key.clone(), old));
            }
        }
    }
    (vars, earlier)
}

/// One source per non-template file of an opened project (`vigil_env::Project`).
pub fn from_project(files: &[Loaded], section: &TokenSection) -> Vec<Environment> {
    files
        .iter()
        .filter(|l| !l.file.template)
        .map(|l| {
            let (vars, earlier) = vars(&l.doc);
            Environment {
                name: l.file.environment.clone(),
                origin: l.file.path.display().to_string(),
                production: is_production(&l.file.environment, section),
                vars,
                earlier,
            }
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
        // The folder canonical (the root is), the name as given (a link stays itself).
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let abs = std::fs::canonicalize(dir.unwrap_or(Path::new(".")))
            .map(|d| d.join(path.file_name().unwrap_or_default()))
            .unwrap_or_else(|_| path.clone());
        let rel = abs
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.clone());
        let name = match name {
            // `prod=…` is production, as in file names; a label that contradicts the file's own
            // environment word (`dev=.env.prod`) would let the CI gate judge production as
            // development: refused.
            Some(n) => {
                let given = model.environment_word(&n).unwrap_or(n);
                if let Ok(placed) = model.place(&rel) {
                    if placed.environment != vigil_env::environment::DEFAULT
                        && placed.environment != given
                    {
                        return Err(EnvironmentsError::Relabelled {
                            path: shown,
                            given,
                            placed: placed.environment,
                        });
                    }
                }
                given
            }
            None => model.place(&rel)?.environment,
        };
        // A link (`.env.dev -> .env.prod`) is judged as what it leads to: its own name must
        // not relabel the production file behind it.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            if let Ok(target) = std::fs::canonicalize(&path) {
                let rel_target = target
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|_| target.clone());
                if let Ok(placed) = model.place(&rel_target) {
                    if placed.environment != vigil_env::environment::DEFAULT
                        && placed.environment != name
                    {
                        return Err(EnvironmentsError::LinkRelabelled {
                            path: shown,
                            target: rel_target.display().to_string(),
                            given: name,
                            placed: placed.environment,
                        });
                    }
                }
            }
        }
        let doc = envfile::load(&path)?;
        let (vars, earlier) = vars(&doc);
        out.push(Environment {
            production: is_production(&name, section),
            name,
            origin: shown,
            vars,
            earlier,
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
        earlier: Vec::new(),
    }
}
