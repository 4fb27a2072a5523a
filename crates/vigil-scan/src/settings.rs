//! Resolving a scan's settings once, before anything is read (ripgrep's `HiArgs` and ruff's
//! `Settings` are the model): which configuration applies and so which rules run, then every
//! size, flag and path, each error naming where its value was written.
//!
//! Configuration precedence: `--config` (a gitleaks file or a `vigil.toml`), else
//! `vigil.toml [scan]` in the working directory, else `.gitleaks.toml` in the first scanned
//! directory or the working directory, else the built-in rules. A flag wins over `[scan]`.
//!
//! A configuration that arrives with the scanned code cannot switch the built-in rules off: a
//! `.gitleaks.toml` found beside it (not named with `--config`) adds its rules to the built-ins
//! even without `[extend] useDefault = true`, and its `disabledRules` are ignored, with a
//! warning naming the file (one committed alongside a secret would otherwise hide it, from the
//! pre-commit hook and CI alike). Named with `--config`, it is the configuration, as in gitleaks.
//! A `vigil.toml` that turns the built-ins off (`[scan.extend] useDefault = false`) is obeyed,
//! with a warning.

use crate::archive::ArchiveLimits;
use crate::config::ScanSection;
use crate::content::{ContentOptions, DEFAULT_ARCHIVE_DEPTH, DEFAULT_DECODE_DEPTH};
use crate::rule::ConfigFile;
use crate::ruleset::{ConfigRef, RuleError};
use crate::source::WalkOptions;
use crate::Ruleset;
use std::path::{Path, PathBuf};
use vigil_core::size::SizeError;
use vigil_core::{Config, ConfigError, ExitStatus, Located, Origin};

/// Top-level keys of a gitleaks configuration file.
const GITLEAKS_KEYS: &[&str] = &[
    "title",
    "extend",
    "rules",
    "allowlist",
    "allowlists",
    "description",
    "minVersion",
];

/// Files larger than this are skipped unless told otherwise (10 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;

/// The configuration to read: the file the user named, and the sections a `vigil.toml` may have
/// (every command's, so a typo in any section is refused).
#[derive(Debug, Clone, Copy)]
pub struct ConfigSource<'a> {
    /// `--config`, if given.
    pub explicit: Option<&'a Path>,
    /// The known top-level sections of `vigil.toml`.
    pub sections: &'a [&'a str],
}

