//! Git hooks that run `vigil scan --staged` (and `--pre-push`), installed where git really looks
//! for them and the way the repository's hook manager wants them.
//!
//! Where git looks is `git rev-parse --git-path hooks`: `core.hooksPath` when set (relative to
//! the working tree's root), else the `hooks` folder of the *common* git folder, which every
//! linked worktree shares. What is written there depends on who owns that folder:
//! - **pre-commit** (the framework): nothing; the `.pre-commit-config.yaml` entry for the ids of
//!   Vigil's `.pre-commit-hooks.yaml` is returned for the user to add;
//! - **lefthook**: a `vigil` command in `lefthook.yml`, the team's commands untouched;
//! - **husky v9** (`core.hooksPath` = `.husky/_`): the command goes first in `.husky/<hook>`,
//!   never into the generated `.husky/_/`;
//! - **plain hooks**: Vigil's script; a hook already there is kept as `<hook>.vigil-chained` and
//!   run after Vigil (with git's stdin for pre-push), or with `force` replaced and kept as
//!   `<hook>.bak`.
//!
//! Anything that cannot be done safely (a hooks path that is a file, a lefthook file in TOML or
//! JSON, a flow-style YAML block) is refused with the lines to add by hand.

use std::path::{Path, PathBuf};

/// The line that marks what Vigil wrote.
pub const MARKER: &str = "installed by `vigil hook install`";

/// What git calls and what it should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Before a commit is recorded: `vigil scan --staged`.
    PreCommit,
    /// Before a push: `vigil scan --pre-push`.
    PrePush,
}

impl Hook {
    /// git's name for the hook.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }

    /// What git is about to do when it runs the hook.
    pub fn action(self) -> &'static str {
        match self {
            Hook::PreCommit => "commit",
            Hook::PrePush => "push",
        }
    }

    /// The command the hook runs.
    pub fn command(self) -> &'static str {
        match self {
            Hook::PreCommit => "vigil scan --staged",
            Hook::PrePush => "vigil scan --pre-push",
        }
    }

    /// The id in Vigil's `.pre-commit-hooks.yaml`.
    pub fn pre_commit_id(self) -> &'static str {
        match self {
            Hook::PreCommit => "vigil",
            Hook::PrePush => "vigil-pre-push",
        }
    }
}

/// A hook that could not be installed; nothing was changed for it.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The repository could not be opened.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    /// A configuration value or file Vigil cannot use.
    #[error("{path}: {message}")]
    Refused {
        /// The file or folder.
        path: String,
        /// Why, and what to do instead.
        message: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What was done for one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Vigil's script is at `path`, which git runs; `chained` is the hook that was there before
    /// and now runs after Vigil; `backup` the one `force` replaced.
    Script {
        /// The hook.
        hook: Hook,
        /// Where git runs it.
        path: PathBuf,
        /// The previous hook, still run.
        chained: Option<PathBuf>,
        /// The previous hook, no longer run (`force`).
        backup: Option<PathBuf>,
    },
    /// The command is (now, or already) first in husky's hook file.
    Husky {
        /// The hook.
        hook: Hook,
        /// `.husky/<hook>`.
        path: PathBuf,
        /// False when it was already there.
        added: bool,
        /// False when husky has not generated its `_` folder, so git runs nothing yet.
        active: bool,
    },
    /// A `vigil` command is (now, or already) in lefthook's configuration.
    Lefthook {
        /// The hook.
        hook: Hook,
        /// `lefthook.yml`.
        config: PathBuf,
        /// False when it was already there.
        added: bool,
        /// False when lefthook's own git hook is not installed, so git runs nothing yet.
        active: bool,
    },
    /// pre-commit manages the hooks: nothing was written; `entry` is what to add to
    /// `.pre-commit-config.yaml` unless `configured`.
    PreCommit {
        /// The configuration file.
        config: PathBuf,
        /// The entry to add (YAML).
        entry: String,
        /// Whether every requested id is already in the configuration.
        configured: bool,
        /// Whether pre-commit's git hook is installed.
        active: bool,
    },
}

