//! Compiling a configuration into a [`Ruleset`]: regexes, allowlists, and the keyword
//! automata that decide which rules run where.

use crate::builtin;
use crate::keywords::Keywords;
use crate::rule::{AllowlistSpec, ConfigFile, KeywordCase, RuleSpec, Window};
use crate::validate::Validator;
use regex::bytes::{Regex, RegexBuilder};
use std::path::Path;
use vigil_core::Config;

/// A problem in a scan configuration: the file itself (unreadable, not TOML, an unknown key),
/// or a rule or allowlist value that cannot be used, with the file, line and key it is at.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read or parsed, or a key is unknown or has the wrong type.
    #[error(transparent)]
    Config(#[from] vigil_core::ConfigError),
    /// A value that cannot be used, where it is written.
    #[error("{origin}: {problem}")]
    Invalid {
        /// The file, line and dotted key.
        origin: vigil_core::Origin,
        /// What is wrong with it.
        problem: RuleProblem,
    },
}

impl RuleError {
    /// Where the problem is written, when the error names a place.
    pub fn origin(&self) -> Option<vigil_core::Origin> {
        match self {
            RuleError::Config(c) => c.origin(),
            RuleError::Invalid { origin, .. } => Some(origin.clone()),
        }
    }
}

/// What is wrong with a rule or allowlist value. Patterns are quoted (they are not secrets).
#[derive(Debug, thiserror::Error)]
pub enum RuleProblem {
    /// A rule without an id.
    #[error("rule has no id")]
    NoId,
    /// A rule's regex does not compile.
    #[error("invalid regex ({rule}): {error}")]
    RuleRegex {
        /// The rule's id.
        rule: String,
        /// What the regex compiler said.
        error: regex::Error,
    },
    /// A path or allowlist regex does not compile.
    #[error("invalid regex: {0}")]
    Regex(regex::Error),
    /// A rule with neither `regex` nor `path`.
    #[error("rule {rule} has neither regex nor path")]
    NoPattern {
        /// The rule's id.
        rule: String,
    },
    /// `secretGroup` names a group the regex does not have.
    #[error("rule {rule} has {groups} group(s), not {wanted}")]
    SecretGroup {
        /// The rule's id.
        rule: String,
        /// Groups in the regex.
        groups: usize,
        /// The group asked for.
        wanted: usize,
    },
    /// `validate` names no known validator.
    #[error("unknown validator (github-crc32, discord-bot, jwt, pem-body)")]
    UnknownValidator,
    /// An allowlist `condition` other than OR and AND.
    #[error("must be \"OR\" or \"AND\"")]
    Condition,
    /// An allowlist `regexTarget` other than secret, match and line.
    #[error("must be \"secret\", \"match\" or \"line\"")]
    RegexTarget,
    /// `[[rules.required]]` names a rule the configuration does not have.
    #[error("required rule `{0}` is not a rule of this configuration")]
    UnknownRequired(String),
    /// `targetRules` names a rule the configuration does not have.
    #[error("target rule `{0}` is not a rule of this configuration")]
    UnknownTargetRule(String),
    /// An allowlist with nothing to match (gitleaks refuses it too).
    #[error("an allowlist must have at least one of commits, paths, regexes or stopwords")]
    EmptyAllowlist,
    /// The deprecated single allowlist beside the list form, at the same level.
    #[error("the deprecated single `allowlist` cannot be used together with `allowlists`: move it into the list")]
    OldAndNewAllowlist,
}

/// What an allowlist's regexes are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The secret (gitleaks's default).
    Secret,
    /// The whole regex match.
    Match,
    /// The line holding the finding.
    Line,
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    and: bool,
    commits: Vec<String>,
    paths: Vec<Regex>,
    target: Target,
    regexes: Vec<Regex>,
    stopwords: Vec<String>,
    target_rules: Vec<String>,
}

/// What an allowlist is asked about one candidate finding.
pub struct Candidate<'a> {
    /// The rule's id.
    pub rule: &'a str,
    /// The file path as reported.
    pub path: &'a str,
    /// The commit, for history scans.
    pub commit: Option<&'a str>,
    /// The secret bytes.
    pub secret: &'a [u8],
    /// The whole match.
    pub matched: &'a [u8],
    /// The line(s) holding the match.
    pub line: &'a [u8],
}

