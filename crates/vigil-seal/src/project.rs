//! The project a file belongs to, and where in it the file is placed: one root per file,
//! whatever the working directory, so every command on a file takes the same lock, journal and
//! fingerprint index (`<root>/.vigil/`), and places the file in the same environment `vigil env`
//! does (vigil-env's [`Model`]: `[env.environments]`, the file name, the folder rule).
//!
//! The root is the folder of `--config` when one is given (as for `vigil env`); otherwise the
//! nearest folder, from the file's own upwards, that holds a `vigil.toml` or is the top of a git
//! work tree (`.git`, a folder or a worktree's file). A file in neither is refused: there is no
//! way to tell its project, and two guesses would mean two locks (create an empty `vigil.toml`
//! at the project root). A symbolic link is placed by its own path and by its target's; the two
//! must agree (the link `.env.qa` → `.env.staging` is refused, as `vigil env` refuses it); a
//! link to a file outside the project is placed by its own path. Only regular files are placed.

use crate::error::{Result, SealError};
use std::path::{Path, PathBuf};
use vigil_core::Config;
use vigil_env::{EnvFile, EnvSettings, Model};

/// A project: its root (canonical) and its environment model.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    model: Model,
}

/// A file placed in its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The path as given (for messages).
    pub path: PathBuf,
    /// The real file (links resolved), relative to the root: the name the index records.
    pub rel: PathBuf,
    /// The environment its values are bound to.
    pub environment: String,
}

