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
//! - **husky v8** (`core.hooksPath` = `.husky`, whose hooks source `.husky/_/husky.sh`): the
//!   command goes first in the (tracked, executable) `.husky/<hook>` itself, never renamed;
//! - **plain hooks**: Vigil's script; a hook already there is kept as `<hook>.vigil-chained` and
//!   run after Vigil (with git's stdin for pre-push), or with `force` replaced and kept as
//!   `<hook>.bak`.
//!
//! Anything that cannot be done safely (a hooks path that is a file, a lefthook file in TOML or
//! JSON, a flow-style YAML block) is refused with the lines to add by hand.
//!
//! [`unprotected`] then says, for every worktree of the repository (the main one and each
//! linked one), whether git will really run vigil there: a linked worktree has its own checkout
//! of `.husky/` (without husky's generated, git-ignored `_/`) and of `lefthook.yml`, so what
//! protects one worktree may leave another bare.

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
    /// Where Vigil's hook definitions are published. Not printed: the pre-commit entry is a
    /// `repo: local` one that runs `vigil` from the PATH, so nothing has to be fetched.
    pub pre_commit_repo: String,
    /// The version (`v0.1.0`), said in the entry's comment.
    pub pre_commit_rev: String,
}

/// A worktree where git will not run vigil for a hook, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprotected {
    /// The worktree's folder.
    pub worktree: PathBuf,
    /// The hook.
    pub hook: Hook,
    /// Why git runs no vigil there.
    pub why: String,
    /// What to run or change.
    pub fix: String,
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
        None => common_hooks(repo),
    })
}