impl Allowlist {
    /// Whether the candidate is allowed (dropped).
    pub fn allows(&self, c: &Candidate<'_>) -> bool {
        if !self.target_rules.is_empty() && !self.target_rules.iter().any(|r| r == c.rule) {
            return false;
        }
        let target = match self.target {
            Target::Secret => c.secret,
            Target::Match => c.matched,
            Target::Line => c.line,
        };
        let lower = String::from_utf8_lossy(c.secret).to_ascii_lowercase();
        let checks: [Option<bool>; 4] = [
            (!self.commits.is_empty()).then(|| {
                c.commit
                    .is_some_and(|id| self.commits.iter().any(|x| id.starts_with(x.as_str())))
            }),
            (!self.paths.is_empty()).then(|| self.path_matches(c.path)),
            (!self.regexes.is_empty()).then(|| self.regexes.iter().any(|r| r.is_match(target))),
            (!self.stopwords.is_empty())
                .then(|| self.stopwords.iter().any(|w| lower.contains(w.as_str()))),
        ];
        let mut given = checks.iter().flatten().peekable();
        if given.peek().is_none() {
            return false;
        }
        if self.and {
            given.all(|&b| b)
        } else {
            given.any(|&b| b)
        }
    }

    /// Whether it names paths and nothing else about a finding (no regex, stopword or commit):
    /// a folder of fixtures, not a pattern that could match any secret.
    pub fn by_path_only(&self) -> bool {
        self.commits.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && !self.paths.is_empty()
    }

    /// Whether only path criteria are given (so a whole file can be skipped up front).
    pub fn allows_path(&self, path: &str) -> bool {
        self.target_rules.is_empty()
            && self.commits.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.path_matches(path)
    }

    /// Whether a path pattern matches `path`, under the name as given and with its `.` and `..`
    /// resolved as text ([`lexical`]): `fixtures/../src/x.py` is not in `fixtures/`.
    fn path_matches(&self, path: &str) -> bool {
        let hit = |p: &str| self.paths.iter().any(|r| r.is_match(p.as_bytes()));
        hit(path)
            && match lexical(path) {
                std::borrow::Cow::Borrowed(_) => true,
                std::borrow::Cow::Owned(resolved) => hit(&resolved),
            }
    }
}

