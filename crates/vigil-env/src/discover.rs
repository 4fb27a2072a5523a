//! Which files belong to the project.
//!
//! - Without `[env] files`, the default globs (`**/.env*`, `**/*.env`) are walked with the
//!   `ignore` walker: git-ignored *folders* are pruned, while git-ignored env files are included
//!   (that is where real secrets live).
//! - Globs in `[env] files` and `[env.environments]` are configured on purpose: they are always
//!   in scope, git-ignored or not (ignore rules only prune discovery, never configuration).
//! - Discovery never descends into [`NEVER_DESCEND`] folders (`node_modules`, `.venv`, `vendor`,
//!   `target`…), with or without a `.gitignore`, unless a configured glob names a path inside one.
//! - `.envrc` (direnv) and encrypted or key files (`.env.gpg`, `.env.vault`, `.env.keys`…) are
//!   skipped, each with a reason, unless `[env] files` names them literally. A skipped file is
//!   still looked at ([`Skipped::read_content`]): a key file, or a file named as encrypted that
//!   holds plaintext secrets, is checked for being tracked by git (`env check`).
//! - Patterns are relative to the project root, in `.gitignore` syntax: a pattern without a `/`
//!   (`*.env`, `.env.prod`) matches at any depth, one with a `/` (`secrets/*.env`) from the
//!   root; letter case counts. A literal path that names no file, an absolute path and a
//!   pattern with a `..` component are refused (exit 2, naming the key); a glob that matches
//!   nothing is warned about.
//!
//! Each file is then placed in its environment by [`crate::environment::Model`].

use crate::config::EnvSection;
use ignore::overrides::{Override, OverrideBuilder};
use ignore::WalkBuilder;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Folders discovery never walks into (unless a configured glob goes there by name).
pub const NEVER_DESCEND: &[&str] = &[
    ".git",
    ".vigil",
    "node_modules",
    ".venv",
    "venv",
    "vendor",
    "target",
    "__pycache__",
    ".tox",
    ".direnv",
];

/// Last words of names of encrypted or key files: `.env.gpg`, `.env.vault`, `secrets.enc.env`…
const SEALED_WORDS: &[(&str, &str)] = &[
    ("gpg", "a GnuPG-encrypted file"),
    ("pgp", "a PGP-encrypted file"),
    ("asc", "a PGP-armored file"),
    ("age", "an age-encrypted file"),
    ("enc", "an encrypted file"),
    ("encrypted", "an encrypted file"),
    ("vault", "a dotenv-vault file (encrypted)"),
    (
        "keys",
        "a dotenvx key file (its keys decrypt other files; never rotated)",
    ),
];

/// One env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// `.env.example`, `.env.sample`, `.env.template`, `.env.dist`: holds placeholders only.
    pub template: bool,
    /// The environment the file configures (see [`crate::environment`]).
    pub environment: String,
    /// The service of that environment the file configures.
    pub service: String,
}

impl EnvFile {
    /// Describes a file by its path (relative to the root) with the built-in model (no
    /// `[env.environments]`).
    pub fn placed(path: PathBuf) -> Result<Self, crate::environment::PlaceError> {
        Self::with_model(path, &crate::environment::Model::default())
    }

    /// Describes a file by its path (relative to the root) with `model`.
    pub fn with_model(
        path: PathBuf,
        model: &crate::environment::Model,
    ) -> Result<Self, crate::environment::PlaceError> {
        let p = model.place(&path)?;
        Ok(EnvFile {
            path,
            template: p.template,
            environment: p.environment,
            service: p.service,
        })
    }
}

/// A bad glob in `[env] files` (or `[env.environments]`). Its place is [`GlobError::key`];
/// [`crate::project::ProjectError`] puts the file and line in front.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{glob}`: {message}")]
pub struct GlobError {
    /// The dotted key the glob is written under (`env.files`, `env.environments.production`).
    pub key: String,
    /// The glob.
    pub glob: String,
    /// Why.
    pub message: String,
}

/// The key a configured glob is written under.
fn key_of(section: &EnvSection, glob: &str) -> String {
    if section.files.iter().flatten().any(|g| g == glob) {
        return "env.files".into();
    }
    section
        .environments
        .iter()
        .find(|(_, globs)| globs.iter().any(|g| g == glob))
        .map_or_else(
            || "env.files".into(),
            |(n, _)| format!("env.environments.{n}"),
        )
}

