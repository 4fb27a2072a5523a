//! The configuration at the base of a change set. A push, a range, `--since` or the index is
//! scanned with the configuration files its base commits hold too (the remote's commit, the
//! range's start, `HEAD`), not only with the working tree's: a change that deletes or weakens
//! `vigil.toml` (or a file its `[extend] path` pulls in), or a checkout of another branch whose
//! configuration differs, cannot weaken the scan of the change.
//!
//! A version is the content of every place a configuration is looked for (`vigil.toml` in the
//! working directory, `.gitleaks.toml` beside the scanned repository and in the working
//! directory) and of the files their `[extend] path` names (two levels), repository-relative.
//! When a base's version differs from the working tree's, it is written to a private temporary
//! folder in the same layout and resolved as a discovered configuration, trusted (it is what the
//! remote or the branch already had). The scan runs with it as well; findings of both are kept.

use crate::settings::{ScanSettings, SettingsError};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Repository-relative path → content (`None`: no file there).
type Version = BTreeMap<String, Option<Vec<u8>>>;

/// Reads the contents of repository-relative paths (`None` for the whole when it cannot).
type Reader<'a> = &'a dyn Fn(&[String]) -> Option<Vec<Option<Vec<u8>>>>;

/// A base's configuration that differs from the working tree's, resolved.
pub(crate) struct AtBase {
    /// The base commit (hex).
    pub(crate) commit: String,
    /// The settings with the base's configuration.
    pub(crate) settings: ScanSettings,
}