/// `path` with its `.` and `..` components resolved as text (`fixtures/../src/x` is
/// `src/x`; leading `..` of a relative path are kept); borrowed when it has none.
pub(crate) fn lexical(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.split('/').any(|c| c == "." || c == "..") {
        return std::borrow::Cow::Borrowed(path);
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    std::borrow::Cow::Owned(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

/// A rule a keyword hit may trigger; a case-sensitive keyword is re-checked byte for byte.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub(crate) rule: u32,
    pub(crate) exact: Option<Box<[u8]>>,
    /// Only a place where the rule's match may begin ([`crate::fold::anchors`]): it moves the
    /// start of a window the rule's own keywords open on the same line, and opens none.
    pub(crate) anchor: bool,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// One line saying what it finds.
    pub description: String,
    /// The pattern, if the rule has one.
    pub regex: Option<Regex>,
    /// The pattern's case-sensitive twin, run over ASCII-lowercased text with the same matches
    /// (see [`crate::fold`]); `None` when there is no exact one.
    pub twin: Option<Regex>,
    /// For a `line` rule read from where its matches begin ([`Rule::from_keyword`]): the
    /// pattern it runs (its twin when it has one) anchored at the haystack's start, run at each
    /// of the rule's keywords and anchors on the line instead of over the rest of the line.
    pub anchored: Option<Regex>,
    /// The capture group holding the secret.
    pub secret_group: usize,
    /// Minimum entropy of the secret.
    pub entropy: Option<f64>,
    /// Limit to paths matching this.
    pub path: Option<Regex>,
    /// Labels.
    pub tags: Vec<String>,
    /// Per-rule allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Matches but is never reported.
    pub skip_report: bool,
    /// Where the regex runs.
    pub window: Window,
    /// Structural check.
    pub validate: Option<Validator>,
    /// Yields to specific rules.
    pub generic: bool,
    /// Whether the rule has keywords (else it runs on every file).
    pub has_keywords: bool,
    /// Whether a `prefix` rule's keyword must not follow a word character: its regex begins
    /// with `\b` (a rule with a distinctive prefix leaves it out and matches glued tokens).
    pub word_before: bool,
    /// Whether every match of the rule begins where one of its keywords or anchors begins (see
    /// [`crate::fold::anchors`]): a `line` window then begins at the first of them on its
    /// line, not at the line's start, with the same matches.
    pub from_keyword: bool,
    /// The literals every match begins with ([`crate::fold::start_literals`]): a window without
    /// any of them is not run.
    pub starts: Option<aho_corasick::packed::Searcher>,
    /// A rule without keywords whose token shape Vigil can find without running the regex
    /// over the whole buffer (the built-in Discord bot token, see
    /// [`crate::validate::discord_windows`]): it runs only around those places.
    pub shaped: bool,
    /// For a rule whose validator bounds its matches (`Validator::bounded`), the fewest bytes
    /// a match takes (0 otherwise): after a match, the search goes on from there, so a token
    /// glued to the next one (two Discord tokens with nothing between, the first match's
    /// greedy end running into the second) does not hide the second.
    pub min_len: usize,
    /// gitleaks `[[rules.required]]`: rules that must match near each match of this one.
    pub required: Vec<Required>,
    /// Vigil's placeholder and ciphertext filters apply (built-in rules, and rules extending
    /// them).
    pub builtin: bool,
    /// The source spec (examples and counterexamples live here).
    pub spec: RuleSpec,
}

/// A rule a composite rule requires, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required {
    /// The required rule (index into [`Ruleset::rules`]).
    pub rule: u32,
    /// At most this many lines between the two matches' starts.
    pub within_lines: Option<u32>,
    /// At most this many columns between the two matches' starts.
    pub within_columns: Option<u32>,
}

/// All rules of a scan, compiled, with their keyword automata.
#[derive(Debug, Clone)]
pub struct Ruleset {
    /// The rules, specific ones first.
    pub rules: Vec<Rule>,
    /// Global allowlists.
    pub global: Vec<Allowlist>,
    pub(crate) keywords: Option<crate::keywords::Keywords>,
    pub(crate) keyword_rules: Vec<Vec<Trigger>>,
    pub(crate) always: Vec<u32>,
    pub(crate) path_only: Vec<u32>,
    /// Whether any rule is composite.
    pub(crate) has_required: bool,
    /// Matches dropped by a configured allowlist, and files a path allowlist skipped whole
    /// (the built-in rules have none): counted so a summary can say what a configuration hid.
    pub(crate) allowlisted: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
    /// Whether the configuration was found beside the scanned code rather than named: its
    /// allowlists' regexes and stopwords then never drop a built-in rule's finding of a
    /// provider's own shape (bb-scan-s9 F8: a catch-all regex committed beside a secret
    /// would hide it); its path allowlists still do.
    pub(crate) found: bool,
}

/// Where a scan configuration was read from, for error origins: the loaded file and the key
/// prefix of the scan configuration inside it (`scan.` in `vigil.toml`, nothing in
/// `.gitleaks.toml`).
pub struct ConfigRef<'a> {
    /// The loaded file.
    pub config: &'a Config,
    /// Key prefix.
    pub prefix: &'a str,
}

impl ConfigRef<'_> {
    /// The origin of `key` (relative to the scan configuration) in this file.
    pub fn origin(&self, key: &str) -> vigil_core::Origin {
        let key = format!("{}{key}", self.prefix);
        self.config.origin(&key)
    }

    fn err(&self, key: &str, problem: RuleProblem) -> RuleError {
        RuleError::Invalid {
            origin: self.origin(key),
            problem,
        }
    }
}

impl Ruleset {
    /// Whether any allowlist names commits (history scans then scan per commit).
    pub fn has_commit_allowlists(&self) -> bool {
        self.global.iter().any(|a| !a.commits.is_empty())
            || self
                .rules
                .iter()
                .any(|r| r.allowlists.iter().any(|a| !a.commits.is_empty()))
    }
}

impl Ruleset {
    /// The built-in rules alone.
    pub fn builtin() -> Self {
        let cfg = Config::empty();
        Self::compile(
            builtin::rules(),
            Vec::new(),
            &ConfigRef {
                config: &cfg,
                prefix: "builtin.",
            },
        )
        .expect("built-in rules compile")
    }

    /// Resolves a configuration file (extend, disabledRules, overrides) and compiles it. With no
    /// rules and no `[extend]`, the built-in rules are used, so an allowlist-only file works.
    pub fn from_config(file: &ConfigFile, origin: &ConfigRef<'_>) -> Result<Self, RuleError> {
        let (specs, allow) = resolve(file, origin, 0, None)?;
        Self::compiled(specs, allow, origin, false)
    }

