//! `vigil env check`: what is wrong with the project's env files. Problems name the file, the
//! line and the variable, never the value.
//!
//! Environments come from [`crate::environment`]: a shared token must hold one value in every
//! service (file) of an environment (`inconsistent`), and no secret value may appear in two
//! environments (`shared_across_environments`). Encrypted values (SOPS, dotenvx, Fernet,
//! `vigil seal`) are not judged: their text says nothing about the secret.

use crate::config::EnvSection;
use crate::rotate::{is_placeholder, Loaded};
use crate::schedule::glob_match;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use vigil_core::strength;

/// Estimated entropy under which a secret value is weak.
pub const WEAK_BITS: f64 = 100.0;
/// Length under which a secret value is short.
pub const SHORT_LEN: usize = 16;

/// Flags that switch authentication off, by glob.
pub const BYPASS_FLAGS: &[&str] = &[
    "*DEV_BYPASS*",
    "*AUTH_BYPASS*",
    "*SKIP_AUTH*",
    "*DISABLE_AUTH*",
    "*AUTH_DISABLED*",
    "*NO_AUTH",
    "*BYPASS_AUTH*",
];

/// Names the checks take from other sections of `vigil.toml`.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Variables that hold secrets whatever they are called (`[token] secret_env` and
    /// `previous_secret_env`: `BOT_JWT`, `BOT_JWT_OLD`).
    pub secrets: Vec<String>,
    /// More flags that switch authentication off (`[token] dev_bypass`).
    pub bypass: Vec<String>,
}

/// The password of a URL with credentials (`scheme://user:password@host…`): from the first `:`
/// of the user info to its last `@`, as URL parsers split it (`p@ss` is one password).
pub fn url_password(v: &str) -> Option<&str> {
    let (scheme, rest) = v.split_once("://")?;
    let scheme = scheme.rsplit(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)));
    if scheme.into_iter().next().is_none_or(str::is_empty) {
        return None;
    }
    let end = rest
        .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// For one variable of one environment: each distinct value and the (file, line)s holding it.
type ValuesAt = BTreeMap<String, Vec<(String, usize)>>;

/// What kind of problem: a stable code, serialized as its snake-case name (`weak`,
/// `shared_across_environments`), with a one-line description for rule tables (SARIF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A token has different values in env files of the same environment.
    Inconsistent,
    /// A secret has the same value in two environments.
    SharedAcrossEnvironments,
    /// A secret is short, low in entropy or a known default.
    Weak,
    /// A placeholder is left where a real value belongs.
    Placeholder,
    /// A secret is a well-known default (`changeme`): `vigil_core::strength::is_known_default`,
    /// the rule `token check-config` applies too.
    SecretDefault,
    /// A template file holds what looks like a real secret.
    TemplateRealValue,
    /// An env file is tracked by git.
    Tracked,
    /// An env file is not covered by .gitignore.
    NotIgnored,
    /// An authentication bypass flag is on in a production file.
    DevBypass,
    /// A file named as encrypted (`.env.prod.enc`, `*.enc.env`) holds plaintext secrets.
    NotEncrypted,
    /// An env file holding secrets can be read (or written) by its group or other users.
    LooseMode,
    /// A key bound twice in one file with different values (loaders disagree on which wins).
    DuplicateKey,
}

impl Code {
    /// Every code, in the order rule tables list them.
    pub const ALL: [Code; 12] = [
        Code::Inconsistent,
        Code::SharedAcrossEnvironments,
        Code::Weak,
        Code::Placeholder,
        Code::SecretDefault,
        Code::TemplateRealValue,
        Code::Tracked,
        Code::NotIgnored,
        Code::DevBypass,
        Code::NotEncrypted,
        Code::LooseMode,
        Code::DuplicateKey,
    ];

