//! Reading `.env` files: the one way every Vigil crate reads one (the project's env files, the
//! files `token check-config` is given, `--env-file`), so each failure has one message: the
//! file, and the line for what does not parse (never the line's content).
//!
//! [`Lookup`] reads variables the way `--env-file` promises: the files first (the first file
//! that binds a name wins), then the process environment, and says where each value came from.

use crate::document::{Document, ParseError};
use std::path::{Path, PathBuf};
use vigil_core::Origin;

/// An env file that cannot be used. Never holds a value from the file.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// The file cannot be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file, as named.
        path: PathBuf,
        /// Why (said in the message, not chained, so it is said once).
        error: std::io::Error,
    },
    /// The file is not UTF-8 text, or holds a NUL byte (binary or encrypted).
    #[error("{}{}: not UTF-8 text (binary or encrypted; a NUL byte or an invalid one on this line); decrypt it first", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    NotText {
        /// The file, as named.
        path: PathBuf,
        /// The 1-based line of the first NUL or invalid byte.
        line: Option<usize>,
    },
    /// The file is larger than any env file ([`MAX_BYTES`]): a device, a log, or an attack.
    #[error("{}: larger than {} bytes, too large for an env file; refused", path.display(), MAX_BYTES)]
    TooLarge {
        /// The file, as named.
        path: PathBuf,
    },
    /// A variable bound twice with different values in a file read for its values (a key's
    /// secret): loaders disagree on which binding counts, so neither is guessed.
    #[error("{}:{line}: {key} is bound again with another value (first at line {first}): python-dotenv reads the last binding, dotenvy and docker compose the first; keep one", path.display())]
    Ambiguous {
        /// The file, as named.
        path: PathBuf,
        /// The later binding's line.
        line: usize,
        /// The earlier binding's line.
        first: usize,
        /// The variable.
        key: String,
    },
    /// A variable two of the files read together bind with different values: which one counts
    /// would hang on the order of the files given, so neither is guessed.
    #[error("{}:{line}: {key} is also bound, with another value, in {} (line {other_line}): which one counts would depend on the order of the --env-file options; keep one", path.display(), other.display())]
    Conflict {
        /// The later file, as named.
        path: PathBuf,
        /// Its binding's line.
        line: usize,
        /// The variable.
        key: String,
        /// The earlier file, as named.
        other: PathBuf,
        /// Its binding's line.
        other_line: usize,
    },
    /// A line no dialect reads.
    #[error("{}:{}: {}", path.display(), error.line, error.message)]
    Parse {
        /// The file, as named.
        path: PathBuf,
        /// The line and why.
        error: ParseError,
    },
}

impl EnvFileError {
    /// The file (and line) the error is about.
    pub fn origin(&self) -> Origin {
        let (path, line, key) = match self {
            EnvFileError::Read { path, .. } | EnvFileError::TooLarge { path } => (path, None, None),
            EnvFileError::NotText { path, line } => (path, *line, None),
            EnvFileError::Parse { path, error } => (path, Some(error.line), None),
            EnvFileError::Ambiguous {
                path, line, key, ..
            }
            | EnvFileError::Conflict {
                path, line, key, ..
            } => (path, Some(*line), Some(key.clone())),
        };
        Origin::EnvFile {
            path: path.clone(),
            line,
            key,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            EnvFileError::Read { path, .. }
            | EnvFileError::NotText { path, .. }
            | EnvFileError::TooLarge { path }
            | EnvFileError::Ambiguous { path, .. }
            | EnvFileError::Conflict { path, .. }
            | EnvFileError::Parse { path, .. } => path,
        }
    }
}

/// The largest env file read, in bytes: more is refused after reading at most one byte past it,
/// so a link to `/dev/zero` or a huge file costs nothing.
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Reads and parses the env file at `path`; errors name `path` as given.
pub fn load(path: &Path) -> Result<Document, EnvFileError> {
    load_in(Path::new(""), path)
}