    /// [`Ruleset::from_config`] for a configuration found beside the scanned code: at every
    /// level (the file and what its `[extend] path` chain pulls in), a rule with a built-in
    /// rule's id that changes what is found ([`changes_detection`]) is added under its own id
    /// (`github-pat-custom`) instead of replacing the built-in. Returns the ids so renamed.
    ///
    /// With `drop_blanket`, an allowlist path that matches most ordinary source paths
    /// ([`blanket_path`], `paths = ['.*']`) is left out, as a file found beside the code would
    /// otherwise silence every rule; the patterns found are returned either way.
    pub fn from_discovered(
        file: &ConfigFile,
        origin: &ConfigRef<'_>,
        drop_blanket: bool,
    ) -> Result<(Self, Discovered), RuleError> {
        let mut found = Discovered::default();
        let (mut specs, mut allow) = resolve(file, origin, 0, Some(&mut found.renamed))?;
        for a in allow
            .iter_mut()
            .chain(specs.iter_mut().flat_map(|s| s.allowlists.iter_mut()))
        {
            found.blanket.extend(blanket_paths(a, drop_blanket));
        }
        // An allowlist whose only criterion was a blanket path is gone, not left empty (an
        // empty allowlist would be refused).
        allow.retain(|a| !a.is_empty());
        for s in &mut specs {
            s.allowlists.retain(|a| !a.is_empty());
        }
        found.blanket.sort();
        found.blanket.dedup();
        let rules = Self::compiled(specs, allow, origin, true)?;
        Ok((rules, found))
    }

    /// Compiles resolved specs and global allowlists; `found` marks a discovered configuration.
    fn compiled(
        specs: Vec<RuleSpec>,
        allow: Vec<AllowlistSpec>,
        origin: &ConfigRef<'_>,
        found: bool,
    ) -> Result<Self, RuleError> {
        let mut global = Vec::new();
        for (i, a) in allow.iter().enumerate() {
            global.push(compile_allowlist(a, origin, &format!("allowlists[{i}]"))?);
        }
        let mut rules = Self::compile(specs, global, origin)?;
        rules.found = found;
        Ok(rules)
    }

    /// Compiles rule specs, with global allowlists already compiled.
    pub fn compile(
        specs: Vec<RuleSpec>,
        global: Vec<Allowlist>,
        origin: &ConfigRef<'_>,
    ) -> Result<Self, RuleError> {
        let mut rules = Vec::with_capacity(specs.len());
        let mut all_kws: Vec<(String, bool, u32, bool)> = Vec::new();
        let (mut always, mut path_only) = (Vec::new(), Vec::new());
        for (i, spec) in specs.into_iter().enumerate() {
            let (regex, path, secret_group, validate, allowlists) =
                compile_parts(&spec, origin, &format!("rules[{i}]"), false)?;
            let idx = rules.len() as u32;
            let kws: Vec<String> = spec
                .keywords
                .iter()
                .filter(|k| !k.is_empty())
                .cloned()
                .collect();
            if regex.is_none() {
                path_only.push(idx);
            } else if kws.is_empty() {
                always.push(idx);
            }
            for k in &kws {
                all_kws.push((
                    k.clone(),
                    spec.keyword_case == KeywordCase::Sensitive,
                    idx,
                    false,
                ));
            }
            // How the rule's matches begin, read once: where a line window may start, and the
            // literals a window must hold (rules with keywords only).
            let starts = spec
                .regex
                .as_deref()
                .filter(|_| !kws.is_empty())
                .and_then(crate::fold::Starts::of);
            let anchors = starts
                .as_ref()
                .filter(|_| {
                    spec.window.unwrap_or_default() == Window::Line
                        && spec.keyword_case != KeywordCase::Sensitive
                })
                .and_then(|st| crate::fold::anchors(st, &kws));
            for a in anchors.iter().flatten() {
                all_kws.push((a.clone(), false, idx, true));
            }
            let twin = regex
                .as_ref()
                .and_then(|_| spec.regex.as_deref().and_then(crate::fold::twin));
            // Only a rule whose windows all open at its keywords: each window then holds them.
            let anchored = (anchors.is_some()
                && !kws.is_empty()
                && spec.window.unwrap_or_default() == Window::Line)
                .then(|| twin.as_ref().or(regex.as_ref()))
                .flatten()
                .and_then(|r| build_regex(&format!(r"\A(?:{})", r.as_str())).ok());
            rules.push(Rule {
                id: spec.id.clone(),
                description: spec.description.clone(),
                twin,
                anchored,
                regex,
                secret_group,
                entropy: spec.entropy.filter(|e| *e > 0.0),
                path,
                tags: spec.tags.clone(),
                allowlists,
                skip_report: spec.skip_report,
                window: spec.window.unwrap_or_default(),
                validate,
                generic: spec.generic,
                has_keywords: !kws.is_empty(),
                word_before: spec
                    .regex
                    .as_deref()
                    .is_some_and(|r| r.trim_start_matches("(?i)").starts_with(r"\b")),
                from_keyword: anchors.is_some(),
                starts: starts.as_ref().and_then(crate::fold::start_literals),
                shaped: kws.is_empty()
                    && validate == Some(Validator::DiscordBot)
                    && spec.regex.as_deref() == Some(crate::validate::DISCORD_REGEX),
                min_len: validate
                    .filter(|v| v.bounded())
                    .and(spec.regex.as_deref())
                    .and_then(|r| regex_syntax::parse(r).ok())
                    .and_then(|h| h.properties().minimum_len())
                    .unwrap_or(0),
                required: Vec::new(),
                builtin: spec.builtin,
                spec,
            });
        }
        // Composite rules: resolve the ids they require (and the rules global allowlists target).
        for i in 0..rules.len() {
            let mut req = Vec::new();
            for r in &rules[i].spec.required {
                let Some(j) = rules.iter().position(|x| x.id == r.id) else {
                    return Err(origin.err(
                        &format!("rules[{i}].required"),
                        RuleProblem::UnknownRequired(r.id.clone()),
                    ));
                };
                req.push(Required {
                    rule: j as u32,
                    within_lines: r.within_lines,
                    within_columns: r.within_columns,
                });
            }
            rules[i].required = req;
        }
        for (i, a) in global.iter().enumerate() {
            if let Some(t) = a
                .target_rules
                .iter()
                .find(|t| !rules.iter().any(|r| &r.id == *t))
            {
                return Err(origin.err(
                    &format!("allowlists[{i}].targetRules"),
                    RuleProblem::UnknownTargetRule(t.clone()),
                ));
            }
        }
        let has_required = rules.iter().any(|r| !r.required.is_empty());
        let (keywords, keyword_rules) = automaton(all_kws);
        Ok(Ruleset {
            rules,
            global,
            keywords,
            keyword_rules,
            always,
            path_only,
            has_required,
            allowlisted: Default::default(),
            found: false,
        })
    }