    /// The stable name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Inconsistent => "inconsistent",
            Code::SharedAcrossEnvironments => "shared_across_environments",
            Code::Weak => "weak",
            Code::Placeholder => "placeholder",
            Code::SecretDefault => "secret_default",
            Code::TemplateRealValue => "template_real_value",
            Code::Tracked => "tracked",
            Code::NotIgnored => "not_ignored",
            Code::DevBypass => "dev_bypass",
            Code::NotEncrypted => "not_encrypted",
            Code::LooseMode => "loose_mode",
            Code::DuplicateKey => "duplicate_key",
        }
    }

    /// What the rule finds, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Code::Inconsistent => {
                "A token has different values in env files of the same environment"
            }
            Code::SharedAcrossEnvironments => "A secret has the same value in two environments",
            Code::Weak => "A secret is short, low in entropy or a known default",
            Code::Placeholder => "A placeholder is left where a real value belongs",
            Code::SecretDefault => {
                "A secret is a well-known default value (as token check-config's secret_default)"
            }
            Code::TemplateRealValue => "A template file holds what looks like a real secret",
            Code::Tracked => "An env file is tracked by git",
            Code::NotIgnored => "An env file is not covered by .gitignore",
            Code::DevBypass => "An authentication bypass flag is on in a production file",
            Code::NotEncrypted => "A file named as encrypted holds plaintext secrets",
            Code::LooseMode => "An env file holding secrets is readable by other users",
            Code::DuplicateKey => "A key is bound twice in one file with different values",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One problem: a diagnostic at a file (and line and variable), never quoting a value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub code: Code,
    /// File, relative to the project root.
    pub file: String,
    /// 1-based line; `None` for the whole file (serialized as 0).
    #[serde(serialize_with = "line_or_zero")]
    pub line: Option<usize>,
    /// The variable; `None` for whole-file problems (serialized as "").
    #[serde(serialize_with = "key_or_empty")]
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

fn line_or_zero<S: serde::Serializer>(line: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(line.unwrap_or(0) as u64)
}

fn key_or_empty<S: serde::Serializer>(key: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(key.as_deref().unwrap_or(""))
}

impl Problem {
    /// Where the problem is: the file, its line and the variable.
    pub fn origin(&self) -> vigil_core::Origin {
        vigil_core::Origin::EnvFile {
            path: self.file.clone().into(),
            line: self.line,
            key: self.key.clone(),
        }
    }
}

/// Whether a variable name holds a secret: `…TOKEN…`, `…SECRET…`, `…PASSWORD…`, `…API_KEY…`,
/// `…_KEY`, `…CREDENTIAL…`, but not `…_ID`, `…_URL`, `…_PATH`, `…_FILE`, `…_USER`, `…_NAME`.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let benign = [
        "_ID",
        "_URL",
        "_PATH",
        "_FILE",
        "_USER",
        "_USERNAME",
        "_NAME",
        "_HOST",
        "_PORT",
        "_TTL",
        "_ALG",
        "_BYPASS",
        "_ENABLED",
        "_LENGTH",
    ];
    if benign.iter().any(|b| n.ends_with(b)) {
        return false;
    }
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|k| n.contains(k))
        || n.ends_with("_KEY")
        || n.ends_with("_PASS")
}

/// Runs every check; the tracked/ignored checks run only when `root` is inside a git work tree.
/// `tokens` are the names that must agree inside an environment whatever their values (`[env]
/// tokens` and the names the ledger recorded: a rotation gives every service the same value).
pub fn check(
    root: &Path,
    loaded: &[Loaded],
    section: &EnvSection,
    tokens: &[String],
) -> Vec<Problem> {
    check_with(root, loaded, section, tokens, &Extra::default())
}