/// A file discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Named literally in `[env] files` (or `[env.environments]`): read whatever its name.
    pub explicit: bool,
}

/// A file left out, and why (one warning each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Why, for the warning.
    pub reason: String,
    /// What kind of file it is.
    pub kind: SkipKind,
    /// 1-based line of the first secret it holds in plaintext, for a file named as encrypted
    /// (`.env.prod.enc`) that is in fact a plain env file (see [`Skipped::read_content`]).
    pub plaintext: Option<usize>,
}

/// Why a file was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// `.envrc`: a direnv script.
    Direnv,
    /// Named as encrypted (`.env.gpg`, `.env.vault`, `*.enc.env`).
    Encrypted,
    /// A key file (`.env.keys`): it decrypts the encrypted files.
    KeyFile,
    /// Binary or not UTF-8.
    Binary,
    /// A link to nothing.
    Link,
    /// Not a regular file: a FIFO (a secrets manager's mounted `.env`), a socket, a device.
    Special,
}

/// Files larger than this are not looked into when skipped.
const PEEK_LIMIT: u64 = 1 << 20;

impl Skipped {
    /// A skipped file.
    pub fn new(path: PathBuf, kind: SkipKind, reason: &str) -> Skipped {
        Skipped {
            path,
            reason: reason.to_owned(),
            kind,
            plaintext: None,
        }
    }

    /// Looks into a file skipped for its encrypted-looking name: when it parses as a plain env
    /// file holding a secret-named variable with a value that is not ciphertext, records the
    /// line ([`Skipped::plaintext`]). Key files are plaintext by nature and are not marked.
    pub fn read_content(&mut self, root: &Path) {
        if self.kind != SkipKind::Encrypted {
            return;
        }
        let full = root.join(&self.path);
        if std::fs::metadata(&full).map_or(true, |m| !m.is_file() || m.len() > PEEK_LIMIT) {
            return;
        }
        let Ok(doc) = crate::envfile::load(&full) else {
            return;
        };
        if crate::rotate::is_sops(&doc) {
            return;
        }
        self.plaintext = doc
            .bindings()
            .iter()
            .find(|b| {
                crate::check::is_secret_name(&b.key)
                    && b.value.as_deref().is_some_and(|v| {
                        !v.is_empty()
                            && !v.starts_with("${")
                            && vigil_core::ciphertext::sealed(v).is_none()
                    })
            })
            .map(|b| b.line);
    }

    /// Whether `env check` looks at this file for being tracked by git: a key file, or a file
    /// that holds plaintext secrets under an encrypted-looking name.
    pub fn needs_git_check(&self) -> bool {
        self.kind == SkipKind::KeyFile || self.plaintext.is_some()
    }
}

/// What discovery found: the candidate env files, and what it skipped by name.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Candidates, sorted by path.
    pub found: Vec<Found>,
    /// Skipped by name (`.envrc`, `.env.gpg`…).
    pub skipped: Vec<Skipped>,
}

fn is_literal(glob: &str) -> bool {
    !glob.contains(['*', '?', '[', ']', '{', '}', '!', '\\'])
}

fn clean(glob: &str) -> &str {
    glob.trim_start_matches("./").trim_start_matches('/')
}

/// The folder a configured glob can only match under: `secrets/*.env` → `secrets`,
/// `vendor/acme/.env` → `vendor/acme`, `**/.env*` or `.env.*` (any folder) → the root.
fn walk_root(glob: &str) -> PathBuf {
    let g = clean(glob);
    if !g.trim_end_matches('/').contains('/') {
        return PathBuf::new(); // gitignore rules: a glob without a slash matches in any folder
    }
    let parts: Vec<&str> = g.split('/').collect();
    let mut out = PathBuf::new();
    for p in &parts[..parts.len() - 1] {
        if !is_literal(p) || p.is_empty() {
            break;
        }
        out.push(p);
    }
    out
}