    /// How many matches a configured allowlist dropped, and how many files a path allowlist
    /// skipped whole, so far (every scan with this ruleset adds to them).
    pub fn allowlisted(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.allowlisted[0].load(Relaxed),
            self.allowlisted[1].load(Relaxed),
        )
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Builds the keyword search over all keywords, lowercased (`keywords.rs`). Each place a
/// keyword starts is reported once, with the longest keyword starting there; a hit also
/// triggers the rules of every keyword that is a prefix of the one found (`sk_` inside
/// `sk_live_`), so every keyword occurrence is seen, as an overlapping search would.
/// Case-sensitive keywords are re-checked on the bytes of each hit.
fn automaton(kws: Vec<(String, bool, u32, bool)>) -> (Option<Keywords>, Vec<Vec<Trigger>>) {
    if kws.is_empty() {
        return (None, Vec::new());
    }
    let mut pats: Vec<String> = kws.iter().map(|(k, ..)| k.to_ascii_lowercase()).collect();
    pats.sort();
    pats.dedup();
    let triggers: Vec<Vec<Trigger>> = pats
        .iter()
        .map(|p| {
            let mut out: Vec<Trigger> = Vec::new();
            for (k, sensitive, rule, anchor) in &kws {
                if p.starts_with(&k.to_ascii_lowercase()) {
                    let exact = sensitive.then(|| k.as_bytes().to_vec().into_boxed_slice());
                    if !out
                        .iter()
                        .any(|t| t.rule == *rule && t.exact == exact && t.anchor == *anchor)
                    {
                        out.push(Trigger {
                            rule: *rule,
                            exact,
                            anchor: *anchor,
                        });
                    }
                }
            }
            out
        })
        .collect();
    (Some(Keywords::new(&pats)), triggers)
}

/// Compiles a regex as gitleaks users write them (Go RE2 syntax), ASCII-only where possible.
pub fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    ascii_regex(pattern).or_else(|_| RegexBuilder::new(pattern).size_limit(64 << 20).build())
}

/// `pattern` built ASCII-only (`\w`, `\s` and `(?i)` read ASCII), as [`build_regex`] builds a
/// rule first.
pub(crate) fn ascii_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
}