/// What the command line says, before resolution. Each field names its flag in errors.
#[derive(Debug, Clone, Default)]
pub struct ScanFlags {
    /// `--max-file-size` as written (`10MiB`).
    pub max_file_size: Option<String>,
    /// `--no-ignore`.
    pub no_ignore: bool,
    /// `--follow-symlinks`.
    pub follow_symlinks: bool,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--exit-code`.
    pub exit_code: Option<u8>,
    /// `--baseline`.
    pub baseline: Option<PathBuf>,
    /// `--baseline-write`: record findings instead of filtering by a baseline.
    pub baseline_write: Option<PathBuf>,
    /// `--max-decode-depth`.
    pub max_decode_depth: Option<u8>,
    /// `--max-archive-depth`.
    pub max_archive_depth: Option<u8>,
    /// `--allow-incomplete`.
    pub allow_incomplete: bool,
    /// Whether paths were given (not the default `.`): a repository path given while
    /// `GIT_DIR` names another is refused.
    pub paths_given: bool,
}

/// Where the rules came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesFrom {
    /// The built-in rules.
    Builtin,
    /// A gitleaks configuration file.
    Gitleaks(PathBuf),
    /// The `[scan]` section of a `vigil.toml` (built-ins kept unless it says otherwise).
    VigilToml(PathBuf),
}

/// A scan's settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A path to scan does not exist or cannot be looked at ([`ScanSettings::check_paths`]).
    #[error("{}: cannot scan: {error}", crate::source::display_path(path))]
    Path {
        /// The path, as given.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// `-` among other paths.
    #[error("`-` (stdin) cannot be combined with other paths")]
    StdinWithPaths,
    /// The configuration file cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A rule or allowlist cannot be used.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A size (`--max-file-size`, `scan.max_file_size`) is not one.
    #[error(transparent)]
    Size(#[from] Located<SizeError>),
}

/// Everything a scan needs, resolved.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// The compiled rules.
    pub rules: Ruleset,
    /// Where they came from.
    pub rules_from: RulesFrom,
    /// The directory configuration and ignore files are looked for in (`.` for the process's).
    pub cwd: PathBuf,
    /// The paths to scan (relative to the process's working directory), or the repository for
    /// history scans; `-` is stdin.
    pub roots: Vec<PathBuf>,
    /// Skip files (and blobs) larger than this many bytes.
    pub max_file_size: u64,
    /// Do not honour `.gitignore`, `.ignore` and git's excludes.
    pub no_ignore: bool,
    /// Follow symbolic links.
    pub follow_symlinks: bool,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// The exit code for "found something" (`None`: 1).
    pub exit_code: Option<u8>,
    /// Report only findings not in this baseline.
    pub baseline: Option<PathBuf>,
    /// Record the findings here as a baseline (and report nothing).
    pub baseline_write: Option<PathBuf>,
    /// Decoding and archive depths and limits.
    pub content: ContentOptions,
    /// Exit as if complete when the scan could not read everything.
    pub allow_incomplete: bool,
    /// Whether the paths were given (not the default `.`).
    pub paths_given: bool,
    /// The configuration file found beside the scanned code or in the working directory (not
    /// named with `--config`), if one applies.
    pub discovered: Option<PathBuf>,
    /// The files the discovered configuration pulls in through `[extend] path` (two levels, as
    /// followed): a change to one of them is a change to the configuration.
    pub extended: Vec<PathBuf>,
    /// Whether the discovered configuration was distrusted (the scanned changes modify it).
    pub distrusted: bool,
    /// What resolution started from, to resolve again distrusting the discovered file.
    inputs: Inputs,
    /// What the command should warn about (a configuration that asked to drop the built-in
    /// rules), one line each.
    pub warnings: Vec<String>,
}

/// What [`ScanSettings::resolve`] was given (for [`ScanSettings::distrusting`]).
#[derive(Debug, Clone, Default)]
struct Inputs {
    explicit: Option<PathBuf>,
    sections: Vec<String>,
    flags: ScanFlags,
}

impl ScanSettings {
    /// The same settings, except that the discovered configuration file is not trusted: the
    /// scanned changes modify it, so what in it could hide a secret does not apply (its
    /// `exit_code`, `max_file_size`, `max_decode_depth`, lowered archive limits,
    /// `allow_incomplete`, `baseline`, allowlists and stopwords, `disabledRules`, and rules
    /// that would replace a built-in one); a warning names the file and what was left out.
    pub fn distrusting(&self) -> Result<Self, SettingsError> {
        let sections: Vec<&str> = self.inputs.sections.iter().map(String::as_str).collect();
        let config = ConfigSource {
            explicit: self.inputs.explicit.as_deref(),
            sections: &sections,
        };
        Self::resolve_with(config, &self.cwd, &self.roots, &self.inputs.flags, true)
    }

    /// Whether the configuration was named with `--config` (then it is the configuration, as
    /// the user gave it, for a change set too).
    pub fn explicit_config(&self) -> bool {
        self.inputs.explicit.is_some()
    }

    /// The file named with `--config`, if any.
    pub fn explicit_config_path(&self) -> Option<&Path> {
        self.inputs.explicit.as_deref()
    }

    /// The same settings with the configuration found in `cwd` (and `.gitleaks.toml` in
    /// `root`) instead: the configuration at the base of a change set, written out in `dir`
    /// (`base_config`). It is trusted as discovered; the working directory, the roots and a
    /// baseline it names stay this scan's; `named` turns paths inside `dir` into the names
    /// messages give them.
    pub(crate) fn with_config_from(
        &self,
        cwd: &Path,
        root: Option<&Path>,
        dir: &Path,
        named: &dyn Fn(&Path) -> PathBuf,
    ) -> Result<Self, SettingsError> {
        let sections: Vec<&str> = self.inputs.sections.iter().map(String::as_str).collect();
        let config = ConfigSource {
            explicit: None,
            sections: &sections,
        };
        let roots: Vec<PathBuf> = root.into_iter().map(Path::to_owned).collect();
        let mut s = Self::resolve_with(config, cwd, &roots, &self.inputs.flags, false)?;
        if self.inputs.flags.baseline.is_none() {
            if let Some(rest) = s.baseline.as_ref().and_then(|b| b.strip_prefix(cwd).ok()) {
                s.baseline = Some(in_dir(&self.cwd, rest));
            }
        }
        s.rules_from = match s.rules_from {
            RulesFrom::Gitleaks(p) if p.starts_with(dir) => RulesFrom::Gitleaks(named(&p)),
            RulesFrom::VigilToml(p) if p.starts_with(dir) => RulesFrom::VigilToml(named(&p)),
            other => other,
        };
        for w in &mut s.warnings {
            *w = named(Path::new(w.as_str())).display().to_string();
        }
        s.cwd = self.cwd.clone();
        s.roots = self.roots.clone();
        s.discovered = None;
        s.extended = Vec::new();
        Ok(s)
    }

    /// Resolves the settings: checks stdin stands alone, picks and compiles the configuration,
    /// and merges flags over `[scan]`. `cwd` is where `vigil.toml`, `.gitleaks.toml` and
    /// `.gitleaksignore` are looked for (`.`: the process's working directory, named as such
    /// in messages).
    pub fn resolve(
        config: ConfigSource<'_>,
        cwd: &Path,
        roots: &[PathBuf],
        flags: &ScanFlags,
    ) -> Result<Self, SettingsError> {
        Self::resolve_with(config, cwd, roots, flags, false)
    }

    fn resolve_with(
        config: ConfigSource<'_>,
        cwd: &Path,
        roots: &[PathBuf],
        flags: &ScanFlags,
        distrust: bool,
    ) -> Result<Self, SettingsError> {
        let stdin = roots.iter().any(|p| p.as_os_str() == "-");
        if stdin && roots.len() > 1 {
            return Err(SettingsError::StdinWithPaths);
        }
        // A path that is not there is not refused here: a file scan reports it as a path it
        // could not read (an incomplete scan, issue 20), a history scan as no repository.
        let chosen = choose(config, cwd, roots, distrust)?;
        tracing::debug!(rules = chosen.rules.rules.len(), "rules loaded");
        let (section, configured_size) = match &chosen.scan {
            Some((cfg, section)) => {
                let size = match &section.max_file_size {
                    Some(v) => Some(v.bytes_at(|| scan_key(cfg, "max_file_size"))?),
                    None => None,
                };
                (section.clone(), size)
            }
            None => (ScanSection::default(), None),
        };
        let max_file_size = match &flags.max_file_size {
            Some(text) => vigil_core::size::parse(text)
                .map_err(|e| Located::new(Origin::Flag("--max-file-size".into()), e))?,
            None => configured_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        };
        let mut limits = ArchiveLimits::default();
        if let (Some((cfg, _)), Some(v)) = (&chosen.scan, &section.max_archive_size) {
            limits.max_bytes = v.bytes_at(|| scan_key(cfg, "max_archive_size"))?;
        }
        if let Some(n) = section.max_archive_entries {
            limits.max_entries = n;
        }
        if let Some(n) = section.max_archive_ratio {
            limits.max_ratio = n.max(1);
        }
        let content = ContentOptions {
            max_file_size: 0, // set below, once the size limit is known
            max_decode_depth: flags
                .max_decode_depth
                .or(section.max_decode_depth)
                .unwrap_or(DEFAULT_DECODE_DEPTH),
            max_archive_depth: flags
                .max_archive_depth
                .or(section.max_archive_depth)
                .unwrap_or(DEFAULT_ARCHIVE_DEPTH),
            archive_limits: limits,
        };
        let baseline = match &flags.baseline_write {
            // Recording a baseline: none applies.
            Some(_) => None,
            None => flags
                .baseline
                .clone()
                .or_else(|| section.baseline.as_ref().map(|b| in_dir(cwd, b))),
        };
        Ok(ScanSettings {
            rules: chosen.rules,
            rules_from: chosen.from,
            cwd: cwd.to_owned(),
            roots: roots.to_vec(),
            max_file_size,
            no_ignore: flags.no_ignore || section.no_ignore.unwrap_or(false),
            follow_symlinks: flags.follow_symlinks,
            threads: flags.threads.unwrap_or(0),
            exit_code: flags.exit_code.or(section.exit_code),
            baseline,
            baseline_write: flags.baseline_write.clone(),
            content: ContentOptions {
                max_file_size,
                ..content
            },
            allow_incomplete: flags.allow_incomplete || section.allow_incomplete.unwrap_or(false),
            paths_given: flags.paths_given,
            discovered: chosen.discovered.then(|| chosen.path.clone()).flatten(),
            extended: if chosen.discovered {
                chosen.extended
            } else {
                Vec::new()
            },
            distrusted: distrust && chosen.discovered,
            inputs: Inputs {
                explicit: config.explicit.map(Path::to_owned),
                sections: config.sections.iter().map(|s| s.to_string()).collect(),
                flags: flags.clone(),
            },
            warnings: chosen.warnings,
        })
    }

    /// How deep to look into each buffer (archives, decoding), with the size limit.
    pub fn content_options(&self) -> ContentOptions {
        ContentOptions {
            max_file_size: self.max_file_size,
            ..self.content
        }
    }

    /// The exit status of a scan: 2 when it could not look at everything (unless
    /// `--allow-incomplete`), else [`ScanSettings::exit_status`] of what it reports.
    pub fn verdict(
        &self,
        findings: usize,
        completeness: &vigil_report::Completeness,
    ) -> ExitStatus {
        if !completeness.is_complete() && !self.allow_incomplete {
            return ExitStatus::Error;
        }
        self.exit_status(findings)
    }

    /// Refuses a scan of paths when one of them is not there or cannot be looked at, naming
    /// it: an input error, one line. (Without this check such a path is a gap: a scan whose
    /// report is written to a file reads the other paths and the report says it is incomplete.)
    pub fn check_paths(&self) -> Result<(), SettingsError> {
        for path in self.roots.iter().filter(|p| p.as_os_str() != "-") {
            if let Err(error) = std::fs::metadata(path) {
                return Err(SettingsError::Path {
                    path: path.clone(),
                    error,
                });
            }
        }
        Ok(())
    }

    /// Whether the scan reads stdin (`-`).
    pub fn reads_stdin(&self) -> bool {
        self.roots.iter().any(|p| p.as_os_str() == "-")
    }

    /// The repository of a history or index scan: the first root, else the working directory.
    pub fn repo(&self) -> PathBuf {
        self.roots
            .first()
            .cloned()
            .unwrap_or_else(|| self.cwd.clone())
    }

    /// How to walk directories.
    pub fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            no_ignore: self.no_ignore,
            max_file_size: self.max_file_size,
            follow_symlinks: self.follow_symlinks,
            threads: self.threads,
            content: self.content_options(),
        }
    }

    /// The exit status for a scan that reports `findings` findings: 0 for none, else 1 or the
    /// configured code.
    pub fn exit_status(&self, findings: usize) -> ExitStatus {
        match (findings, self.exit_code) {
            (0, _) => ExitStatus::Success,
            (_, None | Some(1)) => ExitStatus::Failure,
            (_, Some(c)) => ExitStatus::Custom(c),
        }
    }
}

/// A file name in `cwd`: the bare name when `cwd` is the working directory, so messages say
/// `vigil.toml`, not `./vigil.toml`.
pub(crate) fn in_dir(cwd: &Path, name: impl AsRef<Path>) -> PathBuf {
    let name = name.as_ref();
    if name.is_absolute() || cwd.as_os_str().is_empty() || cwd == Path::new(".") {
        name.to_owned()
    } else {
        cwd.join(name)
    }
}

/// The configuration that applies.
struct Chosen {
    rules: Ruleset,
    from: RulesFrom,
    /// The `vigil.toml` and its `[scan]`, when the rules came from one.
    scan: Option<(Config, ScanSection)>,
    /// Warnings about it.
    warnings: Vec<String>,
    /// The file, if any.
    path: Option<PathBuf>,
    /// Whether it was found rather than named with `--config`.
    discovered: bool,
    /// The files it pulls in through `[extend] path`.
    extended: Vec<PathBuf>,
}

fn choose(
    config: ConfigSource<'_>,
    cwd: &Path,
    roots: &[PathBuf],
    distrust: bool,
) -> Result<Chosen, SettingsError> {
    if let Some(p) = config.explicit {
        let raw = Config::parse_patterns(p)?;
        if is_gitleaks(&raw) {
            return Ok(gitleaks(&raw, false, false)?);
        }
        return vigil_toml(Config::load(p)?, config.sections, false, false);
    }
    let here = in_dir(cwd, vigil_core::config::DEFAULT_FILE);
    if here.is_file() {
        let cfg = Config::load(&here)?;
        if cfg.has_section(<ScanSection as vigil_core::Section>::NAME) {
            let mut chosen = vigil_toml(cfg, config.sections, true, distrust)?;
            // A `.gitleaks.toml` that would have applied is not read at all: say so.
            let shadowed = roots
                .iter()
                .filter(|p| p.is_dir())
                .take(1)
                .map(|p| p.join(".gitleaks.toml"))
                .chain([in_dir(cwd, ".gitleaks.toml")])
                .find(|c| c.is_file());
            if let Some(g) = shadowed {
                chosen.warnings.push(format!(
                    "{}: not read, since {} has a [scan] section (move its rules there, or name one with --config)",
                    g.display(),
                    here.display()
                ));
            }
            return Ok(chosen);
        }
        cfg.check_sections(config.sections)?;
    }
    let mut candidates: Vec<PathBuf> = roots
        .iter()
        .filter(|p| p.is_dir())
        .take(1)
        .map(|p| p.join(".gitleaks.toml"))
        .collect();
    candidates.push(in_dir(cwd, ".gitleaks.toml"));
    for c in candidates {
        if c.is_file() {
            let raw = Config::parse_patterns(&c)?;
            tracing::debug!("using gitleaks configuration {}", c.display());
            return Ok(gitleaks(&raw, true, distrust)?);
        }
    }
    Ok(Chosen {
        rules: Ruleset::builtin(),
        from: RulesFrom::Builtin,
        scan: None,
        warnings: Vec::new(),
        path: None,
        discovered: false,
        extended: Vec::new(),
    })
}

fn is_gitleaks(cfg: &Config) -> bool {
    let keys = cfg.keys();
    !keys.is_empty() && keys.iter().all(|k| GITLEAKS_KEYS.contains(k))
}

/// A gitleaks file's rules. One found beside the scanned code (`discovered`) keeps the built-in
/// rules whatever it says.
fn gitleaks(cfg: &Config, discovered: bool, distrust: bool) -> Result<Chosen, RuleError> {
    let mut file = ConfigFile::from_document(cfg)?;
    let extended = extended_files(
        cfg.path(),
        file.extend.as_ref().and_then(|e| e.path.clone()),
    );
    let mut warnings = Vec::new();
    warnings.extend(misplaced_keys_warning(cfg));
    if discovered && distrust {
        let dropped = distrust_rules(&mut file, "");
        warnings.extend(distrust_warning(cfg.path(), &dropped));
    }
    if discovered {
        // A file of allowlists alone (no rules, no `[extend]`) adds to the built-in rules.
        let allowlists_only = file.extend.is_none() && file.rules.is_empty();
        let e = file.extend.get_or_insert_with(Default::default);
        let mut dropped = Vec::new();
        if !e.use_default {
            if !allowlists_only {
                dropped.push(
                    "replaces the built-in rules (no `[extend] useDefault = true`)".to_owned(),
                );
            }
            e.use_default = true;
        }
        if !e.disabled_rules.is_empty() {
            dropped.push(format!(
                "disables the rules {}",
                std::mem::take(&mut e.disabled_rules).join(", ")
            ));
        }
        if !dropped.is_empty() {
            warnings.push(format!(
                "{}: {}; a configuration found beside the scanned code never turns built-in rules off, so they stay on and its rules are added (name it with --config to use it as it is)",
                cfg.path().display(),
                dropped.join(" and ")
            ));
        }
    }
    let rules = if discovered {
        // A rule with a built-in's id would be merged into it (gitleaks's extend) and could
        // replace its pattern: one that changes what the rule finds, here or in a file its
        // `[extend] path` pulls in, is added under its own id instead (`github-pat-custom`), so
        // the built-in stays as it is. Allowlists alone still merge (a discovered file's
        // allowlists apply, and what they hide is counted).
        let (rules, found) = Ruleset::from_discovered(
            &file,
            &ConfigRef {
                config: cfg,
                prefix: "",
            },
            true,
        )?;
        warnings.extend(renamed_warning(cfg.path(), &found.renamed));
        if !found.blanket.is_empty() {
            warnings.push(format!(
                "{}: the allowlist paths {} match most of any project's files or the files secrets are kept in (.env, credentials), so they are not applied: a configuration found beside the scanned code never turns the scan off (name it with --config to use it as it is)",
                cfg.path().display(),
                quoted(&found.blanket)
            ));
        }
        rules
    } else {
        Ruleset::from_config(
            &file,
            &ConfigRef {
                config: cfg,
                prefix: "",
            },
        )?
    };
    Ok(Chosen {
        rules,
        from: RulesFrom::Gitleaks(cfg.path().to_owned()),
        scan: None,
        warnings,
        path: Some(cfg.path().to_owned()),
        discovered,
        extended,
    })
}

/// `vigil.toml`'s `[scan]`. One found in the working directory (`discovered`) that turns the
/// built-in rules off is obeyed, with a warning.
fn vigil_toml(
    cfg: Config,
    sections: &[&str],
    discovered: bool,
    distrust: bool,
) -> Result<Chosen, SettingsError> {
    cfg.check_sections(sections)?;
    let mut section = ScanSection::load(&cfg)?;
    let mut warnings = Vec::new();
    if discovered && section.exit_code == Some(0) && !distrust {
        warnings.push(format!(
            "{} = 0: findings do not fail this scan",
            scan_key(&cfg, "exit_code")
        ));
    }
    let mut dropped = Vec::new();
    if discovered && distrust {
        dropped = distrust_section(&mut section);
    }
    if discovered && section.extend.as_ref().is_some_and(|e| !e.use_default) {
        warnings.push(format!(
            "{}: [scan.extend] useDefault = false turns the built-in rules off: only its own rules run",
            cfg.path().display()
        ));
    }
    let mut file = section.to_config_file();
    let extended = extended_files(
        cfg.path(),
        file.extend.as_ref().and_then(|e| e.path.clone()),
    );
    if discovered && !distrust {
        // The project's own file is obeyed, but never in silence: a built-in rule turned off or
        // replaced here changes what every scan, hook and CI run finds.
        let off = file
            .extend
            .as_ref()
            .map(|e| e.disabled_rules.clone())
            .unwrap_or_default();
        if !off.is_empty() {
            warnings.push(format!(
                "{}: [scan.extend] disabledRules turns the built-in rules {} off",
                cfg.path().display(),
                off.join(", ")
            ));
        }
    }
    if discovered && distrust {
        dropped.extend(distrust_rules(&mut file, "scan."));
        warnings.extend(distrust_warning(cfg.path(), &dropped));
    }
    let origin = ConfigRef {
        config: &cfg,
        prefix: "scan.",
    };
    let rules = if discovered {
        // As for a `.gitleaks.toml` found beside the code: a `[[scan.rules]]` entry (or a rule
        // in a file `[scan.extend] path` pulls in) with a built-in's id is added beside it.
        let (rules, found) = Ruleset::from_discovered(&file, &origin, false)?;
        warnings.extend(renamed_warning(cfg.path(), &found.renamed));
        if !found.blanket.is_empty() {
            // The project's own file is obeyed, as its disabledRules are, but never in silence.
            warnings.push(format!(
                "{}: the allowlist paths {} match most of any project's files or the files secrets are kept in (.env, credentials): this configuration skips them",
                cfg.path().display(),
                quoted(&found.blanket)
            ));
        }
        rules
    } else {
        Ruleset::from_config(&file, &origin)?
    };
    let path = cfg.path().to_owned();
    Ok(Chosen {
        rules,
        from: RulesFrom::VigilToml(path.clone()),
        scan: Some((cfg, section)),
        warnings,
        path: Some(path),
        discovered,
        extended,
    })
}

/// Patterns in backquotes, comma-separated, for a warning.
/// A warning for the top-level keys of a gitleaks file that gitleaks does not read there, and
/// so neither does Vigil (`disabledRules = […]` outside `[extend]` turns nothing off). A key of
/// gitleaks's vocabulary is named with where it belongs; any other is only counted, since a key
/// may be anything, a pasted token included.
fn misplaced_keys_warning(cfg: &Config) -> Option<String> {
    let stray: Vec<&str> = cfg
        .keys()
        .into_iter()
        .filter(|k| !GITLEAKS_KEYS.iter().any(|t| t.eq_ignore_ascii_case(k)))
        .collect();
    if stray.is_empty() {
        return None;
    }
    let mut named: Vec<String> = stray
        .iter()
        .filter_map(|k| {
            crate::rule::GITLEAKS_KEYS
                .iter()
                .find(|g| g.eq_ignore_ascii_case(k))
        })
        .map(|g| match *g {
            "useDefault" | "disabledRules" | "path" => format!("`{g}` (it belongs under [extend])"),
            _ => format!("`{g}` (it belongs in a rule or an allowlist)"),
        })
        .collect();
    let unknown = stray.len() - named.len();
    if unknown > 0 {
        named.push(format!("{unknown} key(s) gitleaks does not know"));
    }
    Some(format!(
        "{}: not read at the top of the file: {}",
        cfg.path().display(),
        named.join(", ")
    ))
}

fn quoted(patterns: &[String]) -> String {
    patterns
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The warning for the built-in rules a discovered configuration `path` (or a file it extends)
/// redefines: its versions are added under their own ids.
fn renamed_warning(path: &Path, renamed: &[String]) -> Option<String> {
    (!renamed.is_empty()).then(|| {
        format!(
            "{}: redefines the built-in rules {} (its versions are added as {}); a configuration found beside the scanned code never replaces a built-in rule (name it with --config to use it as it is)",
            path.display(),
            renamed.join(", "),
            renamed
                .iter()
                .map(|id| format!("{id}-custom"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The files `[extend] path` pulls in from the configuration at `config`, as the ruleset follows
/// them (two levels, gitleaks's `maxExtendDepth`), each relative to the file naming it.
fn extended_files(config: &Path, first: Option<String>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut from = config.to_owned();
    let mut next = first;
    while let Some(p) = next.take() {
        if out.len() >= 2 {
            break;
        }
        let file = from.parent().unwrap_or(Path::new(".")).join(p);
        next = Config::parse_patterns(&file)
            .ok()
            .and_then(|c| ConfigFile::from_document(&c).ok())
            .and_then(|f| f.extend.and_then(|e| e.path));
        out.push(file.clone());
        from = file;
    }
    out
}

/// Drops from a distrusted `[scan]` what could hide a secret: the exit code, the size and
/// decode limits, lowered archive limits, `allow_incomplete` and the baseline. Returns the keys.
fn distrust_section(s: &mut ScanSection) -> Vec<String> {
    let mut dropped = Vec::new();
    let limits = ArchiveLimits::default();
    let mut drop_if = |cond: bool, key: &str| {
        if cond {
            dropped.push(format!("scan.{key}"));
        }
        cond
    };
    if drop_if(s.exit_code.is_some(), "exit_code") {
        s.exit_code = None;
    }
    if drop_if(s.max_file_size.is_some(), "max_file_size") {
        s.max_file_size = None;
    }
    if drop_if(
        s.max_decode_depth.is_some_and(|d| d < DEFAULT_DECODE_DEPTH),
        "max_decode_depth",
    ) {
        s.max_decode_depth = None;
    }
    if drop_if(
        s.max_archive_depth
            .is_some_and(|d| d < DEFAULT_ARCHIVE_DEPTH),
        "max_archive_depth",
    ) {
        s.max_archive_depth = None;
    }
    let lowered_size = s.max_archive_size.as_ref().is_some_and(|v| {
        v.bytes_at(|| Origin::Flag(String::new()))
            .map_or(true, |b| b < limits.max_bytes)
    });
    if drop_if(lowered_size, "max_archive_size") {
        s.max_archive_size = None;
    }
    if drop_if(
        s.max_archive_entries
            .is_some_and(|n| n < limits.max_entries),
        "max_archive_entries",
    ) {
        s.max_archive_entries = None;
    }
    if drop_if(
        s.max_archive_ratio.is_some_and(|n| n < limits.max_ratio),
        "max_archive_ratio",
    ) {
        s.max_archive_ratio = None;
    }
    if drop_if(s.allow_incomplete == Some(true), "allow_incomplete") {
        s.allow_incomplete = None;
    }
    if drop_if(s.baseline.is_some(), "baseline") {
        s.baseline = None;
    }
    dropped
}

/// Drops from a distrusted rule configuration what could hide a secret: global and rule
/// allowlists (with their stopwords), `disabledRules`, `useDefault = false`, `extend.path`, and
/// rules that would replace a built-in rule of the same id. Returns the keys.
fn distrust_rules(file: &mut ConfigFile, prefix: &str) -> Vec<String> {
    let mut dropped = Vec::new();
    if file.allowlist.take().is_some() {
        dropped.push(format!("{prefix}allowlist"));
    }
    if !file.allowlists.is_empty() {
        file.allowlists.clear();
        dropped.push(format!("{prefix}allowlists"));
    }
    if let Some(e) = &mut file.extend {
        if !e.disabled_rules.is_empty() {
            e.disabled_rules.clear();
            dropped.push(format!("{prefix}extend.disabledRules"));
        }
        if !e.use_default {
            e.use_default = true;
            dropped.push(format!("{prefix}extend.useDefault"));
        }
        if e.path.take().is_some() {
            dropped.push(format!("{prefix}extend.path"));
        }
    }
    let builtin: std::collections::HashSet<String> =
        crate::builtin::rules().into_iter().map(|r| r.id).collect();
    let before = file.rules.len();
    file.rules.retain(|r| !builtin.contains(&r.id));
    if file.rules.len() < before {
        dropped.push(format!("{prefix}rules that replace a built-in rule"));
    }
    let mut rule_lists = false;
    for r in &mut file.rules {
        rule_lists |= r.allowlist.take().is_some() | !r.allowlists.is_empty();
        r.allowlists.clear();
    }
    if rule_lists {
        dropped.push(format!("{prefix}rules' allowlists and stopwords"));
    }
    dropped
}

/// The warning of a distrusted file, when something was left out.
fn distrust_warning(path: &Path, dropped: &[String]) -> Option<String> {
    (!dropped.is_empty()).then(|| {
        format!(
            "{}: the scanned changes modify this file, so its settings that could hide a secret do not apply to this scan: {}",
            path.display(),
            dropped.join(", ")
        )
    })
}

/// The origin of a `[scan]` key.
fn scan_key(cfg: &Config, key: &str) -> Origin {
    ConfigRef {
        config: cfg,
        prefix: "scan.",
    }
    .origin(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["scan", "env", "token", "gateway"];

    fn resolve(dir: &Path, flags: &ScanFlags) -> Result<ScanSettings, SettingsError> {
        let src = ConfigSource {
            explicit: None,
            sections: SECTIONS,
        };
        ScanSettings::resolve(src, dir, &[dir.to_owned()], flags)
    }

    #[test]
    fn flags_win_over_the_scan_section_and_sizes_name_their_origin() {
        let d = tempfile::TempDir::new().unwrap();
        std::fs::write(
            d.path().join("vigil.toml"),
            "[scan]\nmax_file_size = \"1MiB\"\nexit_code = 3\nno_ignore = true\nbaseline = \"base.json\"\n",
        )
        .unwrap();
        let s = resolve(d.path(), &ScanFlags::default()).unwrap();
        assert_eq!(s.max_file_size, 1 << 20);
        assert_eq!(s.exit_status(2), ExitStatus::Custom(3));
        assert_eq!(s.exit_status(0), ExitStatus::Success);
        assert!(s.no_ignore);
        assert_eq!(s.baseline, Some(d.path().join("base.json")));
        assert!(matches!(s.rules_from, RulesFrom::VigilToml(_)));
        let flags = ScanFlags {
            max_file_size: Some("2k".into()),
            exit_code: Some(1),
            baseline_write: Some("new.json".into()),
            ..ScanFlags::default()
        };
        let s = resolve(d.path(), &flags).unwrap();
        assert_eq!(s.max_file_size, 2048);
        assert_eq!(s.exit_status(1), ExitStatus::Failure);
        assert_eq!(s.baseline, None, "recording a baseline applies none");

        let bad = ScanFlags {
            max_file_size: Some("big".into()),
            ..ScanFlags::default()
        };
        let e = resolve(d.path(), &bad).unwrap_err().to_string();
        assert!(e.starts_with("--max-file-size: `big` is not a size"), "{e}");
        std::fs::write(
            d.path().join("vigil.toml"),
            "[scan]\n\nmax_file_size = \"lots\"\n",
        )
        .unwrap();
        let e = resolve(d.path(), &ScanFlags::default())
            .unwrap_err()
            .to_string();
        let want = format!(
            "{}:3: scan.max_file_size: `lots` is not a size",
            d.path().join("vigil.toml").display()
        );
        assert!(e.starts_with(&want), "{e}");
    }

    #[test]
    fn gitleaks_files_are_found_beside_the_scanned_directory() {
        let d = tempfile::TempDir::new().unwrap();
        let cwd = tempfile::TempDir::new().unwrap();
        std::fs::write(
            d.path().join(".gitleaks.toml"),
            "[[rules]]\nid = \"only-this\"\nregex = '''only_[a-z]{20}'''\n",
        )
        .unwrap();
        let src = ConfigSource {
            explicit: None,
            sections: SECTIONS,
        };
        let s = ScanSettings::resolve(
            src,
            cwd.path(),
            &[d.path().to_owned()],
            &ScanFlags::default(),
        )
        .unwrap();
        assert_eq!(
            s.rules_from,
            RulesFrom::Gitleaks(d.path().join(".gitleaks.toml"))
        );
        // Found beside the code: the built-ins stay on, with a warning naming the file.
        assert!(s.rules.rules.len() > 1);
        assert!(s.warnings[0].contains(".gitleaks.toml"), "{:?}", s.warnings);
        let s = ScanSettings::resolve(src, cwd.path(), &[], &ScanFlags::default()).unwrap();
        assert_eq!(s.rules_from, RulesFrom::Builtin);
    }

    #[test]
    fn top_level_keys_gitleaks_does_not_read_are_named_or_counted() {
        let d = tempfile::TempDir::new().unwrap();
        // `disabledRules` outside `[extend]` turns nothing off in gitleaks either; a stray key
        // is only counted (it could be a pasted token).
        std::fs::write(
            d.path().join(".gitleaks.toml"),
            "disabledRules = [\"github-pat\"]\nstray_key_name = 1\n[[rules]]\nid = \"x\"\nregex = '''x_[a-z]{20}'''\n",
        )
        .unwrap();
        let src = ConfigSource {
            explicit: None,
            sections: SECTIONS,
        };
        let s = ScanSettings::resolve(src, d.path(), &[d.path().to_owned()], &ScanFlags::default())
            .unwrap();
        let w = s
            .warnings
            .iter()
            .find(|w| w.contains("not read at the top"))
            .expect("a warning for the stray keys");
        assert!(
            w.contains("`disabledRules` (it belongs under [extend])"),
            "{w}"
        );
        assert!(w.contains("1 key(s) gitleaks does not know"), "{w}");
        assert!(!w.contains("stray_key_name"), "{w}");
        assert!(s.rules.rules.iter().any(|r| r.id == "github-pat"));
    }

    #[test]
    fn missing_roots_resolve_and_stdin_stands_alone() {
        let d = tempfile::TempDir::new().unwrap();
        let src = ConfigSource {
            explicit: None,
            sections: SECTIONS,
        };
        let flags = ScanFlags::default();
        let missing = d.path().join("nope");
        let s =
            ScanSettings::resolve(src, d.path(), std::slice::from_ref(&missing), &flags).unwrap();
        assert_eq!(s.roots, [missing]);
        let e = ScanSettings::resolve(src, d.path(), &["-".into(), d.path().into()], &flags)
            .unwrap_err();
        assert!(matches!(e, SettingsError::StdinWithPaths));
        let s = ScanSettings::resolve(src, d.path(), &["-".into()], &flags).unwrap();
        assert!(s.reads_stdin());
    }

    #[test]
    fn rule_errors_carry_their_origin() {
        let d = tempfile::TempDir::new().unwrap();
        std::fs::write(
            d.path().join("vigil.toml"),
            "[scan]\n[[scan.rules]]\nid = \"x\"\nregex = '''x_[a-z'''\n",
        )
        .unwrap();
        let e = resolve(d.path(), &ScanFlags::default()).unwrap_err();
        let SettingsError::Rules(r) = &e else {
            panic!("{e}")
        };
        let o = r.origin().expect("an origin");
        assert_eq!(
            o,
            Origin::ConfigKey {
                path: d.path().join("vigil.toml"),
                line: Some(4),
                key: "scan.rules[0].regex".into(),
            }
        );
    }
}
