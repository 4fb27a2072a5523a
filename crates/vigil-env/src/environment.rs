//! The environment model, defined once and used by `env rotate`, `env check`, `env status` and
//! `token check-config`: an *environment* (production, staging, the default one…) is a set of
//! env files; the *services* of an environment are its files. A rotation gives each environment
//! one new value per secret, the same in all its services; two environments never share one.
//!
//! How a file is placed, first rule that applies:
//!
//! 1. `[env.environments]`: `NAME = ["glob", …]` places the files it matches (globs as in
//!    `[env] files`, relative to the project root); a file matched for two names is refused, and
//!    so is a file whose own name or folder says production placed in an environment that is
//!    not production (`staging = [".env.production"]`).
//! 2. The file name, read as words: `.env.<w>…` and `<w>….env` split at dots; right after
//!    `.env` a `-` or `_` also separates (`.env-prod`, `.env_staging`), while a `-` or `_`
//!    inside a dot-separated word is part of it (`.env.prod-eu` has the one word `prod-eu`,
//!    which is refused with the line to add: reading it as `prod` would give the eu and us
//!    deployments one value). `local` is dropped (`.env.production.local` is production);
//!    `example`, `sample`, `template`, `dist`, `defaults` mark a template. Each word is
//!    - an **environment word**: one of [`ENVIRONMENTS`] (`prod` → production, `stage` →
//!      staging…) or a name declared in `[env.environments]`; or
//!    - a **service word**: one of [`SERVICES`] (`service`, `bot`, `voice`, `api`, `worker`…) or
//!      the name of a folder on the file's path (`services/memory/.env.memory`); or
//!    - unknown: the file is refused (exit 2) with the `[env.environments]` line that places it,
//!      because `.env.<word>` means an environment in some projects and a service in others, and
//!      guessing wrong merges two environments.
//!
//!    One environment word gives the environment; two different ones are refused.
//! 3. Without an environment word in its name, the nearest folder named by an environment word
//!    (`deploy/prod/.env` → production); a folder naming another environment than the file name
//!    does is refused.
//! 4. Otherwise the default environment: `.env`, `.env.local`, `.env.bot`, `.env.voice`,
//!    `.env.service`, `services/*/.env`.
//!
//! So `.env.bot` is the bot service of the default environment, `.env.prod` the production
//! environment, and `services/bot/.env.prod` the bot service of production. Templates are placed
//! by the same words but never refused: they receive no value.

use crate::config::EnvSection;
use ignore::overrides::{Override, OverrideBuilder};
use std::path::{Component, Path};

/// The default environment's name.
pub const DEFAULT: &str = "default";
/// The production environment's canonical name (always held to production rules).
pub const PRODUCTION: &str = "production";

/// Built-in environments: each canonical name and the words that mean it in file and folder
/// names (compared case-insensitively).
pub const ENVIRONMENTS: &[(&str, &[&str])] = &[
    ("production", &["production", "prod", "prd", "live"]),
    ("staging", &["staging", "stage", "stg"]),
    ("development", &["development", "develop", "dev"]),
    ("test", &["test", "testing"]),
    ("ci", &["ci"]),
    ("qa", &["qa"]),
    ("uat", &["uat"]),
    ("preview", &["preview"]),
    ("preprod", &["preprod", "preproduction"]),
    ("sandbox", &["sandbox"]),
    ("demo", &["demo"]),
    ("canary", &["canary"]),
];

/// Built-in service words: the per-service layouts of bot, voice and MCP stacks (`.env.service`,
/// `.env.bot`, `.env.voice`…). Any folder name on the file's path is a service word too.
pub const SERVICES: &[&str] = &[
    "service",
    "services",
    "svc",
    "bot",
    "voice",
    "api",
    "app",
    "web",
    "worker",
    "server",
    "client",
    "frontend",
    "backend",
    "gateway",
    "mcp",
    "orchestrator",
    "orch",
    "tts",
    "stt",
    "asr",
    "llm",
    "discord",
    "docker",
    "compose",
];

/// Words that make a file a template (placeholders only, committed on purpose).
pub const TEMPLATE_WORDS: &[&str] = &[
    "example", "sample", "template", "dist", "defaults", "tmpl", "tpl",
];