fn compile_allowlist(
    a: &AllowlistSpec,
    origin: &ConfigRef<'_>,
    key: &str,
) -> Result<Allowlist, RuleError> {
    let re = |v: &[String], field: &str| -> Result<Vec<Regex>, RuleError> {
        v.iter()
            .enumerate()
            .map(|(i, r)| {
                build_regex(r)
                    .map_err(|e| origin.err(&format!("{key}.{field}[{i}]"), RuleProblem::Regex(e)))
            })
            .collect()
    };
    let and = match a
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("OR") => false,
        Some("AND") => true,
        Some(_) => return Err(origin.err(&format!("{key}.condition"), RuleProblem::Condition)),
    };
    if a.is_empty() {
        return Err(origin.err(key, RuleProblem::EmptyAllowlist));
    }
    let target = match a.regex_target.as_deref() {
        None | Some("secret") | Some("") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(_) => return Err(origin.err(&format!("{key}.regexTarget"), RuleProblem::RegexTarget)),
    };
    Ok(Allowlist {
        and,
        commits: a.commits.clone(),
        paths: re(&a.paths, "paths")?,
        target,
        regexes: re(&a.regexes, "regexes")?,
        stopwords: a.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
        target_rules: a.target_rules.clone(),
    })
}

/// How many levels of `[extend] path` are followed (gitleaks's `maxExtendDepth`).
const MAX_EXTEND_DEPTH: usize = 2;

/// Follows `[extend]` as gitleaks 8.30 does: the built-ins and/or another file, minus disabled
/// rules, then this file's rules, each merged into an extended rule of the same id (its
/// description, entropy, secret group, regex and path replace the base's when given; tags,
/// keywords, allowlists and required rules are added) or added as new. Returns the rules and
/// the global allowlists.
fn resolve(
    file: &ConfigFile,
    origin: &ConfigRef<'_>,
    depth: usize,
    mut protect: Option<&mut Vec<String>>,
) -> Result<(Vec<RuleSpec>, Vec<AllowlistSpec>), RuleError> {
    // A discovered configuration: its rules (at every level) never replace a built-in.
    let protected;
    let file = match protect.as_deref_mut() {
        Some(renamed) => {
            let builtin: std::collections::HashSet<String> =
                builtin::rules().into_iter().map(|r| r.id).collect();
            let mut f = file.clone();
            for r in &mut f.rules {
                if builtin.contains(&r.id) && changes_detection(r) {
                    if !renamed.contains(&r.id) {
                        renamed.push(r.id.clone());
                    }
                    r.id = format!("{}-custom", r.id);
                }
            }
            protected = f;
            &protected
        }
        None => file,
    };
    let mut rules: Vec<RuleSpec> = Vec::new();
    let mut allow: Vec<AllowlistSpec> = Vec::new();
    let extend = file.extend.clone().unwrap_or_default();
    if extend.use_default || (file.extend.is_none() && file.rules.is_empty()) {
        rules = builtin::rules();
    }
    if let Some(p) = extend.path.as_ref().filter(|_| {
        // gitleaks follows two levels of `[extend] path` and ignores deeper ones; Vigil does the
        // same, and says so.
        if depth >= MAX_EXTEND_DEPTH {
            tracing::warn!(
                "{}: [extend] path is not followed: configurations extend at most {MAX_EXTEND_DEPTH} levels deep (as in gitleaks)",
                origin.config.path().display()
            );
        }
        depth < MAX_EXTEND_DEPTH
    }) {
        let base = origin.config.path().parent().unwrap_or(Path::new("."));
        let other = Config::parse_patterns(&base.join(p))?;
        let spec = ConfigFile::from_document(&other)?;
        let (r, a) = resolve(
            &spec,
            &ConfigRef {
                config: &other,
                prefix: "",
            },
            depth + 1,
            protect,
        )?;
        for x in r {
            upsert(&mut rules, x);
        }
        allow.extend(a);
    }
    rules.retain(|r| !extend.disabled_rules.contains(&r.id));
    if file.allowlist.is_some() && !file.allowlists.is_empty() {
        return Err(origin.err("allowlist", RuleProblem::OldAndNewAllowlist));
    }
    for (i, r) in file.rules.iter().enumerate() {
        if r.allowlist.is_some() && !r.allowlists.is_empty() {
            return Err(origin.err(
                &format!("rules[{i}].allowlist"),
                RuleProblem::OldAndNewAllowlist,
            ));
        }
        let extends = rules.iter().any(|x| x.id == r.id);
        compile_parts(r, origin, &format!("rules[{i}]"), extends)?;
    }
    for (key, a) in file
        .allowlist
        .iter()
        .map(|a| ("allowlist".to_owned(), a))
        .chain(
            file.allowlists
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("allowlists[{i}]"), a)),
        )
    {
        compile_allowlist(a, origin, &key)?;
    }
    for r in &file.rules {
        let mut r = r.clone();
        if !rules.iter().any(|x| x.id == r.id) && r.window.is_none() && r.keywords.is_empty() {
            r.window = Some(Window::File);
        }
        upsert(&mut rules, r);
    }
    allow.extend(file.allowlist.iter().cloned());
    allow.extend(file.allowlists.iter().cloned());
    rules.sort_by_key(|r| r.generic);
    Ok((rules, allow))
}