/// `dir`'s path below `root` (canonical), `/`-separated (`""` for the root itself).
fn below(root: &Path, dir: &Path) -> Option<String> {
    let d = std::fs::canonicalize(dir).ok()?;
    let rel = d.strip_prefix(root).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` (as written in `[extend] path`) relative to the folder of `from`, inside the
/// repository; `None` when absolute or climbing out of it.
fn normalize(from: &str, path: &str) -> Option<String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return None;
    }
    let mut parts: Vec<String> = from.split('/').map(str::to_owned).collect();
    parts.pop();
    parts.retain(|s| !s.is_empty());
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The `[extend] path` (`[scan.extend] path` in a `vigil.toml`) a configuration file names.
fn extend_path(text: &[u8]) -> Option<String> {
    let v: toml::Value = toml::from_str(std::str::from_utf8(text).ok()?).ok()?;
    let e = v
        .get("scan")
        .and_then(|s| s.get("extend"))
        .or_else(|| v.get("extend"))?;
    e.get("path")?.as_str().map(str::to_owned)
}

/// The version `read` gives: the candidates, then what their `[extend] path` names, two levels.
/// `None` when it cannot be read or an extended file lies outside the repository.
fn version(candidates: &[String], read: Reader<'_>) -> Option<Version> {
    let mut v: Version = candidates.iter().cloned().zip(read(candidates)?).collect();
    let mut last: Vec<String> = candidates.to_vec();
    for _ in 0..2 {
        let mut more = Vec::new();
        for path in &last {
            if let Some(Some(text)) = v.get(path) {
                if let Some(p) = extend_path(text) {
                    let n = normalize(path, &p)?;
                    if !v.contains_key(&n) && !more.contains(&n) {
                        more.push(n);
                    }
                }
            }
        }
        if more.is_empty() {
            break;
        }
        for (p, c) in more.iter().cloned().zip(read(&more)?) {
            v.insert(p, c);
        }
        last = more;
    }
    Some(v)
}

/// The configurations of `bases` (commits of the repository at `repo`) that differ from the
/// working tree's, each resolved, and a warning per base configuration that cannot be used.
/// Nothing when the working directory is outside the repository's working tree (its
/// configuration is then not the repository's) or the repository has none.
pub(crate) fn differing(
    settings: &ScanSettings,
    repo: &Path,
    bases: &[String],
) -> (Vec<AtBase>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let Some(root) = crate::git::work_root(repo) else {
        return (out, warnings);
    };
    let Some(cwd) = below(&root, &settings.cwd) else {
        return (out, warnings);
    };
    let first = settings.roots.first().filter(|r| r.is_dir());
    let scanned = first.and_then(|r| below(&root, r));
    let mut candidates = vec![join(&cwd, vigil_core::config::DEFAULT_FILE)];
    if let Some(s) = &scanned {
        candidates.push(join(s, ".gitleaks.toml"));
    }
    candidates.push(join(&cwd, ".gitleaks.toml"));
    candidates.dedup();
    let disk = |paths: &[String]| -> Option<Vec<Option<Vec<u8>>>> {
        Some(
            paths
                .iter()
                .map(|p| std::fs::read(root.join(p)).ok())
                .collect(),
        )
    };
    let here = version(&candidates, &disk);
    let mut seen: Vec<Version> = Vec::new();
    // One handle for every base (each read needs only the commit's tree).
    let opened = crate::git::open(repo).ok();
    // No configuration file at all: the built-in rules.
    let builtin: Version = candidates.iter().map(|c| (c.clone(), None)).collect();
    for base in bases {
        let short = short_name(base);
        let v = if base == crate::git::NO_BASE {
            builtin.clone()
        } else {
            let at = |paths: &[String]| {
                opened
                    .as_ref()
                    .and_then(|r| crate::git::files_at(r, base, paths))
            };
            match version(&candidates, &at) {
                Some(v) => v,
                None => {
                    // A base this clone does not hold (a force-push over another clone's
                    // commits) or whose configuration lies outside the repository: the
                    // built-in rules stand in for it, never the working tree's alone.
                    warnings.push(format!(
                        "the configuration at the base of the scanned changes ({short}) cannot be read here, so the built-in rules apply in its place (with the working tree's)"
                    ));
                    builtin.clone()
                }
            }
        };
        if Some(&v) == here.as_ref() || seen.contains(&v) {
            continue;
        }
        match resolve_at(settings, &v, &cwd, scanned.as_deref(), &short) {
            Ok(s) => out.push(AtBase {
                commit: base.clone(),
                settings: s,
            }),
            Err(e) => {
                warnings.push(format!(
                    "the configuration at the base of the scanned changes ({short}) cannot be used, so the built-in rules apply in its place (with the working tree's): {e}"
                ));
                if !seen.contains(&builtin) && here.as_ref() != Some(&builtin) {
                    if let Ok(s) = resolve_at(settings, &builtin, &cwd, scanned.as_deref(), &short)
                    {
                        out.push(AtBase {
                            commit: base.clone(),
                            settings: s,
                        });
                    }
                    seen.push(builtin.clone());
                }
            }
        }
        seen.push(v);
    }
    (out, warnings)
}

/// How a base is named in messages: a commit's first 12 hex digits, or what stands for no base.
pub(crate) fn short_name(base: &str) -> String {
    if base == crate::git::NO_BASE {
        "no base commit: the built-in rules".to_owned()
    } else {
        base[..base.len().min(12)].to_owned()
    }
}

/// The settings with version `v` as the discovered configuration: written to a private
/// temporary folder in the repository's layout, resolved there, and named `<commit>:<path>` in
/// warnings.
fn resolve_at(
    settings: &ScanSettings,
    v: &Version,
    cwd: &str,
    scanned: Option<&str>,
    short: &str,
) -> Result<ScanSettings, String> {
    let dir = tempfile::TempDir::new().map_err(|e| e.to_string())?;
    let place = |rel: &str| -> PathBuf {
        if rel.is_empty() {
            dir.path().to_owned()
        } else {
            dir.path().join(rel)
        }
    };
    for (rel, content) in v {
        if let Some(c) = content {
            let file = place(rel);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            vigil_core::fsx::write_private(&file, c).map_err(|e| e.to_string())?;
        }
    }
    let (cwd_dir, root_dir) = (place(cwd), scanned.map(place));
    for d in std::iter::once(&cwd_dir).chain(root_dir.as_ref()) {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let prefix = format!("{}/", dir.path().display());
    let named = |text: &str| text.replace(&prefix, &format!("{short}:"));
    let s = settings
        .with_config_from(&cwd_dir, root_dir.as_deref(), dir.path(), &|p: &Path| {
            PathBuf::from(named(&p.display().to_string()))
        })
        .map_err(|e: SettingsError| named(&e.to_string()))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_paths_stay_inside_the_repository() {
        assert_eq!(normalize("vigil.toml", "x.toml").as_deref(), Some("x.toml"));
        assert_eq!(
            normalize("a/b/vigil.toml", "../c/x.toml").as_deref(),
            Some("a/c/x.toml")
        );
        assert_eq!(normalize("vigil.toml", "../x.toml"), None);
        assert_eq!(normalize("vigil.toml", "/etc/x.toml"), None);
        assert_eq!(
            extend_path(b"[scan.extend]\npath = 'x.toml'\n").as_deref(),
            Some("x.toml")
        );
        assert_eq!(
            extend_path(b"[extend]\nuseDefault = true\npath = 'y.toml'\n").as_deref(),
            Some("y.toml")
        );
    }
}