/// Where a file belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The environment (canonical name: `production`, `staging`, `default`, or a configured one).
    pub environment: String,
    /// The service within it: the service word of the name (`bot`), else the file's folder
    /// (`services/tts`), else `.`.
    pub service: String,
    /// A template (`.env.example`…): placeholders only.
    pub template: bool,
}

/// A file the model cannot place. The message names the file and the line that places it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// A word that is neither an environment nor a service word.
    #[error("{path}: cannot tell whether `{word}` is an environment or a service; add to vigil.toml under [env.environments] either {word} = [\"{path}\"] (its own environment) or {service_of} = [\"{path}\"] (a service of the {service_of} environment)")]
    Unknown {
        /// The file, relative to the project root.
        path: String,
        /// The word.
        word: String,
        /// The environment it would be a service of.
        service_of: String,
    },
    /// Two environment words (or a file name and a folder that disagree).
    #[error("{path}: names two environments, `{a}` and `{b}`; add to vigil.toml under [env.environments] the one it belongs to, e.g. {a} = [\"{path}\"]")]
    TwoEnvironments {
        /// The file.
        path: String,
        /// One environment.
        a: String,
        /// The other.
        b: String,
    },
    /// A file whose own name or folder says production, placed by `[env.environments]` in an
    /// environment that is not production (a `vigil.toml` in a pull request could otherwise
    /// have production judged by development rules).
    #[error("{path}: its name places it in production, but [env.environments] {given} lists it; a production file is checked as production: remove it from {given}'s patterns (or list it under production)")]
    Relabelled {
        /// The file.
        path: String,
        /// The environment `[env.environments]` gives.
        given: String,
    },
    /// Matched by the globs of two `[env.environments]` names.
    #[error(
        "{path}: matched by [env.environments] {a} and {b}; a file belongs to one environment"
    )]
    TwoOverrides {
        /// The file.
        path: String,
        /// One name.
        a: String,
        /// The other.
        b: String,
    },
}

/// A bad glob in `[env.environments]`. Its place is `key`; [`crate::settings::SettingsError`]
/// puts the file and line in front.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{glob}`: {message}")]
pub struct ModelError {
    /// The dotted key (`env.environments.production`).
    pub key: String,
    /// The glob.
    pub glob: String,
    /// Why.
    pub message: String,
}

/// The model with the project's `[env.environments]`.
#[derive(Debug, Clone, Default)]
pub struct Model {
    overrides: Vec<(String, Override)>,
    declared: Vec<String>,
    /// `[env] production`: which names are production (see [`crate::config::is_production`]).
    production: Option<Vec<String>>,
}

/// The canonical environment a word means, among the built-in ones.
pub fn builtin_environment(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_lowercase();
    ENVIRONMENTS
        .iter()
        .find(|(_, words)| words.contains(&w.as_str()))
        .map(|(name, _)| *name)
}

/// The words of a file name that say what it is: `.env.bot.prod` → `[bot, prod]`,
/// `prod.env` → `[prod]`, `.env` → `[]`; `None` for a name that follows neither convention.
fn name_words(name: &str) -> Option<Vec<String>> {
    let lower = name.to_ascii_lowercase();
    let words = if let Some(rest) = lower.strip_prefix(".env") {
        let rest = rest.trim_start_matches(['.', '-', '_']);
        rest.split('.')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    } else if let Some(stem) = lower.strip_suffix(".env") {
        stem.trim_start_matches('.')
            .split('.')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        return None;
    };
    Some(words)
}

/// Whether a file name marks a template (`.env.example`, `.env.production.sample`…).
pub fn is_template_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .split(['.', '-', '_'])
        .any(|w| TEMPLATE_WORDS.contains(&w))
}