/// What resolving a discovered configuration found: the built-in ids its rules would have
/// replaced (added as `<id>-custom`) and its blanket allowlist paths.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Built-in rule ids the file redefines.
    pub renamed: Vec<String>,
    /// Allowlist path patterns that match most ordinary source paths.
    pub blanket: Vec<String>,
}

/// Ordinary paths of a project's own code and settings, in several languages and layouts. An
/// allowlist path matching half of them is not an exception for fixtures or vendored code but a
/// way to turn the scan off.
const ORDINARY_PATHS: &[&str] = &[
    ".env",
    "src/main.rs",
    "app.py",
    "config/settings.py",
    "index.js",
    "cmd/server/main.go",
    "deploy/prod.yaml",
    "README.md",
    "lib/Client.java",
    "scripts/deploy.sh",
];

/// The files secrets live in. An allowlist path matching one of them exempts exactly what a
/// scan is for (tester helper-117 M6: `(^|/)[^/]*\.(env|zip|txt)$`).
const SECRET_HOMES: &[&str] = &[
    ".env",
    "services/api/.env",
    ".env.production",
    "config/credentials.json",
    "deploy/secrets.yaml",
];

/// Whether the allowlist path `pattern` matches at least half of [`ORDINARY_PATHS`] (`.*`, `.`,
/// `^`, `(?i)\.(py|js|go|rs|yaml|md|env|sh|java)$`) or any of [`SECRET_HOMES`] (`\.env$`). A
/// pattern that does not compile is not blanket (compiling reports it).
pub fn blanket_path(pattern: &str) -> bool {
    build_regex(pattern).is_ok_and(|re| {
        let hits = |paths: &[&str]| paths.iter().filter(|p| re.is_match(p.as_bytes())).count();
        hits(ORDINARY_PATHS) * 2 >= ORDINARY_PATHS.len() || hits(SECRET_HOMES) > 0
    })
}

/// The blanket paths of `a` (see [`blanket_path`]), removed from it when `drop` is set. An `AND`
/// allowlist with other criteria is left alone: those still have to match.
fn blanket_paths(a: &mut AllowlistSpec, drop: bool) -> Vec<String> {
    let and = a
        .condition
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("and"));
    if and && !(a.regexes.is_empty() && a.stopwords.is_empty() && a.commits.is_empty()) {
        return Vec::new();
    }
    if !drop {
        return a
            .paths
            .iter()
            .filter(|p| blanket_path(p))
            .cloned()
            .collect();
    }
    let (found, kept) = std::mem::take(&mut a.paths)
        .into_iter()
        .partition(|p| blanket_path(p));
    a.paths = kept;
    found
}

/// Whether a rule merged into a rule of the same id would change what that rule finds (its
/// pattern, path, entropy, secret group, required rules, window, validation or reporting), as
/// opposed to only adding keywords, tags or allowlists.
pub fn changes_detection(r: &RuleSpec) -> bool {
    r.regex.is_some()
        || r.path.is_some()
        || r.entropy.is_some()
        || r.secret_group.is_some()
        || !r.required.is_empty()
        || r.window.is_some()
        || r.validate.is_some()
        || r.skip_report
}

/// Compiles one rule's regexes, validator and allowlists; errors name `at` (e.g. `rules[3]`).
#[allow(clippy::type_complexity)]
fn compile_parts(
    spec: &RuleSpec,
    origin: &ConfigRef<'_>,
    at: &str,
    extends: bool,
) -> Result<
    (
        Option<Regex>,
        Option<Regex>,
        usize,
        Option<Validator>,
        Vec<Allowlist>,
    ),
    RuleError,