/// [`check`] with the names of other sections ([`Extra`]).
pub fn check_with(
    root: &Path,
    loaded: &[Loaded],
    section: &EnvSection,
    tokens: &[String],
    extra: &Extra,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let is_flag = |key: &str| {
        BYPASS_FLAGS.iter().any(|g| glob_match(g, key))
            || section
                .dev_bypass
                .as_ref()
                .is_some_and(|d| d.iter().any(|n| n == key))
            || extra.bypass.iter().any(|n| n == key)
    };
    let placeholder = section.placeholder();
    // Per environment, per variable: the distinct values and where.
    let mut groups: BTreeMap<(String, String), ValuesAt> = BTreeMap::new();
    // Per secret value: where it is (environment, file, line, variable).
    let mut by_value: BTreeMap<String, Vec<(String, String, usize, String)>> = BTreeMap::new();
    for l in loaded {
        let path = l.file.path.display().to_string();
        let mut seen = BTreeSet::new();
        for b in l.doc.bindings().iter().rev() {
            if !seen.insert(b.key.clone()) {
                // python-dotenv reads the last binding (checked below), dotenvy and docker
                // compose the first: an earlier one with another value is what those run with.
                if l.doc.get(&b.key) != b.value.as_deref() {
                    // A bypass flag on in any binding is on for the loaders that read that one.
                    if section.is_production(&l.file.environment)
                        && is_flag(&b.key)
                        && b.value.as_deref().is_some_and(strength::maybe_on)
                    {
                        out.push(Problem {
                            code: Code::DevBypass,
                            file: path.clone(),
                            line: Some(b.line),
                            key: Some(b.key.clone()),
                            message: format!(
                                "{} is on in a production file (in a binding a later one overrides; loaders that keep the first run with it): authentication is switched off",
                                b.key
                            ),
                        });
                    }
                    out.push(Problem {
                        code: Code::DuplicateKey,
                        file: path.clone(),
                        line: Some(b.line),
                        key: Some(b.key.clone()),
                        message: format!(
                            "{} is bound again later with another value: loaders that read the first binding (dotenvy, docker compose) run with this one, which the other checks do not judge; keep one",
                            b.key
                        ),
                    });
                }
                continue;
            }
            let Some(v) = b.value.as_deref() else {
                continue;
            };
            let secretish =
                is_secret_name(&b.key) || tokens.contains(&b.key) || extra.secrets.contains(&b.key);
            let mut push = |code, message: String| {
                out.push(Problem {
                    code,
                    file: path.clone(),
                    line: Some(b.line),
                    key: Some(b.key.clone()),
                    message,
                })
            };
            if section.is_production(&l.file.environment)
                && is_flag(&b.key)
                && strength::maybe_on(v)
            {
                push(
                    Code::DevBypass,
                    format!(
                        "{} is on in a production file: authentication is switched off",
                        b.key
                    ),
                );
            }
            // The password of a credential URL (`DATABASE_URL=postgres://app:changeme@db`) is
            // judged like a `…_PASSWORD` value.
            if let Some(pw) = url_password(v).filter(|p| !p.starts_with('$') && !l.file.template) {
                if strength::is_known_default(pw) {
                    push(
                        Code::SecretDefault,
                        format!(
                            "the password in {}'s URL is a well-known default value; set a real one",
                            b.key
                        ),
                    );
                } else if !is_placeholder(pw, placeholder)
                    && (pw.chars().count() < SHORT_LEN || strength::estimate_bits(pw) < WEAK_BITS)
                {
                    push(
                        Code::Weak,
                        format!(
                            "the password in {}'s URL is short or low in entropy; use at least 32 random characters",
                            b.key
                        ),
                    );
                }
            }
            if !secretish
                || v.is_empty()
                || v.starts_with("${")
                || vigil_core::ciphertext::sealed(v).is_some()
            {
                continue;
            }
            if l.file.template {
                if !is_placeholder(v, placeholder) && strength::estimate_bits(v) >= 64.0 {
                    push(Code::TemplateRealValue, format!("{} holds what looks like a real value in a template; use a placeholder", b.key));
                }
                continue;
            }
            // A well-known default is one class for every command (vigil-core's `strength`,
            // token check-config's `secret_default`); like any real value, a default or weak
            // value shared by two environments is reported as shared too (a leak of one opens
            // the other). Only placeholders are not values at all.
            let mut real = true;
            if strength::is_known_default(v) {
                push(
                    Code::SecretDefault,
                    format!(
                        "{} is a well-known default value; set a real one (vigil env rotate --tokens {} --write)",
                        b.key, b.key
                    ),
                );
            } else if is_placeholder(v, placeholder) {
                real = false;
                push(Code::Placeholder, format!("{} still holds a placeholder; set a real value (vigil env rotate --tokens {} --write)", b.key, b.key));
            } else if v.len() < SHORT_LEN {
                push(
                    Code::Weak,
                    format!(
                        "{} is short ({} characters); use at least 32 random characters",
                        b.key,
                        v.chars().count()
                    ),
                );
            } else {
                let bits = strength::estimate_bits(v);
                if bits < WEAK_BITS {
                    push(Code::Weak, format!("{} has low entropy (about {bits:.0} bits); rotate it to a random value", b.key));
                }
            }
            groups
                .entry((l.file.environment.clone(), b.key.clone()))
                .or_default()
                .entry(v.to_owned())
                .or_default()
                .push((path.clone(), b.line));
            if real {
                by_value.entry(v.to_owned()).or_default().push((
                    l.file.environment.clone(),
                    path.clone(),
                    b.line,
                    b.key.clone(),
                ));
            }
        }
    }
    // One value in two environments: a leak of one opens the other.
    for places in by_value.values() {
        let envs: BTreeSet<&str> = places.iter().map(|(e, ..)| e.as_str()).collect();
        if envs.len() < 2 {
            continue;
        }
        let list: Vec<String> = envs
            .iter()
            .map(|env| {
                let mut files: Vec<&str> = places
                    .iter()
                    .filter(|(e, ..)| e == env)
                    .map(|(_, f, ..)| f.as_str())
                    .collect();
                files.dedup();
                format!("{env} ({})", files.join(", "))
            })
            .collect();
        for (_, f, line, key) in places {
            out.push(Problem {
                code: Code::SharedAcrossEnvironments,
                file: f.clone(),
                line: Some(*line),
                key: Some(key.clone()),
                message: format!(
                    "{key} has the same value in environments {}; a leak of one opens the other: give each its own (vigil env rotate --tokens {key} --write)",
                    list.join(" and ")
                ),
            });
        }
    }
    // A shared token (declared, rotated by Vigil, or an `…AUTH_TOKEN`: the services' shared
    // bearer token of the design) must agree in every service of its environment; any other
    // secret counts as drifted when some files share a value and others do not (all-distinct
    // values are taken as per-service secrets).
    for ((env, key), values) in &groups {
        let shared = values.values().any(|v| v.len() >= 2)
            || glob_match("*AUTH_TOKEN", &key.to_ascii_uppercase());
        if values.len() < 2 || !(tokens.contains(key) || shared) {
            continue;
        }
        let mut files: Vec<&(String, usize)> = values.values().flatten().collect();
        files.sort();
        let names: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
        for (f, line) in &files {
            out.push(Problem {
                code: Code::Inconsistent,
                file: f.clone(),
                line: Some(*line),
                key: Some(key.clone()),
                message: format!(
                    "{key} has {} different values across {} (environment `{env}`); services sharing it will reject each other",
                    values.len(),
                    names.join(", ")
                ),
            });
        }
    }
    git_checks(root, loaded, &mut out);
    mode_checks(root, loaded, tokens, &mut out);
    out.sort_by(|a, b| {
        (&a.file, a.line.unwrap_or(0), a.code.as_str()).cmp(&(
            &b.file,
            b.line.unwrap_or(0),
            b.code.as_str(),
        ))
    });
    out
}

