//! Where a setting or a value came from, so an error can say it: a `vigil.toml` key (with its
//! file and line), a command-line flag, a binding in an env file, or a process variable.
//! Library errors carry an [`Origin`] beside their cause (ripgrep's `ignore::Error::WithPath`
//! is the model), so the binary never guesses where a problem is.

use std::fmt;
use std::path::PathBuf;

/// Where something came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key of a configuration file: `vigil.toml:3: token.max_ttl`.
    ConfigKey {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key, when known.
        line: Option<usize>,
        /// Dotted key with `[i]` indices (`token.keys[0].public_key`).
        key: String,
    },
    /// A command-line flag (`--ttl`).
    Flag(String),
    /// An env file, a line of it, a variable bound there: `.env.prod:3: MCP_JWT_SECRET`.
    EnvFile {
        /// The file, as the user named it (or relative to the project root).
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The variable, when the problem is one binding.
        key: Option<String>,
    },
    /// A variable of the process environment.
    EnvVar(String),
}

/// A key shown where an error's `: message` follows it. A key the log redactor reads as a
/// credential's name (`headers.Authorization`, `MCP_JWT_SECRET`) is quoted in backticks, or the
/// redactor would take the message's first word for its value and mask it.
struct Guarded<'a>(&'a str);

impl fmt::Display for Guarded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if crate::redact::is_credential_name(self.0) {
            write!(f, "`{}`", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ConfigKey { path, line, key } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                write!(f, ": {}", Guarded(key))
            }
            Origin::Flag(flag) => f.write_str(flag),
            Origin::EnvFile { path, line, key } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                match key {
                    Some(key) => write!(f, ": {}", Guarded(key)),
                    None => Ok(()),
                }
            }
            // Not `NAME: …`: a secret-named variable followed by a colon reads as a credential
            // pair to the log redactor, which would mask the next word of the message.
            Origin::EnvVar(name) => write!(f, "{name} (environment variable)"),
        }
    }
}

/// An error and where the value that caused it was written: `{origin}: {error}` (ripgrep's
/// `WithPath`/`WithLineNumber` wrappers, for any cause). The cause is shown in the message
/// rather than chained, so a `{:#}` chain says it once.
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
    fn each_origin_reads_as_a_place() {
        let key = Origin::ConfigKey {
            path: "vigil.toml".into(),
            line: Some(3),
            key: "token.max_ttl".into(),
        };
        assert_eq!(key.to_string(), "vigil.toml:3: token.max_ttl");
        assert_eq!(Origin::Flag("--ttl".into()).to_string(), "--ttl");
        let file = Origin::EnvFile {
            path: ".env.prod".into(),
            line: Some(2),
            key: None,
        };
        assert_eq!(file.to_string(), ".env.prod:2");
        let size = Located::new(
            Origin::Flag("--max-file-size".into()),
            crate::size::SizeError::NotASize("lots".into()),
        );
        assert_eq!(
            size.to_string(),
            "--max-file-size: `lots` is not a size (examples: 10MiB, 500KB, 4096)"
        );
        let var = Origin::EnvVar("MCP_JWT_SECRET".into());
        let line = format!("{var}: the secret is empty");
        assert_eq!(crate::redact::redact(&line), line, "never masked");
        let header = Origin::ConfigKey {
            path: "vigil.toml".into(),
            line: Some(9),
            key: "gateway.routes[0].headers.Authorization".into(),
        };
        let line = format!("{header}: would send the value of MCP_JWT_SECRET");
        assert_eq!(
            line,
            "vigil.toml:9: `gateway.routes[0].headers.Authorization`: would send the value of MCP_JWT_SECRET"
        );
        assert_eq!(crate::redact::redact(&line), line, "never masked");
    }
}