impl Model {
    /// The model for `[env]` (its `environments` table).
    pub fn new(section: &EnvSection) -> Result<Model, ModelError> {
        let mut overrides = Vec::new();
        for (name, globs) in &section.environments {
            let key = format!("env.environments.{name}");
            let mut ob = OverrideBuilder::new("/");
            for g in globs {
                ob.add(g).map_err(|e| ModelError {
                    key: key.clone(),
                    glob: g.clone(),
                    message: e.to_string(),
                })?;
            }
            let ov = ob.build().map_err(|e| ModelError {
                key: key.clone(),
                glob: globs.join(", "),
                message: e.to_string(),
            })?;
            overrides.push((name.clone(), ov));
        }
        Ok(Model {
            overrides,
            declared: section.environments.keys().cloned().collect(),
            production: section.production.clone(),
        })
    }

    /// The environment a word means: a declared name first, then the built-in words.
    pub fn environment_word(&self, word: &str) -> Option<String> {
        if let Some(d) = self.declared.iter().find(|d| d.eq_ignore_ascii_case(word)) {
            return Some(d.clone());
        }
        builtin_environment(word).map(str::to_owned)
    }

    /// Places a file given by its path relative to the project root.
    pub fn place(&self, rel: &Path) -> Result<Placement, PlaceError> {
        let path = rel.display().to_string();
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folders: Vec<String> = rel
            .parent()
            .map(|p| {
                p.components()
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s.to_string_lossy().to_ascii_lowercase()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let folder = rel
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ".".to_owned());
        let template = is_template_name(&name);

        // 1. [env.environments].
        let anchored = Path::new("/").join(rel);
        let mut hits = self
            .overrides
            .iter()
            .filter(|(_, ov)| ov.matched(&anchored, false).is_whitelist())
            .map(|(n, _)| n.clone());
        let hit = hits.next();
        if let (Some(a), Some(b)) = (&hit, hits.next()) {
            return Err(PlaceError::TwoOverrides {
                path,
                a: a.clone(),
                b,
            });
        }

        // 2. The name's words.
        let words: Vec<String> = name_words(&name)
            .unwrap_or_else(|| {
                // Not an env-file name (a file named in [env] files): only an environment word
                // in it counts.
                name.to_ascii_lowercase()
                    .split('.')
                    .filter(|w| self.environment_word(w).is_some())
                    .map(str::to_owned)
                    .collect()
            })
            .into_iter()
            .filter(|w| w != "local" && !TEMPLATE_WORDS.contains(&w.as_str()))
            .collect();
        let mut name_env: Option<String> = None;
        let mut service: Option<String> = None;
        let mut unknown: Option<String> = None;
        for w in &words {
            if let Some(e) = self.environment_word(w) {
                match &name_env {
                    Some(prev) if *prev != e && hit.is_none() && !template => {
                        return Err(PlaceError::TwoEnvironments {
                            path,
                            a: prev.clone(),
                            b: e,
                        })
                    }
                    Some(_) => {}
                    None => name_env = Some(e),
                }
            } else if SERVICES.contains(&w.as_str()) || folders.contains(w) {
                service.get_or_insert_with(|| w.clone());
            } else {
                unknown.get_or_insert_with(|| w.clone());
            }
        }
        // 3. The nearest folder named by an environment word.
        let folder_env = folders.iter().rev().find_map(|f| self.environment_word(f));
        // A generic word (`.env.service`) names no particular service: the folder does, when
        // the file is in one; at the root the word itself is the service's name.
        let service = match service {
            Some(s) if !["service", "services", "svc"].contains(&s.as_str()) => s,
            Some(s) if folder == "." => s,
            _ => folder,
        };
        if let Some(environment) = hit {
            let own = name_env.as_deref().or(folder_env.as_deref());
            if !template
                && own == Some(PRODUCTION)
                && !crate::config::is_production(&environment, self.production.as_deref())
            {
                return Err(PlaceError::Relabelled {
                    path,
                    given: environment,
                });
            }
            return Ok(Placement {
                environment,
                service,
                template,
            });
        }
        if !template {
            if let Some(word) = unknown {
                return Err(PlaceError::Unknown {
                    path,
                    word,
                    service_of: name_env
                        .or(folder_env)
                        .unwrap_or_else(|| DEFAULT.to_owned()),
                });
            }
            if let (Some(a), Some(b)) = (&name_env, &folder_env) {
                if a != b {
                    return Err(PlaceError::TwoEnvironments {
                        path,
                        a: a.clone(),
                        b: b.clone(),
                    });
                }
            }
        }
        // 4. The default environment.
        Ok(Placement {
            environment: name_env
                .or(folder_env)
                .unwrap_or_else(|| DEFAULT.to_owned()),
            service,
            template,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(m: &Model, p: &str) -> Result<String, PlaceError> {
        m.place(Path::new(p)).map(|pl| pl.environment)
    }

    #[test]
    fn names_place_files_in_environments_and_services() {
        let m = Model::default();
        for (p, want) in [
            (".env", "default"),
            (".env.local", "default"),
            (".env.bot", "default"),
            (".env.voice", "default"),
            (".env.service", "default"),
            ("services/tts/.env", "default"),
            ("services/memory/.env.memory", "default"),
            ("config/app.env", "default"),
            (".env.production", "production"),
            (".env.prod", "production"),
            ("prod.env", "production"),
            (".env.production.local", "production"),
            ("services/bot/.env.prod", "production"),
            (".env.bot.prod", "production"),
            ("deploy/prod/.env", "production"),
            (".env.staging", "staging"),
            (".env.stage", "staging"),
            (".env.development", "development"),
            (".env.ci", "ci"),
            (".env.example", "default"),
            (".env.production.example", "production"),
        ] {
            assert_eq!(env(&m, p).as_deref(), Ok(want), "{p}");
        }
        let bot = m.place(Path::new("services/bot/.env.prod")).unwrap();
        assert_eq!(bot.service, "services/bot");
        assert_eq!(m.place(Path::new(".env.bot")).unwrap().service, "bot");
        assert_eq!(
            m.place(Path::new(".env.service")).unwrap().service,
            "service"
        );
        assert_eq!(
            m.place(Path::new("services/tts/.env.service"))
                .unwrap()
                .service,
            "services/tts"
        );
        assert!(m.place(Path::new(".env.sample")).unwrap().template);
        assert!(!m.place(Path::new(".env.service")).unwrap().template);
    }

    #[test]
    fn what_cannot_be_placed_is_refused_with_the_line_to_add() {
        let m = Model::default();
        let e = env(&m, ".env.blue").unwrap_err().to_string();
        assert!(e.starts_with(".env.blue: cannot tell"), "{e}");
        assert!(e.contains("blue = [\".env.blue\"]") && e.contains("default = [\".env.blue\"]"));
        let e = env(&m, "prod/.env.blue").unwrap_err().to_string();
        assert!(e.contains("production = [\"prod/.env.blue\"]"), "{e}");
        assert!(matches!(
            env(&m, ".env.prod.staging"),
            Err(PlaceError::TwoEnvironments { .. })
        ));
        assert!(matches!(
            env(&m, "staging/.env.prod"),
            Err(PlaceError::TwoEnvironments { .. })
        ));
        // Templates are never refused.
        assert_eq!(env(&m, ".env.blue.example").as_deref(), Ok("default"));
    }

    #[test]
    fn the_configuration_places_what_names_do_not() {
        let mut environments = BTreeMap::new();
        environments.insert("blue".to_owned(), vec![]);
        environments.insert("default".to_owned(), vec![".env.green".to_owned()]);
        environments.insert(
            "production".to_owned(),
            vec!["deploy/live/*.env".to_owned()],
        );
        let m = Model::new(&EnvSection {
            environments,
            ..EnvSection::default()
        })
        .unwrap();
        assert_eq!(env(&m, ".env.blue").as_deref(), Ok("blue"));
        assert_eq!(env(&m, "blue/.env").as_deref(), Ok("blue"));
        assert_eq!(env(&m, ".env.green").as_deref(), Ok("default"));
        assert_eq!(env(&m, "deploy/live/x.env").as_deref(), Ok("production"));
        assert!(env(&m, "deploy/live/sub/x.env").is_err());
        let mut environments = BTreeMap::new();
        environments.insert("a".to_owned(), vec!["*.env".to_owned()]);
        environments.insert("b".to_owned(), vec!["x.env".to_owned()]);
        let m = Model::new(&EnvSection {
            environments,
            ..EnvSection::default()
        })
        .unwrap();
        assert!(matches!(
            env(&m, "x.env"),
            Err(PlaceError::TwoOverrides { .. })
        ));
    }
}