/// Env files holding a secret that their group or other users may read or write (Vigil writes
/// every copy of a secret `0600`; a `.env` left `0644` on a shared host is readable by all).
fn mode_checks(root: &Path, loaded: &[Loaded], tokens: &[String], out: &mut Vec<Problem>) {
    #[cfg(unix)]
    for l in loaded.iter().filter(|l| !l.file.template) {
        use std::os::unix::fs::PermissionsExt as _;
        let holds_secret = l.doc.bindings().iter().any(|b| {
            b.value.as_deref().is_some_and(|v| !v.is_empty())
                && (is_secret_name(&b.key) || tokens.contains(&b.key))
        });
        let Ok(meta) = std::fs::metadata(root.join(&l.file.path)) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if holds_secret && mode & 0o077 != 0 {
            let f = l.file.path.display().to_string();
            out.push(Problem {
                code: Code::LooseMode,
                file: f.clone(),
                line: None,
                key: None,
                message: format!(
                    "{f} is mode {mode:04o}: other users can read the secrets it holds: chmod 600 {f}"
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (root, loaded, tokens, out);
}

/// Tracked env files, and env files git would pick up (not ignored). Templates are meant to be
/// committed and are skipped.
fn git_checks(root: &Path, loaded: &[Loaded], out: &mut Vec<Problem>) {
    let files: Vec<String> = loaded
        .iter()
        .filter(|l| !l.file.template)
        .map(|l| l.file.path.display().to_string())
        .collect();
    git_file_checks(root, &files, out);
}

/// Problems of the files discovery skipped by name but that hold secrets all the same: a key
/// file (`.env.keys`: its keys decrypt the encrypted files) and a file named as encrypted that
/// holds plaintext secrets are checked for being tracked or not ignored by git, and the second
/// is flagged `not_encrypted`.
pub fn check_skipped(root: &Path, skipped: &[crate::discover::Skipped]) -> Vec<Problem> {
    let mut out = Vec::new();
    let files: Vec<String> = skipped
        .iter()
        .filter(|s| s.needs_git_check())
        .map(|s| s.path.display().to_string())
        .collect();
    for s in skipped {
        if let Some(line) = s.plaintext {
            let f = s.path.display().to_string();
            out.push(Problem {
                code: Code::NotEncrypted,
                file: f.clone(),
                line: Some(line),
                key: None,
                message: format!("{f} is named as encrypted but holds plaintext secrets (from line {line}): encrypt it, or rename it so Vigil checks and rotates it"),
            });
        }
    }
    git_file_checks(root, &files, &mut out);
    out
}

/// Tracked files, and files git would pick up (not ignored), among `files` (relative to
/// `root`); nothing outside a git work tree.
fn git_file_checks(root: &Path, files: &[String], out: &mut Vec<Problem>) {
    let inside = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"));
    if !inside {
        return;
    }
    if files.is_empty() {
        return;
    }
    let run = |args: &[&str], input: Option<&str>| -> BTreeSet<String> {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(root)
            .args(args)
            .stderr(Stdio::null())
            .stdout(Stdio::piped());
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let Ok(mut child) = c.spawn() else {
            return BTreeSet::new();
        };
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write as _;
            let _ = stdin.write_all(text.as_bytes());
        }
        let Ok(o) = child.wait_with_output() else {
            return BTreeSet::new();
        };
        o.stdout
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    let mut args = vec!["ls-files", "-z", "--"];
    args.extend(files.iter().map(String::as_str));
    let tracked = run(&args, None);
    let stdin: String = files.iter().map(|f| format!("{f}\0")).collect();
    let ignored = run(
        &["check-ignore", "-z", "--stdin", "--no-index"],
        Some(&stdin),
    );
    for f in files {
        if tracked.contains(f) {
            out.push(Problem {
                code: Code::Tracked,
                file: f.clone(),
                line: None,
                key: None,
                message: format!("{f} is tracked by git: its secrets are in history (git rm --cached {f}, add it to .gitignore, rotate, and see `vigil purge`)"),
            });
        } else if !ignored.contains(f) {
            out.push(Problem {
                code: Code::NotIgnored,
                file: f.clone(),
                line: None,
                key: None,
                message: format!("{f} is not covered by .gitignore: one `git add .` commits it"),
            });
        }
    }
}

impl crate::Project {
    /// Runs every check on the project's env files. The names that must agree inside an
    /// environment are `[env] tokens` and what Vigil rotated (the ledger's names: a rotation
    /// gives every service of an environment the same value).
    pub fn check(&self) -> Result<Vec<Problem>, crate::ledger::LedgerError> {
        self.check_with(&Extra::default())
    }

    /// [`crate::Project::check`] with the names of other sections ([`Extra`]).
    pub fn check_with(&self, extra: &Extra) -> Result<Vec<Problem>, crate::ledger::LedgerError> {
        let section = &self.settings.section;
        let mut tokens = section.tokens.clone().unwrap_or_default();
        tokens.extend(
            crate::ledger::Ledger::load(self.root())?
                .secrets
                .into_keys(),
        );
        let mut out = check_with(self.root(), &self.files, section, &tokens, extra);
        out.extend(check_skipped(self.root(), &self.skipped));
        out.sort_by(|a, b| {
            (&a.file, a.line.unwrap_or(0), a.code.as_str()).cmp(&(
                &b.file,
                b.line.unwrap_or(0),
                b.code.as_str(),
            ))
        });
        Ok(out)
    }
}

/// The problems as a [`vigil_report::Report`] of `env check`, every code listed as a rule, so
/// SARIF, CSV, JUnit and Markdown come from the one set of renderers.
pub fn report(problems: &[Problem]) -> vigil_report::Report {
    use vigil_report::{Diagnostic, Location, Report, RuleMeta, Severity, Tool};
    let mut r = Report::new(Tool::new("env check", env!("CARGO_PKG_VERSION")));
    r.rules = Code::ALL
        .iter()
        .map(|c| RuleMeta::new(c.as_str(), c.description()))
        .collect();
    r.diagnostics = problems
        .iter()
        .map(|p| {
            let mut at = Location::file(p.file.clone()).at_line(p.line.unwrap_or(0));
            if let Some(k) = &p.key {
                at = at.with_key(k.clone());
            }
            Diagnostic::new(p.code.as_str(), Severity::Error, at, p.message.clone())
        })
        .collect();
    r
}