/// `<common git folder>/hooks`, without the `worktrees/<name>/../..` a linked worktree's
/// common folder is named by.
fn common_hooks(repo: &gix::Repository) -> PathBuf {
    let common = repo.common_dir();
    std::fs::canonicalize(common)
        .unwrap_or_else(|_| common.to_owned())
        .join("hooks")
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
            .map(|h| husky_add(&user, &dir, *h, false))
            .collect();
    }
    if husky_v8(&dir) {
        return opts
            .hooks
            .iter()
            .map(|h| husky_add(&dir, &dir, *h, true))
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

/// What a pre-push hook script passes on: the remote and URL git gives it (`$1`, `$2`), so
/// that a new ref is checked against what that remote really has.
const PUSH_ARGS: &str = "--remote \"$1\" --remote-url \"$2\"";

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
            "refs=$(cat)\nfeed() {{ if [ -n \"$refs\" ]; then printf '%s\\n' \"$refs\"; fi; }}\n# git sends no line when nothing is pushed (\"Everything up-to-date\").\nif [ -n \"$refs\" ]; then feed | {command} {PUSH_ARGS} || exit $?; fi\nchained=\"$(dirname \"$0\")/{name}.vigil-chained\"\nif [ -x \"$chained\" ]; then feed | \"$chained\" \"$@\"; exit $?; fi\n"
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

/// husky v8: `core.hooksPath` is the user's folder itself (`.husky`), whose hook files git runs
/// directly and which source husky's `_/husky.sh`.
fn husky_v8(hooks: &Path) -> bool {
    hooks.join("_").join("husky.sh").is_file()
}

/// The command first in husky's hook file `<user>/<hook>` (after its shebang). For husky v8
/// (`v8`) git runs that file itself, so a new one is made executable.
fn husky_add(user: &Path, hooks: &Path, hook: Hook, v8: bool) -> Result<Installed, HookError> {
    let path = user.join(hook.name());
    let active = if v8 {
        hooks.join("_").join("husky.sh").is_file()
    } else {
        hooks.join(hook.name()).is_file() && hooks.join("h").is_file()
    };
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
            "# vigil: refuses the push when vigil finds a secret ({MARKER})\nvigil_refs=$(cat)\nif [ -n \"$vigil_refs\" ]; then printf '%s\\n' \"$vigil_refs\" | {} {PUSH_ARGS} || exit $?; fi\nexec <<VIGIL_REFS\n$vigil_refs\nVIGIL_REFS\n",
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
    write(&path, &text, v8 && !executable(&path))?;
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

/// The command lefthook runs for `hook`: for pre-push, with the remote and URL git gives the
/// hook (lefthook's `{1}` and `{2}`, quoted), so the pushed remote is asked what it has.
fn lefthook_run(hook: Hook) -> String {
    match hook {
        Hook::PrePush => format!("{} --remote '{{1}}' --remote-url '{{2}}'", hook.command()),
        Hook::PreCommit => hook.command().to_owned(),
    }
}

/// The YAML block lefthook needs for `hook`, at indentation `unit` per level, from `level`.
fn lefthook_command(hook: Hook, unit: usize, level: usize) -> String {
    let pad = |n: usize| " ".repeat(unit * (level + n));
    let mut s = format!("{}vigil:\n{}run: {}\n", pad(0), pad(1), lefthook_run(hook));
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
                    lefthook_run(hook)
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
            out.push(format!("{pad}vigil:\n{inner}run: {}\n", lefthook_run(hook)));
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
    let configured = opts
        .hooks
        .iter()
        .all(|h| pre_commit_entry(&text, h.pre_commit_id()).is_ok());
    // A `repo: local` entry: pre-commit fetches nothing and runs `vigil` from the PATH (the
    // hook definitions are those of Vigil's `.pre-commit-hooks.yaml`). `always_run`: without it
    // pre-commit skips the hook when no file on disk changed (a token added then deleted, a
    // message-only or symlink-only commit, an `exclude` pattern), and those commits get pushed.
    let mut entry = format!(
        "repos:\n  # vigil {} must be on the PATH (language: system)\n  - repo: local\n    hooks:\n",
        opts.pre_commit_rev
    );
    for h in &opts.hooks {
        let (name, stage) = match h {
            Hook::PreCommit => ("vigil scan (staged changes)", "pre-commit"),
            Hook::PrePush => ("vigil scan (commits to push)", "pre-push"),
        };
        entry.push_str(&format!(
            "      - id: {}\n        name: {name}\n        entry: {}\n        language: system\n        pass_filenames: false\n        always_run: true\n        stages: [{stage}]\n",
            h.pre_commit_id(),
            h.command()
        ));
    }
    Installed::PreCommit {
        config: config.to_path_buf(),
        entry,
        configured,
        active: current.contains("File generated by pre-commit"),
    }
}

/// What is wrong with a `.pre-commit-config.yaml`'s entry for one of vigil's hooks.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// No hook with that id.
    Missing,
    /// The hook is there without `always_run: true`: pre-commit skips it when no file changed.
    NotAlwaysRun,
}

/// Whether `text` (a `.pre-commit-config.yaml`, block style) has a hook `id` that says
/// `always_run: true`: every hook item with that id is read up to the next item.
fn pre_commit_entry(text: &str, id: &str) -> Result<(), Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let value = |l: &str, key: &str| -> Option<String> {
        let t = l.trim().trim_start_matches('-').trim();
        let v = t.strip_prefix(key)?.trim_start().strip_prefix(':')?;
        let v = v.split(" #").next().unwrap_or(v).trim();
        Some(v.trim_matches(['"', '\'']).to_owned())
    };
    let mut found = false;
    for (i, l) in lines.iter().enumerate() {
        if value(l, "id").as_deref() != Some(id) {
            continue;
        }
        found = true;
        // The item's keys sit at the column of `id:`; it starts at the `- ` above (or here)
        // and ends at the first line indented less than its keys.
        let key_col = l.find("id").unwrap_or(0);
        let mut start = i;
        while !lines[start].trim_start().starts_with("- ") && start > 0 {
            let prev = lines[start - 1];
            if !prev.trim().is_empty() && indent(prev) < key_col.saturating_sub(2) {
                break;
            }
            start -= 1;
        }
        let mut end = i + 1;
        while end < lines.len() {
            let n = lines[end];
            let t = n.trim_start();
            if !t.is_empty() && !t.starts_with('#') && indent(n) < key_col {
                break;
            }
            end += 1;
        }
        if lines[start..end]
            .iter()
            .any(|l| value(l, "always_run").is_some_and(|v| v == "true"))
        {
            return Ok(());
        }
    }
    Err(if found {
        Entry::NotAlwaysRun
    } else {
        Entry::Missing
    })
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The submodules checked out from a repository whose common git folder is `common`: each
/// folder under `modules/` (nested ones too) that is a git folder with a working tree (its
/// `core.worktree`), as (working tree, git folder).
fn submodules(common: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![common.join("modules")];
    while let Some(d) = stack.pop() {
        let Ok(list) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in list.flatten() {
            let p = e.path();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if p.join("HEAD").is_file() && p.join("config").is_file() {
                let worktree = gix::open(&p)
                    .ok()
                    .and_then(|r| r.workdir().map(Path::to_path_buf));
                if let Some(w) = worktree.filter(|w| w.is_dir()) {
                    out.push((w, p.clone()));
                }
                stack.push(p.join("modules"));
            } else {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every worktree of the repository: the main one (when it has one), then the linked ones.
fn worktrees(repo: &gix::Repository) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(w) = repo
        .main_repo()
        .ok()
        .and_then(|m| m.workdir().map(Path::to_path_buf))
    {
        out.push(w);
    }
    for p in repo.worktrees().unwrap_or_default() {
        if let Ok(b) = p.base() {
            out.push(b);
        }
    }
    let mut seen = Vec::new();
    out.retain(|w| {
        let c = std::fs::canonicalize(w).unwrap_or_else(|_| w.clone());
        let new = !seen.contains(&c);
        seen.push(c);
        new
    });
    out
}

/// For every worktree of the repository at or above `path` and every hook of `hooks`: whether
/// git will run vigil there before the commit (or push), and if not, why and what to do.
pub fn unprotected(path: &Path, hooks: &[Hook]) -> Result<Vec<Unprotected>, HookError> {
    let repo = crate::git::open(path)?;
    let hooks_path = |r: &gix::Repository| {
        r.config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|e| HookError::Refused {
                path: "core.hooksPath".into(),
                message: format!("cannot be read: {e}"),
            })
    };
    let shared = hooks_path(&repo)?;
    let mut out = Vec::new();
    // Submodules are repositories of their own: git runs their hooks (from
    // `.git/modules/<name>/hooks`) for a commit there, and a `git push
    // --recurse-submodules` pushes their commits with their pre-push hook, not this one's.
    for (w, git_dir) in submodules(repo.common_dir()) {
        let Some(sub) = crate::git::open_worktree(&w) else {
            continue;
        };
        let dir = match hooks_path(&sub)? {
            Some(p) if p.is_absolute() => p,
            Some(p) => w.join(p),
            None => git_dir.join("hooks"),
        };
        for &hook in hooks {
            if let Err((why, _)) = reaches_vigil(&w, &dir, hook) {
                out.push(Unprotected {
                    worktree: w.clone(),
                    hook,
                    why: format!("a submodule: {why}"),
                    fix: format!(
                        "run `vigil hook install{}` in {} (a submodule has its own hooks)",
                        if hook == Hook::PrePush {
                            " --pre-push"
                        } else {
                            ""
                        },
                        w.display()
                    ),
                });
            }
        }
    }
    for w in worktrees(&repo) {
        // Each worktree as git sees it from there: with `extensions.worktreeConfig`, its own
        // `config.worktree` may set another `core.hooksPath`.
        let configured = match crate::git::open_worktree(&w) {
            Some(r) => hooks_path(&r)?,
            None => shared.clone(),
        };
        let dir = match &configured {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => w.join(p),
            None => common_hooks(&repo),
        };
        for &hook in hooks {
            if let Err((why, fix)) = reaches_vigil(&w, &dir, hook) {
                out.push(Unprotected {
                    worktree: w.clone(),
                    hook,
                    why,
                    fix,
                });
            }
        }
    }
    Ok(out)
}

/// Whether the hook git runs in worktree `w` (from `dir`) runs vigil; else why not and the fix.
fn reaches_vigil(w: &Path, dir: &Path, hook: Hook) -> Result<(), (String, String)> {
    let file = dir.join(hook.name());
    let shown = file.display();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let name = hook.name();
    let husky9 = husky_folder(dir).is_some();
    let lefthook = text.contains("lefthook");
    let pre_commit = text.contains("File generated by pre-commit");
    if !executable(&file) {
        let fix = if husky9 || husky_v8(dir) || dir.ends_with(".husky/_") {
            format!(
                "run `npx husky` in {} (`npm install` does it through the `prepare` script)",
                w.display()
            )
        } else if lefthook_config(w).is_some() {
            format!("run `lefthook install` in {}", w.display())
        } else if w.join(".pre-commit-config.yaml").is_file() {
            format!(
                "run `pre-commit install --hook-type {name}` in {}",
                w.display()
            )
        } else {
            format!("run `vigil hook install` in {}", w.display())
        };
        return Err((
            format!("git runs no {name} hook here ({shown} is missing or not executable)"),
            fix,
        ));
    }
    if text.contains(MARKER) {
        return Ok(());
    }
    let in_file = |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains(MARKER));
    let not_here = |p: &Path| {
        (
            format!(
                "{} does not run vigil in this worktree's checkout",
                p.display()
            ),
            format!(
                "commit the change to {} and bring it into {} (or run `vigil hook install` there)",
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                w.display()
            ),
        )
    };
    if husky9 {
        let user = dir.parent().unwrap_or(dir).join(name);
        return if in_file(&user) {
            Ok(())
        } else {
            Err(not_here(&user))
        };
    }
    if lefthook {
        return match lefthook_config(w) {
            Some(Ok(c))
                if std::fs::read_to_string(&c).is_ok_and(|t| t.contains(hook.command())) =>
            {
                Ok(())
            }
            Some(Ok(c)) | Some(Err(c)) => Err(not_here(&c)),
            None => Err((
                format!(
                    "lefthook runs the {name} hook, but {} has no lefthook.yml",
                    w.display()
                ),
                "add the `vigil` command to lefthook's configuration".into(),
            )),
        };
    }
    if pre_commit {
        let config = w.join(".pre-commit-config.yaml");
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        return match pre_commit_entry(&text, hook.pre_commit_id()) {
            Ok(()) => Ok(()),
            Err(Entry::Missing) => Err((
                format!(
                    "pre-commit runs the {name} hook, but {} has no `{}` hook",
                    config.display(),
                    hook.pre_commit_id()
                ),
                "add the entry `vigil hook install` prints, under `repos:`".into(),
            )),
            Err(Entry::NotAlwaysRun) => Err((
                format!(
                    "{}: the `{}` hook has no `always_run: true`, so pre-commit skips it whenever no file on disk changed (a secret added then deleted, a branch not checked out, a message or symlink only)",
                    config.display(),
                    hook.pre_commit_id()
                ),
                "add `always_run: true` to that hook, as in the entry `vigil hook install` prints".into(),
            )),
        };
    }
    if husky_v8(dir) {
        return Err(not_here(&file));
    }
    Err((
        format!("{shown} is a hook vigil did not write and it does not run vigil"),
        format!(
            "run `vigil hook install` in {} (the hook there is kept and runs after vigil)",
            w.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_commit_entries_need_always_run() {
        let ok = "repos:\n  - repo: local\n    hooks:\n      - id: vigil\n        entry: vigil scan --staged\n        always_run: true # always\n      - id: vigil-pre-push\n        entry: vigil scan --pre-push\n        stages: [pre-push]\n";
        assert_eq!(pre_commit_entry(ok, "vigil"), Ok(()));
        assert_eq!(
            pre_commit_entry(ok, "vigil-pre-push"),
            Err(Entry::NotAlwaysRun),
            "the next item's always_run does not count"
        );
        assert_eq!(pre_commit_entry(ok, "other"), Err(Entry::Missing));
        let before = "hooks:\n  - name: x\n    always_run: true\n    id: vigil-pre-push\n";
        assert_eq!(pre_commit_entry(before, "vigil-pre-push"), Ok(()));
        let off = "hooks:\n  - id: vigil\n    always_run: false\n";
        assert_eq!(pre_commit_entry(off, "vigil"), Err(Entry::NotAlwaysRun));
    }

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
            "pre-push: # pushes\n  commands:\n    vigil:\n      run: vigil scan --pre-push --remote '{1}' --remote-url '{2}'\n      use_stdin: true\n  jobs:\n    - run: make test\n"
        );
        assert!(lefthook_edit("pre-commit: {commands: {}}\n", Hook::PreCommit).is_err());
        assert!(
            lefthook_edit("pre-commit:\n  commands: {a: {run: x}}\n", Hook::PreCommit).is_err()
        );
    }
}