/// Where and how to install.
#[derive(Debug, Clone)]
pub struct Options {
    /// The hooks to install.
    pub hooks: Vec<Hook>,
    /// Replace a foreign plain hook (kept as `<hook>.bak`) instead of chaining to it.
    pub force: bool,
    /// For the pre-commit entry: the repository URL and revision of Vigil's hooks.
    pub pre_commit_repo: String,
    /// The revision (`v0.1.0`).
    pub pre_commit_rev: String,
}

/// The folder git runs hooks from for the repository at or above `path`, as `git rev-parse
/// --git-path hooks` says: `core.hooksPath` (relative to the working tree's root, or to the git
/// folder of a bare repository), else `<common git folder>/hooks`.
pub fn hooks_dir(repo: &gix::Repository) -> Result<PathBuf, HookError> {
    let configured = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .map_err(|e| HookError::Refused {
            path: "core.hooksPath".into(),
            message: format!("cannot be read: {e}"),
        })?;
    Ok(match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or_else(|| repo.git_dir()).join(p),
        None => repo.common_dir().join("hooks"),
    })
}

/// Installs the hooks for the repository at or above `path`.
pub fn install(path: &Path, opts: &Options) -> Result<Vec<Installed>, HookError> {
    let repo = crate::git::open(path)?;
    let dir = hooks_dir(&repo)?;
    let root = repo
        .workdir()
        .unwrap_or_else(|| repo.git_dir())
        .to_path_buf();
    if dir.exists() && !dir.is_dir() {
        return Err(refused(
            &dir,
            "core.hooksPath names a file, not a folder, so git runs no hook from it; point it at a folder (or unset it) and install again",
        ));
    }
    let current = std::fs::read_to_string(dir.join(Hook::PreCommit.name())).unwrap_or_default();
    let pre_commit_config = root.join(".pre-commit-config.yaml");
    let lefthook = lefthook_config(&root);
    let husky_user = husky_folder(&dir);
    if current.contains("File generated by pre-commit") || pre_commit_config.is_file() {
        return Ok(vec![pre_commit(&pre_commit_config, &current, opts)]);
    }
    if current.contains("lefthook") || lefthook.is_some() {
        let Some(config) = lefthook else {
            return Err(refused(
                &dir.join(Hook::PreCommit.name()),
                "lefthook's hook runs here but no lefthook.yml was found at the repository's root; add the `vigil` command to your lefthook configuration by hand",
            ));
        };
        return opts
            .hooks
            .iter()
            .map(|h| lefthook_add(&config, &dir, *h))
            .collect();
    }
    if let Some(user) = husky_user {
        return opts
            .hooks
            .iter()
            .map(|h| husky_add(&user, &dir, *h))
            .collect();
    }
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    opts.hooks
        .iter()
        .map(|h| script(&dir, *h, opts.force))
        .collect()
}

fn refused(path: &Path, message: &str) -> HookError {
    HookError::Refused {
        path: path.display().to_string(),
        message: message.to_owned(),
    }
}