fn project_err(path: &Path, message: impl Into<String>) -> SealError {
    SealError::Project {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// `path` made absolute with its folder resolved (links in the folders followed; the file name
/// kept, so a link is still the link).
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| project_err(path, "not a file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(parent).map_err(|e| SealError::io(parent, e))?;
    Ok(dir.join(name))
}

/// The configuration that decides `path`'s project: `explicit` (`--config`) if given, else
/// the nearest `vigil.toml` or git work tree above the file (an empty configuration rooted
/// there); `None` when there is neither. The caller may check its sections before
/// [`Project::new`].
pub fn find_config(explicit: Option<&Path>, path: &Path) -> Result<Option<Config>> {
    if let Some(c) = explicit {
        return Ok(Some(Config::load(c)?));
    }
    let abs = absolute(path)?;
    let mut dir = abs.parent();
    while let Some(d) = dir {
        let toml = d.join(vigil_core::config::DEFAULT_FILE);
        if toml.is_file() {
            return Ok(Some(Config::load(&toml)?));
        }
        if std::fs::symlink_metadata(d.join(".git")).is_ok() {
            return Ok(Some(Config::parse(toml, String::new())?));
        }
        dir = d.parent();
    }
    Ok(None)
}

/// [`find_config`], with a file in no project refused.
pub fn config_for(explicit: Option<&Path>, path: &Path) -> Result<Config> {
    find_config(explicit, path)?.ok_or_else(|| no_project(path))
}

/// The error for a file in no project.
pub fn no_project(path: &Path) -> SealError {
    project_err(
        path,
        "cannot tell which project this is in: no vigil.toml and no git work tree in its folder or above (the project's .vigil/ holds the lock, journal and fingerprint index); create a vigil.toml (an empty one will do) at the project root, or give --config",
    )
}

impl Project {
    /// The project of a configuration: its folder, and `[env.environments]`.
    pub fn new(config: &Config) -> Result<Project> {
        let s = EnvSettings::resolve(config)?;
        Ok(Project {
            root: s.root,
            model: s.model,
        })
    }

    /// The project of `path` (see the module documentation).
    pub fn of(explicit: Option<&Path>, path: &Path) -> Result<Project> {
        Project::new(&config_for(explicit, path)?)
    }

    /// The root (canonical): `.vigil/` lives here.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` relative to the root, or an error when it is outside.
    fn relative(&self, shown: &Path, abs: &Path, what: &str) -> Result<PathBuf> {
        abs.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .map_err(|_| {
                project_err(
                    shown,
                    format!(
                        "{what} is outside the project at {} (the folder of its vigil.toml or git work tree)",
                        self.root.display()
                    ),
                )
            })
    }

    /// Whether `path` is inside this project.
    pub fn contains(&self, path: &Path) -> bool {
        absolute(path).is_ok_and(|a| a.starts_with(&self.root))
    }

    /// Places a file: its real path relative to the root, and its environment (`environment`
    /// when given, else the model's placement of the link and of its target, which must agree).
    pub fn place(&self, path: &Path, environment: Option<&str>) -> Result<Placed> {
        let abs = absolute(path)?;
        let rel_link = self.relative(path, &abs, "the file")?;
        let meta = std::fs::symlink_metadata(&abs).map_err(|e| SealError::io(path, e))?;
        // A link into the project is placed by its target too (they must agree) and recorded
        // under the target's path; a link to a file outside it (a shared file) by its own name.
        let rel = if meta.file_type().is_symlink() {
            let real = std::fs::canonicalize(&abs).map_err(|e| SealError::io(path, e))?;
            real.strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| rel_link.clone())
        } else {
            rel_link.clone()
        };
        if !std::fs::metadata(&abs).is_ok_and(|m| m.is_file()) {
            return Err(project_err(path, "not a regular file; refused"));
        }
        let place = |rel: &Path| {
            EnvFile::with_model(rel.to_path_buf(), &self.model)
                .map(|f| f.environment)
                .map_err(|e| SealError::Place(format!("{e}; or give --environment")))
        };
        let environment = match environment {
            Some(e) => e.to_owned(),
            None => {
                let by_link = place(&rel_link)?;
                if rel != rel_link {
                    let by_target = place(&rel)?;
                    if by_target != by_link {
                        return Err(project_err(
                            path,
                            format!(
                                "a link to {}: its name places it in {by_link}, its target in {by_target}; one file cannot be in two environments: remove the link, or place both in one environment under [env.environments] in vigil.toml",
                                rel.display()
                            ),
                        ));
                    }
                }
                by_link
            }
        };
        Ok(Placed {
            path: path.to_path_buf(),
            rel,
            environment,
        })
    }

    /// Places several files, all of which must be in this project; two names of one file (a
    /// link and its target) are refused, as one transaction cannot change a file twice.
    pub fn place_all(&self, paths: &[PathBuf], environment: Option<&str>) -> Result<Vec<Placed>> {
        let mut out: Vec<Placed> = Vec::new();
        for p in paths {
            let placed = self.place(p, environment)?;
            if let Some(first) = out.iter().find(|f| f.rel == placed.rel) {
                return Err(project_err(
                    p,
                    format!(
                        "the same file as {} (a link, or given twice); give it once",
                        first.path.display()
                    ),
                ));
            }
            out.push(placed);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_root_whatever_the_file_is_named_by_and_the_folder_rule_applies() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("vigil.toml"), "").unwrap();
        std::fs::create_dir_all(root.join("deploy/prod")).unwrap();
        std::fs::write(root.join("deploy/prod/.env"), "A=1\n").unwrap();
        let p = Project::of(None, &root.join("deploy/prod/.env")).unwrap();
        assert_eq!(p.root(), root);
        let placed = p.place(&root.join("deploy/prod/.env"), None).unwrap();
        assert_eq!(placed.environment, "production");
        assert_eq!(placed.rel, Path::new("deploy/prod/.env"));
        // A link whose name says another environment than its target's.
        std::fs::write(root.join(".env.staging"), "A=1\n").unwrap();
        std::os::unix::fs::symlink(".env.staging", root.join(".env.qa")).unwrap();
        let e = p
            .place(&root.join(".env.qa"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("its name places it in qa, its target in staging"),
            "{e}"
        );
        // A link that agrees is placed by its target's path.
        std::os::unix::fs::symlink(".env.staging", root.join(".env.stage")).unwrap();
        let l = p.place(&root.join(".env.stage"), None).unwrap();
        let twice = [root.join(".env.stage"), root.join(".env.staging")];
        let e = p.place_all(&twice, None).unwrap_err().to_string();
        assert!(e.contains("the same file as"), "{e}");
        assert_eq!(
            (l.rel.as_path(), l.environment.as_str()),
            (Path::new(".env.staging"), "staging")
        );
        // [env.environments] decides what names do not.
        std::fs::write(
            root.join("vigil.toml"),
            "[env.environments]\nblue = [\".env.blue\"]\n",
        )
        .unwrap();
        std::fs::write(root.join(".env.blue"), "A=1\n").unwrap();
        let p = Project::of(None, &root.join(".env.blue")).unwrap();
        assert_eq!(
            p.place(&root.join(".env.blue"), None).unwrap().environment,
            "blue"
        );
    }

    #[test]
    fn a_file_in_no_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".env");
        std::fs::write(&f, "A=1\n").unwrap();
        // The temp folder is in no git work tree and below no vigil.toml.
        let e = Project::of(None, &f).unwrap_err().to_string();
        assert!(e.contains("cannot tell which project"), "{e}");
    }
}