/// Reads and parses the env file at `base.join(path)`; errors name `path` (relative to the
/// project root, say) as given.
pub fn load_in(base: &Path, path: &Path) -> Result<Document, EnvFileError> {
    use std::io::Read as _;
    let read = |error| EnvFileError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(base.join(path))
        .map_err(read)?
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(EnvFileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) if !t.contains('\0') => t,
        Ok(t) => {
            let at = t.find('\0').unwrap_or(0);
            return Err(EnvFileError::NotText {
                path: path.to_path_buf(),
                line: Some(1 + t[..at].matches('\n').count()),
            });
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let b = e.as_bytes();
            return Err(EnvFileError::NotText {
                path: path.to_path_buf(),
                line: Some(1 + b[..at].iter().filter(|c| **c == b'\n').count()),
            });
        }
    };
    Document::parse(&text).map_err(|error| EnvFileError::Parse {
        path: path.to_path_buf(),
        error,
    })
}

/// Variables from `--env-file`s, then the process environment.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    files: Vec<(PathBuf, Document)>,
}

impl Lookup {
    /// Reads `files` (each must exist and parse, and bind no variable twice with different
    /// values: `MCP_JWT_SECRET=changeme` above a strong one is what dotenvy-based tools run
    /// with; nor may two of the files: the weak one would win with the files in the other
    /// order).
    pub fn load(files: &[PathBuf]) -> Result<Lookup, EnvFileError> {
        let files: Vec<(PathBuf, Document)> = files
            .iter()
            .map(|f| {
                let doc = load(f)?;
                unambiguous(f, &doc)?;
                Ok((f.clone(), doc))
            })
            .collect::<Result<_, EnvFileError>>()?;
        // Across files only a secret's name (`.env` then `.env.local` overriding `DATABASE_URL`
        // is the usual layering; two different signing secrets are not).
        for (i, (path, doc)) in files.iter().enumerate().skip(1) {
            for b in doc
                .bindings()
                .iter()
                .filter(|b| vigil_core::redact::names_a_secret(&b.key))
            {
                let earlier = files[..i].iter().find_map(|(p, d)| {
                    let v = d.get(&b.key)?;
                    (Some(v) != b.value.as_deref()).then(|| {
                        let line = d.bindings().iter().rev().find(|x| x.key == b.key);
                        (p, line.map_or(0, |x| x.line))
                    })
                });
                if let Some((other, other_line)) = earlier {
                    return Err(EnvFileError::Conflict {
                        path: path.clone(),
                        line: b.line,
                        key: b.key.clone(),
                        other: other.clone(),
                        other_line,
                    });
                }
            }
        }
        Ok(Lookup { files })
    }

    /// The process environment alone.
    pub fn process() -> Lookup {
        Lookup::default()
    }

    /// The value of `name`: from the first file that binds it (its last binding there, as
    /// python-dotenv reads it), else from the process environment.
    pub fn get(&self, name: &str) -> Option<String> {
        self.files
            .iter()
            .find_map(|(_, d)| d.get(name).map(str::to_owned))
            .or_else(|| std::env::var(name).ok())
    }

    /// The value of `name` read together with the other names of `group` (a key ring's current
    /// and previous secrets): when a file binds any name of the group, that file alone gives
    /// them all (a stale shell variable never adds what the file does not hold, so a ring is
    /// never assembled from two sources); otherwise as [`Lookup::get`].
    pub fn get_together(&self, name: &str, group: &[&str]) -> Option<String> {
        let file = self
            .files
            .iter()
            .find(|(_, d)| group.iter().any(|g| d.get(g).is_some()));
        match file {
            Some((_, d)) => d.get(name).map(str::to_owned),
            None => self.get(name),
        }
    }

    /// Where [`Lookup::get`] finds `name` (a process variable when no file binds it).
    pub fn origin(&self, name: &str) -> Origin {
        for (path, doc) in &self.files {
            if let Some(b) = doc
                .bindings()
                .iter()
                .rev()
                .find(|b| b.key == name && b.value.is_some())
            {
                return Origin::EnvFile {
                    path: path.clone(),
                    line: Some(b.line),
                    key: Some(name.to_owned()),
                };
            }
        }
        Origin::EnvVar(name.to_owned())
    }
}