> {
    let key = |f: &str| format!("{at}.{f}");
    if spec.id.is_empty() {
        return Err(origin.err(at, RuleProblem::NoId));
    }
    let regex = match &spec.regex {
        Some(r) if !r.is_empty() => Some(build_regex(r).map_err(|error| {
            origin.err(
                &key("regex"),
                RuleProblem::RuleRegex {
                    rule: spec.id.clone(),
                    error,
                },
            )
        })?),
        _ => None,
    };
    let path = match &spec.path {
        Some(p) => {
            Some(build_regex(p).map_err(|e| origin.err(&key("path"), RuleProblem::Regex(e)))?)
        }
        None => None,
    };
    // A rule that extends another may give only what it changes (an allowlist, tags).
    if regex.is_none() && path.is_none() && !extends {
        return Err(origin.err(
            &key("regex"),
            RuleProblem::NoPattern {
                rule: spec.id.clone(),
            },
        ));
    }
    let groups = regex.as_ref().map_or(0, |r| r.captures_len() - 1);
    let secret_group = spec.secret_group.unwrap_or(if groups > 0 { 1 } else { 0 });
    if secret_group > groups && !(extends && regex.is_none()) {
        return Err(origin.err(
            &key("secretGroup"),
            RuleProblem::SecretGroup {
                rule: spec.id.clone(),
                groups,
                wanted: secret_group,
            },
        ));
    }
    let validate = match &spec.validate {
        Some(v) => Some(
            Validator::parse(v)
                .ok_or_else(|| origin.err(&key("validate"), RuleProblem::UnknownValidator))?,
        ),
        None => None,
    };
    let mut allowlists = Vec::new();
    for (j, a) in spec
        .allowlist
        .iter()
        .chain(spec.allowlists.iter())
        .enumerate()
    {
        allowlists.push(compile_allowlist(
            a,
            origin,
            &key(&format!("allowlists[{j}]")),
        )?);
    }
    Ok((regex, path, secret_group, validate, allowlists))
}

/// Adds a rule, or merges it into the extended rule of the same id (gitleaks's `extend`).
fn upsert(rules: &mut Vec<RuleSpec>, r: RuleSpec) {
    match rules.iter_mut().find(|x| x.id == r.id) {
        Some(base) => merge_rule(base, r),
        None => rules.push(r),
    }
}

/// gitleaks's merge of a rule into the rule it extends: what the new rule gives replaces
/// (description, entropy, secret group, regex, path, and Vigil's own fields), lists are joined
/// (tags, keywords, allowlists, required rules).
fn merge_rule(base: &mut RuleSpec, cur: RuleSpec) {
    if !cur.description.is_empty() {
        base.description = cur.description;
    }
    if cur.entropy.is_some_and(|e| e != 0.0) {
        base.entropy = cur.entropy;
    }
    if cur.secret_group.is_some_and(|g| g != 0) {
        base.secret_group = cur.secret_group;
    }
    if cur.regex.as_deref().is_some_and(|r| !r.is_empty()) {
        base.regex = cur.regex;
    }
    if cur.path.is_some() {
        base.path = cur.path;
    }
    base.tags.extend(cur.tags);
    for k in cur.keywords {
        if !base.keywords.contains(&k) {
            base.keywords.push(k);
        }
    }
    base.allowlists.extend(cur.allowlist);
    base.allowlists.extend(cur.allowlists);
    base.required.extend(cur.required);
    if cur.window.is_some() {
        base.window = cur.window;
    }
    if cur.validate.is_some() {
        base.validate = cur.validate;
    }
    base.skip_report |= cur.skip_report;
    base.builtin |= cur.builtin;
}

#[cfg(test)]
mod tests {
    use super::{blanket_path, lexical};

    /// Tester F1 (session 21): `fixtures/../src/leak.py` matched a `^fixtures/` allowlist.
    #[test]
    fn paths_resolve_dot_dot_as_text() {
        for (p, want) in [
            ("src/x.py", "src/x.py"),
            ("fixtures/../src/x.py", "src/x.py"),
            ("a/./b/../c", "a/c"),
            ("../a/../b", "../b"),
            ("../../x", "../../x"),
            ("/a/../../b", "/b"),
            ("a/b/../../..", ".."),
        ] {
            assert_eq!(lexical(p), want, "{p}");
        }
    }

    #[test]
    fn blanket_paths_match_most_ordinary_files_or_a_secrets_file() {
        for p in [
            ".*",
            ".",
            "^",
            "",
            "(?s).+",
            r"(?i)\.(py|js|go|rs|yaml|md|sh|java|env)$",
            r"(^|/)[^/]*\.(env|zip|txt)$",
            r"\.env",
            r"credentials\.json$",
        ] {
            assert!(blanket_path(p), "{p}");
        }
        for p in [
            "^fixtures/",
            r"\.py$",
            r"(^|/)node_modules/",
            r"go\.sum$",
            r"(.*?)(jpg|gif|doc|pdf|bin)$",
            r"\.env\.example$",
            r"^tests/fixtures/.*\.env$",
            "^(src|lib)/",
            "(", // does not compile: compiling reports it
        ] {
            assert!(!blanket_path(p), "{p}");
        }
    }
}
