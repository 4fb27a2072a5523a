//! Which files belong to the project: the `[env] files` globs (default `**/.env*`, `**/*.env`),
//! found with the `ignore` walker so ignored directories (`node_modules/`, `target/`) are
//! skipped, while `.env` files that git ignores are included: that is where real secrets live.

use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;
use std::path::{Path, PathBuf};

/// One env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// `.env.example`, `.env.sample`, `.env.template`, `.env.dist`: holds placeholders only.
    pub template: bool,
    /// The environment the file configures: `.env.production` → `production`, `prod.env` →
    /// `prod`, `.env` → `default`, `.env.service` → `service` (`.local` is dropped).
    pub environment: String,
}

/// A bad glob in `[env] files`.
#[derive(Debug, thiserror::Error)]
#[error("env.files: `{glob}`: {message}")]
pub struct GlobError {
    /// The glob.
    pub glob: String,
    /// Why.
    pub message: String,
}

impl EnvFile {
    /// Describes a file by its path (relative to the root).
    pub fn new(path: PathBuf) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let template = ["example", "sample", "template", "dist"]
            .iter()
            .any(|t| name.contains(t));
        let trimmed = name.trim_start_matches('.');
        let env = trimmed
            .strip_prefix("env.")
            .or_else(|| trimmed.strip_suffix(".env"))
            .unwrap_or("");
        let env = env.strip_suffix(".local").unwrap_or(env);
        let environment = if env.is_empty() || env == "local" {
            "default".to_owned()
        } else {
            env.to_owned()
        };
        EnvFile {
            path,
            template,
            environment,
        }
    }
}

/// Finds the env files under `root`, sorted by path.
pub fn discover(root: &Path, globs: &[String]) -> Result<Vec<EnvFile>, GlobError> {
    let mut ob = OverrideBuilder::new(root);
    for g in globs {
        ob.add(g).map_err(|e| GlobError {
            glob: g.clone(),
            message: e.to_string(),
        })?;
    }
    for never in ["!.git/", "!.vigil/", "!*.vigil-tmp"] {
        ob.add(never).expect("fixed globs compile");
    }
    let overrides = ob.build().map_err(|e| GlobError {
        glob: globs.join(", "),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for entry in WalkBuilder::new(root)
        .hidden(false)
        .overrides(overrides)
        .build()
        .flatten()
    {
        if !entry
            .file_type()
            .is_some_and(|t| t.is_file() || t.is_symlink())
        {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if entry.path().is_file() {
            out.push(EnvFile::new(rel.to_path_buf()));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_environment_and_template() {
        let f = |p: &str| EnvFile::new(PathBuf::from(p));
        assert_eq!(f("svc/.env.production").environment, "production");
        assert_eq!(f(".env").environment, "default");
        assert_eq!(f(".env.local").environment, "default");
        assert_eq!(f(".env.staging.local").environment, "staging");
        assert_eq!(f("prod.env").environment, "prod");
        assert!(f(".env.example").template);
        assert!(f("config/.env.sample").template);
        assert!(!f(".env.service").template);
    }
}