fn build(root: &Path, globs: &[String], section: &EnvSection) -> Result<Override, GlobError> {
    let mut ob = OverrideBuilder::new(root);
    for g in globs {
        ob.add(g).map_err(|e| GlobError {
            key: key_of(section, g),
            glob: g.clone(),
            message: e.to_string(),
        })?;
    }
    for never in ["!.git/", "!.vigil/", "!*.vigil-tmp"] {
        ob.add(never).expect("fixed globs compile");
    }
    ob.build().map_err(|e| GlobError {
        key: "env.files".into(),
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

fn pruned(entry: &ignore::DirEntry) -> bool {
    entry.depth() > 0
        && entry.file_type().is_some_and(|t| t.is_dir())
        && NEVER_DESCEND.contains(&entry.file_name().to_string_lossy().as_ref())
}

fn collect(root: &Path, walker: WalkBuilder, out: &mut BTreeMap<PathBuf, bool>) {
    for entry in walker.build().flatten() {
        let Some(t) = entry.file_type() else { continue };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if !(t.is_file() || t.is_symlink()) {
            if !t.is_dir() {
                // Kept in the list: opening the project refuses it (a FIFO never passes a
                // check in silence, and reading one would hang).
                out.entry(rel.to_path_buf()).or_insert(false);
            }
            continue;
        }
        if t.is_symlink() && entry.path().is_dir() {
            continue;
        }
        out.entry(rel.to_path_buf()).or_insert(false);
    }
}

/// What kind of skipped file a name is, and why it is skipped, unless named explicitly.
pub fn skip_kind(name: &str) -> Option<(SkipKind, &'static str)> {
    let why = skip_reason(name)?;
    let lower = name.to_ascii_lowercase();
    let kind = if lower == ".envrc" || lower.starts_with(".envrc.") {
        SkipKind::Direnv
    } else if lower
        .trim_start_matches('.')
        .split('.')
        .any(|w| w == "keys")
    {
        SkipKind::KeyFile
    } else {
        SkipKind::Encrypted
    };
    Some((kind, why))
}

/// Why a file is skipped by its name, unless named explicitly.
pub fn skip_reason(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower == ".envrc" || lower.starts_with(".envrc.") {
        return Some("a direnv script, not an env file");
    }
    let words: Vec<&str> = lower
        .trim_start_matches('.')
        .split('.')
        .filter(|w| !w.is_empty())
        .collect();
    if !(lower.starts_with(".env") || lower.ends_with(".env")) {
        return None;
    }
    words.iter().skip(1).find_map(|w| {
        SEALED_WORDS
            .iter()
            .find(|(s, _)| s == w)
            .map(|(_, why)| *why)
    })
}

/// Finds the project's env files under `root`.
pub fn discover(root: &Path, section: &EnvSection) -> Result<Discovery, GlobError> {
    let mut out: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let mut configured: Vec<String> = section.files.clone().unwrap_or_default();
    for globs in section.environments.values() {
        configured.extend(globs.iter().cloned());
    }
    for g in &configured {
        // `/secrets/*.env` is anchored at the project root, as in .gitignore; a pattern naming a
        // path that exists from the filesystem's root but not from the project's is an
        // absolute path, which never matches.
        let bare = g.trim_start_matches('!');
        // `../other/.env`, `../**/.env`: a pattern that climbs out of the project would have
        // another project's files read, and rewritten by `--write`.
        if bare.split(['/', '\\']).any(|c| c == "..") {
            return Err(GlobError {
                key: key_of(section, g),
                glob: g.clone(),
                message: format!(
                    "leads out of the project root {} (a `..` component); patterns are relative to that folder and stay inside it",
                    root.display()
                ),
            });
        }
        let absolute = bare.starts_with('/')
            && std::fs::symlink_metadata(bare).is_ok()
            && std::fs::symlink_metadata(root.join(bare.trim_start_matches('/'))).is_err();
        if absolute {
            return Err(GlobError {
                key: key_of(section, g),
                glob: g.clone(),
                message: format!(
                    "an absolute path; patterns are relative to the project root {} (write it relative to that folder)",
                    root.display()
                ),
            });
        }
    }
    if section.files.is_none() {
        let globs: Vec<String> = crate::config::DEFAULT_FILES
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = WalkBuilder::new(root);
        w.hidden(false)
            .overrides(build(root, &globs, section)?)
            .filter_entry(|e| !pruned(e));
        collect(root, w, &mut out);
    }
    if !configured.is_empty() {
        let ov = build(root, &configured, section)?;
        let mut roots: Vec<PathBuf> = configured
            .iter()
            .filter(|g| !g.starts_with('!'))
            .map(|g| walk_root(g))
            .collect();
        roots.sort();
        roots.dedup();
        // A root inside another root is walked by it.
        let outer: Vec<PathBuf> = roots
            .iter()
            .filter(|r| !roots.iter().any(|o| o != *r && r.starts_with(o)))
            .cloned()
            .collect();
        for r in outer {
            let dir = root.join(&r);
            if !dir.is_dir() {
                continue;
            }
            let mut w = WalkBuilder::new(&dir);
            w.standard_filters(false)
                .overrides(ov.clone())
                .filter_entry(|e| !pruned(e));
            collect(root, w, &mut out);
        }
        // Files named literally are in scope as they are.
        for g in section
            .files
            .iter()
            .flatten()
            .chain(section.environments.values().flatten())
        {
            if !is_literal(g) {
                continue;
            }
            let rel: PathBuf = Path::new(clean(g))
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            let full = root.join(&rel);
            if std::fs::symlink_metadata(&full).is_ok() && !full.is_dir() {
                out.insert(rel, true);
            } else if section.files.iter().flatten().any(|f| f == g) {
                return Err(GlobError {
                    key: key_of(section, g),
                    glob: g.clone(),
                    message: format!(
                        "names no file under the project root {} (paths are relative to it, letter case counts)",
                        root.display()
                    ),
                });
            }
        }
        // A configured glob that matches nothing is a likely typo: said once each.
        if let Some(files) = &section.files {
            for g in files
                .iter()
                .filter(|g| !is_literal(g) && !g.starts_with('!'))
            {
                let mut ob = OverrideBuilder::new(root);
                if ob.add(g).is_err() {
                    continue;
                }
                let Ok(ov) = ob.build() else { continue };
                if !out
                    .keys()
                    .any(|p| ov.matched(root.join(p), false).is_whitelist())
                {
                    tracing::warn!(
                        "vigil.toml: env.files: `{g}` matches no file under {} (patterns are relative to the project root; letter case counts)",
                        root.display()
                    );
                }
            }
        }
    }
    if section.files.is_some() {
        left_out(root, section, &out)?;
    }
    let mut d = Discovery::default();
    for (path, explicit) in out {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match skip_kind(&name) {
            Some((kind, reason)) if !explicit => d.skipped.push(Skipped::new(path, kind, reason)),
            _ => d.found.push(Found { path, explicit }),
        }
    }
    Ok(d)
}

/// Says which env files the default patterns find that `[env] files` leaves out (a
/// `vigil.toml` that lists only `.env` would otherwise have `.env.prod` go unchecked without a
/// word).
fn left_out(
    root: &Path,
    section: &EnvSection,
    taken: &BTreeMap<PathBuf, bool>,
) -> Result<(), GlobError> {
    let globs: Vec<String> = crate::config::DEFAULT_FILES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut all = BTreeMap::new();
    let mut w = WalkBuilder::new(root);
    w.hidden(false)
        .overrides(build(root, &globs, section)?)
        .filter_entry(|e| !pruned(e));
    collect(root, w, &mut all);
    let missed: Vec<String> = all
        .keys()
        .filter(|p| !taken.contains_key(*p))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            skip_kind(&name).is_none() && !crate::environment::is_template_name(&name)
        })
        .map(|p| vigil_core::logging::printable(&p.display().to_string()).into_owned())
        .collect();
    if !missed.is_empty() {
        let shown: Vec<&str> = missed.iter().take(5).map(String::as_str).collect();
        let more = if missed.len() > 5 {
            format!(" and {} more", missed.len() - 5)
        } else {
            String::new()
        };
        tracing::warn!(
            "vigil.toml: env.files leaves out {} env file(s) the default patterns find: {}{more} (not read by this command; add them to [env] files to check them)",
            missed.len(),
            shown.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_roots_and_skips() {
        assert_eq!(walk_root("secrets/*.env"), PathBuf::from("secrets"));
        assert_eq!(
            walk_root("./vendor/acme/.env"),
            PathBuf::from("vendor/acme")
        );
        assert_eq!(walk_root("**/.env*"), PathBuf::new());
        assert_eq!(walk_root(".env.*"), PathBuf::new());
        assert_eq!(walk_root("a/**/b/.env"), PathBuf::from("a"));
        assert!(skip_reason(".envrc").unwrap().contains("direnv"));
        assert!(skip_reason(".env.gpg").is_some());
        assert!(skip_reason(".env.vault").is_some());
        assert!(skip_reason(".env.keys").is_some());
        assert!(skip_reason("secrets.enc.env").is_some());
        assert_eq!(skip_reason(".env"), None);
        assert_eq!(skip_reason(".env.production"), None);
        assert_eq!(skip_reason("keys.txt"), None);
    }
}