/// Refuses a document binding one variable twice with different values.
fn unambiguous(path: &Path, doc: &Document) -> Result<(), EnvFileError> {
    let mut first: std::collections::HashMap<&str, (usize, Option<&str>)> =
        std::collections::HashMap::new();
    // A secret's name only: `DEBUG=true` then `DEBUG=false` is a loader's business, two
    // signing secrets are ambiguity (review).
    for b in doc
        .bindings()
        .iter()
        .filter(|b| vigil_core::redact::names_a_secret(&b.key))
    {
        match first.get(b.key.as_str()) {
            Some((line, value)) if *value != b.value.as_deref() => {
                return Err(EnvFileError::Ambiguous {
                    path: path.to_path_buf(),
                    line: b.line,
                    first: *line,
                    key: b.key.clone(),
                });
            }
            Some(_) => {}
            None => {
                first.insert(&b.key, (b.line, b.value.as_deref()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_failure_and_files_before_the_process() {
        let dir = std::env::temp_dir().join(format!("vigil-envfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.env");
        let e = load(&missing).unwrap_err();
        assert!(e
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())));
        std::fs::write(dir.join("bad.env"), "A=1\nB='never closed s3cr3t\n").unwrap();
        let e = load_in(&dir, Path::new("bad.env")).unwrap_err();
        assert!(e.to_string().starts_with("bad.env:2: "), "{e}");
        assert!(!e.to_string().contains("s3cr3t"));
        assert_eq!(
            e.origin(),
            Origin::EnvFile {
                path: "bad.env".into(),
                line: Some(2),
                key: None
            }
        );
        std::fs::write(dir.join("bin.env"), b"A=1\nB=x\0y\n").unwrap();
        let e = load_in(&dir, Path::new("bin.env")).unwrap_err();
        assert!(matches!(e, EnvFileError::NotText { line: Some(2), .. }));
        assert!(
            e.to_string().starts_with("bin.env:2: not UTF-8 text"),
            "{e}"
        );
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.env")).unwrap();
        assert!(matches!(
            load(&dir.join("zero.env")),
            Err(EnvFileError::TooLarge { .. })
        ));
        let a = dir.join("a.env");
        // One variable bound twice with different values: refused, naming both lines.
        std::fs::write(&a, "PATH=from-a\nX_TOKEN=1\nX_TOKEN=2\n").unwrap();
        let e = Lookup::load(std::slice::from_ref(&a)).unwrap_err();
        assert!(
            e.to_string().ends_with("a.env:3: X_TOKEN is bound again with another value (first at line 2): python-dotenv reads the last binding, dotenvy and docker compose the first; keep one"),
            "{e}"
        );
        // Not a secret's name: the loaders' own business.
        std::fs::write(&a, "DEBUG=true\nDEBUG=false\n").unwrap();
        assert!(Lookup::load(std::slice::from_ref(&a)).is_ok());
        // The same value twice is no ambiguity; two files binding one differently are.
        std::fs::write(&a, "PATH=from-a\nX=2\nX=2\nX_TOKEN=2\n").unwrap();
        let b = dir.join("b.env");
        std::fs::write(&b, "Y=1\nX_TOKEN=3\n").unwrap();
        let e = Lookup::load(&[a.clone(), b.clone()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("b.env:2: X_TOKEN is also bound, with another value, in ")
                && e.to_string().contains("a.env (line 4)"),
            "{e}"
        );
        // A layered file overriding what is no secret is not.
        std::fs::write(&b, "Y=1\nX_TOKEN=2\nX=9\n").unwrap();
        assert!(Lookup::load(&[a.clone(), b]).is_ok());
        let l = Lookup::load(std::slice::from_ref(&a)).unwrap();
        assert_eq!(l.get("PATH").as_deref(), Some("from-a"));
        assert_eq!(l.get("X").as_deref(), Some("2"));
        assert_eq!(
            l.origin("X"),
            Origin::EnvFile {
                path: a.clone(),
                line: Some(3),
                key: Some("X".into())
            }
        );
        assert_eq!(l.origin("HOME"), Origin::EnvVar("HOME".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
