//! `[env]` resolved once from `vigil.toml`: the project root, the section, the environment
//! model; the schedules and the generator on demand. Every error names where the setting was
//! written: a `vigil.toml` key and its line, or a flag.
//!
//! **The project root** is the folder of the configuration: `--config FILE`'s folder, else the
//! nearest `vigil.toml` in the working directory or a parent folder up to the git top level,
//! else (no `vigil.toml`) the git top level, else the working directory (found by
//! `vigil_core::Config::discover_project`). `[env] files` patterns are relative to it; the lock
//! and journal live at its git top level (`crate::txn::state_root`).

use crate::config::EnvSection;
use crate::discover::GlobError;
use crate::environment::{Model, ModelError};
use crate::generate::{self, Generator, SpecError};
use crate::schedule::{ScheduleError, Schedules};
use std::path::{Path, PathBuf};
use vigil_core::{Config, ConfigError, Origin, Section};

impl Section for EnvSection {
    const NAME: &'static str = "env";
}

/// `[env]` and what it resolves to.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// The project root: the folder of the configuration (see the module's documentation),
    /// canonical.
    pub root: PathBuf,
    /// `[env]` as written (`${VAR}` expanded).
    pub section: EnvSection,
    /// The environment model of `[env.environments]`.
    pub model: Model,
    config: Config,
}

/// A setting of `[env]` (or a flag that overrides one) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `vigil.toml` itself: unreadable, not TOML, an unknown key, a wrong type.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The project folder cannot be opened.
    #[error("{}: cannot open the project directory: {error}", path.display())]
    Root {
        /// The folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// One setting, and where it was written (a `vigil.toml` key and its line, or a flag).
    #[error("{origin}: {error}")]
    Invalid {
        /// Where.
        origin: Origin,
        /// What is wrong.
        error: Box<Invalid>,
    },
}

/// What is wrong with one setting of `[env]` (or a flag that overrides one).
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// A bad glob in `[env.environments]`.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A bad glob in `[env] files`.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// A schedule of `[env.schedules]`.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// A length or alphabet for new values.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

impl SettingsError {
    /// Where the problem was written, when it is one setting.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            SettingsError::Config(_) | SettingsError::Root { .. } => None,
            SettingsError::Invalid { origin, .. } => Some(origin),
        }
    }

    fn at(origin: Origin, error: impl Into<Invalid>) -> SettingsError {
        SettingsError::Invalid {
            origin,
            error: Box::new(error.into()),
        }
    }
}

impl EnvSettings {
    /// Reads `[env]` of `config` (`${VAR}` from the process environment) and builds the
    /// environment model.
    pub fn resolve(config: &Config) -> Result<EnvSettings, SettingsError> {
        let section: EnvSection = config.read(&|var| std::env::var(var).ok())?;
        let dir = Some(config.base_dir())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let root = std::fs::canonicalize(dir).map_err(|error| SettingsError::Root {
            path: dir.to_path_buf(),
            error,
        })?;
        let model = Model::new(&section)
            .map_err(|error| SettingsError::at(config.origin(&error.key), error))?;
        Ok(EnvSettings {
            root,
            section,
            model,
            config: config.clone(),
        })
    }

    /// Where `key` of `[env]` is written.
    pub fn origin(&self, key: &str) -> Origin {
        self.config.origin(key)
    }

    /// A bad glob of discovery, with its place in `vigil.toml`.
    pub fn glob_error(&self, error: GlobError) -> SettingsError {
        SettingsError::at(self.origin(&error.key), error)
    }

    /// The rotation schedules: `[env.schedules]`, then the defaults.
    pub fn schedules(&self) -> Result<Schedules, SettingsError> {
        Schedules::new(&self.section.schedules)
            .map_err(|error| SettingsError::at(self.origin(&error.key()), error))
    }

    /// The generator of new values: `--length` and `--charset` when given, else `[env] length`
    /// and `charset`, else each kind's defaults.
    pub fn generator(
        &self,
        length: Option<usize>,
        charset: Option<&str>,
    ) -> Result<Generator, SettingsError> {
        let spec = |flag: bool, key: &str| {
            let origin = if flag {
                Origin::Flag(format!("--{key}"))
            } else {
                self.origin(&format!("env.{key}"))
            };
            move |error: SpecError| SettingsError::at(origin, error)
        };
        let length = match (length, self.section.length) {
            (Some(n), _) => Some(generate::length(n).map_err(spec(true, "length"))?),
            (None, Some(n)) => Some(generate::length(n).map_err(spec(false, "length"))?),
            (None, None) => None,
        };
        let alphabet = match (charset, self.section.charset.as_deref()) {
            (Some(c), _) => Some(generate::charset(c).map_err(spec(true, "charset"))?),
            (None, Some(c)) => Some(generate::charset(c).map_err(spec(false, "charset"))?),
            (None, None) => None,
        };
        Ok(Generator::new(length, alphabet, self.section.placeholder()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<EnvSettings, SettingsError> {
        EnvSettings::resolve(&Config::parse("vigil.toml".into(), text.to_owned()).unwrap())
    }

    #[test]
    fn every_error_names_the_key_and_line_or_the_flag() {
        let e = settings("[env]\n\n[env.environments]\nblue = [\"[\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("vigil.toml:4: env.environments.blue: `[`: "),
            "{e}"
        );
        let s = settings("[env]\nlength = 8\n[env.schedules]\nX = \"sometimes\"\n").unwrap();
        let e = s.schedules().unwrap_err().to_string();
        assert!(
            e.starts_with("vigil.toml:4: env.schedules.X: `sometimes` is not a period"),
            "{e}"
        );
        let e = s.generator(None, None).unwrap_err().to_string();
        assert!(
            e.starts_with("vigil.toml:2: env.length: 8 is outside"),
            "{e}"
        );
        let e = s.generator(Some(9), None).unwrap_err();
        assert_eq!(e.origin(), Some(&Origin::Flag("--length".into())));
        assert!(s.generator(Some(32), Some("custom:ab#")).is_err());
        assert!(s.generator(Some(32), Some("hex")).is_ok());
    }
}
