//! Where a setting or value came from, so every error can name it: a key of a configuration file,
//! a command-line flag, a line of an env file, an environment variable. Library errors wrap their
//! cause with an [`Origin`] (ripgrep's `ignore::Error::{WithPath, WithLineNumber}` is the model).

use std::fmt;
use std::path::PathBuf;

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key of a configuration file (`vigil.toml`, `.gitleaks.toml`).
    ConfigKey {
        /// The file, as the user named it.
        path: PathBuf,
        /// 1-based line of the key (0 when unknown).
        line: usize,
        /// Dotted key, e.g. `scan.max_file_size` or `rules[1].regex`.
        key: String,
    },
    /// A command-line flag, e.g. `--max-file-size`.
    Flag {
        /// The flag as typed, with its dashes.
        name: String,
    },
    /// A variable in an env file.
    EnvFile {
        /// The file, as the user named it.
        path: PathBuf,
        /// 1-based line of the variable (0 for the whole file).
        line: usize,
        /// The variable's name (empty for the whole file).
        key: String,
    },
    /// A variable of the process environment.
    EnvVar {
        /// Its name.
        name: String,
    },
}

impl Origin {
    /// A command-line flag.
    pub fn flag(name: impl Into<String>) -> Self {
        Origin::Flag { name: name.into() }
    }

    /// A key of a configuration file.
    pub fn config_key(path: impl Into<PathBuf>, line: usize, key: impl Into<String>) -> Self {
        Origin::ConfigKey {
            path: path.into(),
            line,
            key: key.into(),
        }
    }

    /// The file this origin is in, if it is in one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Origin::ConfigKey { path, .. } | Origin::EnvFile { path, .. } => Some(path),
            Origin::Flag { .. } | Origin::EnvVar { .. } => None,
        }
    }

    /// The 1-based line in [`Origin::path`], if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::ConfigKey { line, .. } | Origin::EnvFile { line, .. } if *line > 0 => {
                Some(*line)
            }
            _ => None,
        }
    }

    /// The key, flag or variable name.
    pub fn key(&self) -> &str {
        match self {
            Origin::ConfigKey { key, .. } | Origin::EnvFile { key, .. } => key,
            Origin::Flag { name } | Origin::EnvVar { name } => name,
        }
    }
}

/// `vigil.toml:3: scan.max_file_size`, `--max-file-size`, `.env.production:4: DB_PASSWORD`,
/// `environment variable MCP_JWT_SECRET`: the prefix of a one-line error.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ConfigKey { path, line, key } | Origin::EnvFile { path, line, key } => {
                write!(f, "{}", path.display())?;
                if *line > 0 {
                    write!(f, ":{line}")?;
                }
                if !key.is_empty() {
                    write!(f, ": {key}")?;
                }
                Ok(())
            }
            Origin::Flag { name } => f.write_str(name),
            Origin::EnvVar { name } => write!(f, "environment variable {name}"),
        }
    }
}

/// An error and where the value that caused it was written: `{origin}: {error}`. The cause is
/// shown in the message rather than chained, so a `{:#}` chain says it once.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {error}")]
pub struct Located<E: std::error::Error> {
    /// Where.
    pub origin: Origin,
    /// What.
    pub error: E,
}

impl<E: std::error::Error> Located<E> {
    /// Wraps `error` with `origin`.
    pub fn new(origin: Origin, error: E) -> Self {
        Located { origin, error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_read_as_error_prefixes() {
        let at = Origin::config_key("vigil.toml", 3, "scan.max_file_size");
        assert_eq!(at.to_string(), "vigil.toml:3: scan.max_file_size");
        assert_eq!(at.line(), Some(3));
        assert_eq!(Origin::flag("--since").to_string(), "--since");
        let env = Origin::EnvFile {
            path: ".env.production".into(),
            line: 0,
            key: String::new(),
        };
        assert_eq!(env.to_string(), ".env.production");
        assert_eq!(env.line(), None);
        let var = Origin::EnvVar {
            name: "MCP_JWT_SECRET".into(),
        };
        assert_eq!(var.to_string(), "environment variable MCP_JWT_SECRET");
        assert_eq!(var.path(), None);
    }
}