fn io(path: &Path, source: std::io::Error) -> HookError {
    HookError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read(path: &Path) -> Result<Option<String>, HookError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

fn write(path: &Path, text: &str, executable: bool) -> Result<(), HookError> {
    vigil_core::fsx::atomic_write(path, text.as_bytes()).map_err(|e| io(path, e))?;
    if executable {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// Vigil's plain hook script. A hook that was there before runs after Vigil, with the same
/// arguments (and, for pre-push, the same stdin).
fn script_text(hook: Hook) -> String {
    let name = hook.name();
    let command = hook.command();
    let run = match hook {
        Hook::PreCommit => format!(
            "{command} || exit $?\nchained=\"$(dirname \"$0\")/{name}.vigil-chained\"\nif [ -x \"$chained\" ]; then exec \"$chained\" \"$@\"; fi\n"
        ),
        Hook::PrePush => format!(
            "refs=$(cat)\nfeed() {{ if [ -n \"$refs\" ]; then printf '%s\\n' \"$refs\"; fi; }}\nfeed | {command} || exit $?\nchained=\"$(dirname \"$0\")/{name}.vigil-chained\"\nif [ -x \"$chained\" ]; then feed | \"$chained\" \"$@\"; exit $?; fi\n"
        ),
    };
    format!(
        "#!/bin/sh\n# {MARKER}: refuses the {name} when vigil finds a secret.\n# Bypass once with --no-verify. A hook that was here before is kept as {name}.vigil-chained\n# and runs after vigil.\nif ! command -v vigil >/dev/null 2>&1; then\n  echo \"vigil hook: vigil is not on the PATH; refusing the {name} (bypass once with --no-verify)\" >&2\n  exit 1\nfi\n{run}"
    )
}

fn script(dir: &Path, hook: Hook, force: bool) -> Result<Installed, HookError> {
    let path = dir.join(hook.name());
    let chained = dir.join(format!("{}.vigil-chained", hook.name()));
    let mut backup = None;
    let existing = std::fs::symlink_metadata(&path).is_ok();
    let ours = read(&path)?.is_some_and(|t| t.contains(MARKER));
    if existing && !ours {
        if force {
            let bak = dir.join(format!("{}.bak", hook.name()));
            std::fs::rename(&path, &bak).map_err(|e| io(&bak, e))?;
            backup = Some(bak);
        } else {
            if std::fs::symlink_metadata(&chained).is_ok() {
                return Err(refused(
                    &chained,
                    "already exists, so the hook beside it cannot be chained; merge the two by hand, or use --force (the current hook is then kept as .bak and no longer runs)",
                ));
            }
            std::fs::rename(&path, &chained).map_err(|e| io(&chained, e))?;
        }
    }
    write(&path, &script_text(hook), true)?;
    Ok(Installed::Script {
        hook,
        path,
        chained: std::fs::symlink_metadata(&chained)
            .is_ok()
            .then_some(chained),
        backup,
    })
}

/// husky v9: `core.hooksPath` is `<dir>/_`, a folder husky generates (with its `h` runner), and
/// the user's hook files are in `<dir>`.
fn husky_folder(hooks: &Path) -> Option<PathBuf> {
    let parent = hooks.parent()?;
    let generated = hooks.join("h").is_file();
    let named = hooks.file_name().is_some_and(|n| n == "_")
        && parent.file_name().is_some_and(|n| n == ".husky");
    (generated || named).then(|| parent.to_path_buf())
}

fn husky_add(user: &Path, hooks: &Path, hook: Hook) -> Result<Installed, HookError> {
    let path = user.join(hook.name());
    let active = hooks.join(hook.name()).is_file() && hooks.join("h").is_file();
    let old = read(&path)?.unwrap_or_default();
    if old.contains(MARKER) {
        return Ok(Installed::Husky {
            hook,
            path,
            added: false,
            active,
        });
    }
    let block = match hook {
        Hook::PreCommit => format!(
            "# vigil: refuses the commit when vigil finds a secret ({MARKER})\n{} || exit $?\n",
            hook.command()
        ),
        // The refs git sends on stdin go to vigil, then back to the rest of this file.
        Hook::PrePush => format!(
            "# vigil: refuses the push when vigil finds a secret ({MARKER})\nvigil_refs=$(cat)\nprintf '%s\\n' \"$vigil_refs\" | {} || exit $?\nexec <<VIGIL_REFS\n$vigil_refs\nVIGIL_REFS\n",
            hook.command()
        ),
    };
    // First, so an `exit` or `exec` later in the file cannot skip it; after a shebang line.
    let text = match old.strip_prefix("#!") {
        Some(_) => {
            let end = old.find('\n').map_or(old.len(), |i| i + 1);
            let (bang, rest) = old.split_at(end);
            let bang = if bang.ends_with('\n') {
                bang.to_owned()
            } else {
                format!("{bang}\n")
            };
            format!("{bang}{block}{rest}")
        }
        None => format!("{block}{old}"),
    };
    std::fs::create_dir_all(user).map_err(|e| io(user, e))?;
    write(&path, &text, false)?;
    Ok(Installed::Husky {
        hook,
        path,
        added: true,
        active,
    })
}

/// The lefthook configuration at the repository's root: an editable YAML file, or an error for
/// the formats Vigil does not edit.
fn lefthook_config(root: &Path) -> Option<Result<PathBuf, PathBuf>> {
    const YAML: &[&str] = &[
        "lefthook.yml",
        ".lefthook.yml",
        "lefthook.yaml",
        ".lefthook.yaml",
        ".config/lefthook.yml",
        ".config/lefthook.yaml",
    ];
    const OTHER: &[&str] = &[
        "lefthook.toml",
        ".lefthook.toml",
        "lefthook.json",
        ".lefthook.json",
        "lefthook.jsonc",
        ".lefthook.jsonc",
        ".config/lefthook.toml",
        ".config/lefthook.json",
    ];
    YAML.iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
        .map(Ok)
        .or_else(|| {
            OTHER
                .iter()
                .map(|n| root.join(n))
                .find(|p| p.is_file())
                .map(Err)
        })
}

/// The YAML block lefthook needs for `hook`, at indentation `unit` per level, from `level`.
fn lefthook_command(hook: Hook, unit: usize, level: usize) -> String {
    let pad = |n: usize| " ".repeat(unit * (level + n));
    let mut s = format!("{}vigil:\n{}run: {}\n", pad(0), pad(1), hook.command());
    if hook == Hook::PrePush {
        // lefthook gives commands no stdin unless asked; vigil reads git's refs from it.
        s.push_str(&format!("{}use_stdin: true\n", pad(1)));
    }
    s
}

fn lefthook_add(
    config: &Result<PathBuf, PathBuf>,
    hooks: &Path,
    hook: Hook,
) -> Result<Installed, HookError> {
    let path = match config {
        Ok(p) => p.clone(),
        Err(p) => {
            return Err(refused(
                p,
                &format!(
                    "Vigil edits only lefthook's YAML files; add this command by hand: {}.commands.vigil.run = \"{}\"",
                    hook.name(),
                    hook.command()
                ),
            ))
        }
    };
    let active = read(&hooks.join(hook.name()))?.is_some_and(|t| t.contains("lefthook"));
    let text = read(&path)?.unwrap_or_default();
    if text.contains(hook.command()) {
        return Ok(Installed::Lefthook {
            hook,
            config: path,
            added: false,
            active,
        });
    }
    let edited = lefthook_edit(&text, hook).map_err(|m| refused(&path, &m))?;
    write(&path, &edited, false)?;
    Ok(Installed::Lefthook {
        hook,
        config: path,
        added: true,
        active,
    })
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Adds a `vigil` command under `<hook>: commands:` in lefthook YAML text, keeping every other
/// byte: the block is appended when the hook is absent, or inserted as the first command.
fn lefthook_edit(text: &str, hook: Hook) -> Result<String, String> {
    let by_hand = || {
        format!(
            "cannot be edited safely here (flow style or tabs); add by hand under `{}:` → `commands:`:\n{}",
            hook.name(),
            lefthook_command(hook, 2, 1)
        )
    };
    if text.contains('\t') {
        return Err(by_hand());
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let key = format!("{}:", hook.name());
    let head = lines.iter().position(|l| {
        let t = l.trim_end();
        indent(l) == 0 && (t == key || t.starts_with(&format!("{key} #")))
    });
    let Some(head) = head else {
        if lines.iter().any(|l| indent(l) == 0 && l.starts_with(&key)) {
            return Err(by_hand());
        }
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "{key}\n  commands:\n{}",
            lefthook_command(hook, 2, 2)
        ));
        return Ok(out);
    };
    let end = lines[head + 1..]
        .iter()
        .position(|l| !blank(l) && indent(l) == 0)
        .map_or(lines.len(), |p| head + 1 + p);
    let body = &lines[head + 1..end];
    let unit = body
        .iter()
        .find(|l| !blank(l))
        .map_or(2, |l| indent(l).max(1));
    let mut out: Vec<String> = lines[..=head].iter().map(|s| s.to_string()).collect();
    match body
        .iter()
        .position(|l| indent(l) == unit && l.trim_end().trim_start().starts_with("commands:"))
    {
        Some(c) => {
            if body[c].trim() != "commands:" {
                return Err(by_hand());
            }
            let child = body[c + 1..]
                .iter()
                .find(|l| !blank(l))
                .map(|l| indent(l))
                .filter(|i| *i > unit)
                .unwrap_or(unit * 2);
            let step = child - unit;
            out.extend(body[..=c].iter().map(|s| s.to_string()));
            let pad = " ".repeat(child);
            let inner = " ".repeat(child + step);
            out.push(format!("{pad}vigil:\n{inner}run: {}\n", hook.command()));
            if hook == Hook::PrePush {
                out.push(format!("{inner}use_stdin: true\n"));
            }
            out.extend(body[c + 1..].iter().map(|s| s.to_string()));
        }
        None => {
            out.push(format!("{}commands:\n", " ".repeat(unit)));
            out.push(lefthook_command(hook, unit, 2));
            out.extend(body.iter().map(|s| s.to_string()));
        }
    }
    out.extend(lines[end..].iter().map(|s| s.to_string()));
    Ok(out.concat())
}

fn pre_commit(config: &Path, current: &str, opts: &Options) -> Installed {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let has = |id: &str| {
        text.lines().any(|l| {
            let t = l.trim().trim_start_matches('-').trim();
            t.strip_prefix("id:")
                .map(|v| v.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
    };
    let configured = opts.hooks.iter().all(|h| has(h.pre_commit_id()));
    let mut entry = format!(
        "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n",
        opts.pre_commit_repo, opts.pre_commit_rev
    );
    for h in &opts.hooks {
        entry.push_str(&format!("      - id: {}\n", h.pre_commit_id()));
    }
    Installed::PreCommit {
        config: config.to_path_buf(),
        entry,
        configured,
        active: current.contains("File generated by pre-commit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lefthook_edits_keep_every_other_byte() {
        let appended = lefthook_edit("# hooks\npre-push:\n  commands: {}\n", Hook::PreCommit);
        assert_eq!(
            appended.unwrap(),
            "# hooks\npre-push:\n  commands: {}\npre-commit:\n  commands:\n    vigil:\n      run: vigil scan --staged\n"
        );
        let into = "pre-commit:\n    parallel: true\n    commands:\n        lint:\n            run: make lint\nother: 1\n";
        assert_eq!(
            lefthook_edit(into, Hook::PreCommit).unwrap(),
            "pre-commit:\n    parallel: true\n    commands:\n        vigil:\n            run: vigil scan --staged\n        lint:\n            run: make lint\nother: 1\n"
        );
        let no_commands = "pre-push: # pushes\n  jobs:\n    - run: make test\n";
        assert_eq!(
            lefthook_edit(no_commands, Hook::PrePush).unwrap(),
            "pre-push: # pushes\n  commands:\n    vigil:\n      run: vigil scan --pre-push\n      use_stdin: true\n  jobs:\n    - run: make test\n"
        );
        assert!(lefthook_edit("pre-commit: {commands: {}}\n", Hook::PreCommit).is_err());
        assert!(
            lefthook_edit("pre-commit:\n  commands: {a: {run: x}}\n", Hook::PreCommit).is_err()
        );
    }
}
