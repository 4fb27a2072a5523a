//! Planning a rotation: which bytes of which files change. Nothing here touches the disk; the
//! plan becomes [`crate::txn::Change`]s that one transaction commits.
//!
//! - **single** (`--tokens A,B`): each token gets one new value per environment (see
//!   [`crate::environment`]), written into every non-template file of that environment that
//!   binds it, so the services of an environment stay in step and two environments never share
//!   a value;
//! - **dual** (`--dual NAME`): per file, the current value moves to the previous variable (created
//!   beside the current one when missing) and the current variable gets its environment's new
//!   value;
//! - **retire** (`retire NAME`): the previous variable of a dual secret is emptied.
//!
//! Template files (`.env.example`…) never receive a real value: a template that holds a
//! non-placeholder value for a rotated name gets the placeholder instead; others stay untouched.
//!
//! A value encrypted by SOPS, dotenvx, Fernet or `vigil seal` is never replaced by a plaintext
//! one, and a SOPS-managed file (its `sops_mac` would no longer match) is never edited: the plan
//! is refused with the reason. Every binding of a repeated key changes, and each is listed.
//!
//! [`crate::Project::plan_rotation`] also refuses, naming the file and line: a value that is a
//! reference to a secret kept elsewhere (`${FROM_VAULT}`, `op://…`, `vault:…`: rotate it
//! there), a name that does not hold a secret (`LOG_LEVEL`, `MCP_DEV_BYPASS`: a random value
//! would break what reads it; listing it in `[env] tokens` says it is one), and a credential a
//! provider issues (a name such as `OPENAI_API_KEY` or `DISCORD_BOT_TOKEN`, or a value one of
//! vigil-scan's provider rules recognises: a random string is no key at the provider; rotate it
//! there, or pass `--allow-provider-keys`). A file with several hard links is refused in a dry
//! run as in a rotation.

use crate::config::{DualNames, EnvSection};
use crate::discover::EnvFile;
use crate::document::Document;
use crate::generate::GenError;
use std::collections::{BTreeMap, BTreeSet};
use vigil_core::Secret;

/// A loaded env file: where it is, what it is, its parsed text.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file.
    pub file: EnvFile,
    /// Its document.
    pub doc: Document,
}

/// One value that changes.
#[derive(Debug, Clone)]
pub struct Edit {
    /// Variable.
    pub key: String,
    /// 1-based line of the binding (in the old text; 0 for a new line).
    pub line: usize,
    /// The old value.
    pub old: Option<Secret<String>>,
    /// The new value.
    pub new: Secret<String>,
    /// What happens.
    pub what: EditKind,
}

/// What an [`Edit`] does to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// A new random value.
    Rotated,
    /// The current value of a dual secret, copied to its previous variable.
    MovedToPrevious,
    /// A template's value, replaced by the placeholder.
    Placeholder,
    /// The previous value of a dual secret, emptied.
    Retired,
    /// A dual secret's current value is a well-known default (`changeme`): not kept as the
    /// previous value (anyone could sign with it), which is left empty.
    DefaultNotKept,
}

impl EditKind {
    /// How a preview says it.
    pub fn as_str(self) -> &'static str {
        match self {
            EditKind::Rotated => "rotated",
            EditKind::MovedToPrevious => "moved to previous",
            EditKind::Placeholder => "placeholder",
            EditKind::Retired => "retired",
            EditKind::DefaultNotKept => "emptied (a well-known default is not kept)",
        }
    }
}

impl std::fmt::Display for EditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The plan for one file.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// The file.
    pub file: EnvFile,
    /// Old text.
    pub old: String,
    /// New text.
    pub new: String,
    /// The values that change.
    pub edits: Vec<Edit>,
}

/// A rotation plan: the files that change and the new values of each rotated name.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Changed files only.
    pub files: Vec<FilePlan>,
    /// Name → environment → its new value there (for the ledger).
    pub values: BTreeMap<String, BTreeMap<String, Secret<String>>>,
    /// Name → the files holding it after the change.
    pub holders: BTreeMap<String, Vec<String>>,
    /// Names rotated in some of the environments that hold them (`--environment`): the ledger
    /// keeps the others' hashes and the older rotation time.
    pub partial: BTreeSet<String>,
}

/// A plan that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A name is in no (non-template) file.
    #[error("{0} is not set in any env file of the project")]
    NotFound(String),
    /// A name is not a valid variable name.
    #[error("`{0}` is not a variable name (letters, digits and _)")]
    BadName(String),
    /// The document refused an edit.
    #[error("{path}: {}", error.message)]
    Edit {
        /// File.
        path: String,
        /// Why.
        error: crate::ParseError,
    },
    /// No new value can be made.
    #[error(transparent)]
    Generate(#[from] GenError),
    /// The value is encrypted: rotating it here would write it in plaintext.
    #[error("{path}:{line}: {key} is encrypted ({tool}); Vigil will not replace it with a plaintext value: rotate it with {tool}, or decrypt the file first")]
    Sealed {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// Variable.
        key: String,
        /// The tool that encrypted it.
        tool: &'static str,
    },
    /// A SOPS-managed file: any edit breaks its MAC.
    #[error("{path}: managed by SOPS (it has sops_mac); an edit would break its MAC: use `sops set` instead")]
    Sops {
        /// File.
        path: String,
    },
    /// The value is a reference to a secret kept elsewhere.
    #[error("{path}:{line}: {key} is a reference (`{scheme}`) to a secret kept elsewhere; Vigil never replaces a reference with a value: rotate it where it is kept")]
    Reference {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// Variable.
        key: String,
        /// What marks it as a reference (`${…}`, `op://`, `vault:`).
        scheme: &'static str,
    },
    /// The name does not hold a secret.
    #[error("{path}:{line}: {key} is not a secret (its name has no TOKEN, SECRET, PASSWORD or KEY): a random value would break what reads it; refused (list it in [env] tokens if it is one)")]
    NotSecret {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// Variable.
        key: String,
    },
    /// A credential a provider issues: a random value is no key at the provider.
    #[error("{path}:{line}: {key} is issued by a provider ({why}); a random value would not be a key there: rotate it at the provider, then put the new value here (or pass --allow-provider-keys)")]
    Provider {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// Variable.
        key: String,
        /// What says so (the name, or the scan rule that recognises the value).
        why: String,
    },
    /// A file with several hard links: replacing it would leave the other names with the old
    /// value (the same refusal a rotation makes, said by the dry run too).
    #[error("{path}: has {links} hard links; a rotation replaces the file and would leave the other names with the old value: refused (use a symbolic link, which is written through)")]
    HardLinked {
        /// File.
        path: String,
        /// How many names it has.
        links: u64,
    },
}

/// The marks of a value that refers to a secret kept elsewhere, lower case: variable
/// references, secret managers' URIs and resource names.
const REFERENCES: &[&str] = &[
    "op://",
    "onepassword://",
    "vault://",
    "vault:",
    "ref+",
    "awssm:",
    "aws-sm://",
    "awssm://",
    "arn:aws:secretsmanager:",
    "arn:aws:ssm:",
    "ssm://",
    "ssm:",
    "gcpsm://",
    "gcp-sm://",
    "sm://",
    "azure-keyvault://",
    "akv://",
    "keyvault://",
    "doppler://",
    "infisical://",
    "bws://",
    "bitwarden://",
    "pass://",
    "sops://",
    "secret://",
    "secretref:",
    "k8s-secret://",
];

/// Whether a value is a reference to a secret kept elsewhere, and its mark: `${VAR}`, `$VAR`,
/// `op://…`, `vault:…`, `arn:aws:secretsmanager:…`, `projects/…/secrets/…` (Google's names).
pub fn reference_scheme(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.starts_with("${") {
        return Some("${…}");
    }
    if let Some(rest) = v.strip_prefix('$') {
        if rest
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && rest.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
        {
            return Some("$VAR");
        }
    }
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("projects/") && lower.contains("/secrets/") {
        return Some("projects/…/secrets/…");
    }
    REFERENCES.iter().find(|r| lower.starts_with(**r)).copied()
}

/// Words of variable names that name a provider whose credentials it issues (compared with the
/// name's `_`-separated words).
const PROVIDERS: &[&str] = &[
    "DISCORD",
    "OPENAI",
    "ANTHROPIC",
    "CLAUDE",
    "OPENROUTER",
    "GROQ",
    "DEEPGRAM",
    "CARTESIA",
    "ELEVENLABS",
    "ELEVEN",
    "AZURE",
    "TWITCH",
    "SLACK",
    "GITHUB",
    "GH",
    "GITLAB",
    "AWS",
    "GCP",
    "GOOGLE",
    "GEMINI",
    "STRIPE",
    "TWILIO",
    "SENDGRID",
    "TELEGRAM",
    "HF",
    "HUGGINGFACE",
    "NPM",
    "PYPI",
    "QDRANT",
    "PORTKEY",
    "MISTRAL",
    "COHERE",
    "REPLICATE",
    "PINECONE",
    "SUPABASE",
    "FIREBASE",
    "VERCEL",
    "CLOUDFLARE",
    "DIGITALOCEAN",
    "HEROKU",
    "NETLIFY",
    "SENTRY",
    "DATADOG",
    "MAILGUN",
    "POSTMARK",
    "RESEND",
    "SPOTIFY",
    "YOUTUBE",
    "REDDIT",
    "NOTION",
    "LINEAR",
    "ATLASSIAN",
    "DOCKERHUB",
    "TOGETHER",
    "FIREWORKS",
    "PERPLEXITY",
    "XAI",
];

/// Scan rules whose match says nothing about who issued the value.
const NOT_PROVIDER_RULES: &[&str] = &["generic-api-key", "database-url-password"];

/// Why `key = value` looks issued by a provider: its name, or a provider rule of vigil-scan
/// that recognises the value.
pub fn provider_issued(key: &str, value: &str) -> Option<String> {
    let upper = key.to_ascii_uppercase();
    if let Some(p) = upper.split('_').find(|w| PROVIDERS.contains(w)) {
        return Some(format!("the name says {p}"));
    }
    static RULES: std::sync::LazyLock<vigil_scan::Ruleset> =
        std::sync::LazyLock::new(vigil_scan::Ruleset::builtin);
    let mut found = Vec::new();
    RULES.scan_bytes(
        ".env",
        None,
        format!("{key}={value}\n").as_bytes(),
        &mut found,
    );
    found
        .iter()
        .find(|f| !NOT_PROVIDER_RULES.contains(&f.rule.as_str()))
        .map(|f| format!("its value is a {}", f.rule))
}

/// Whether a document is a SOPS-encrypted dotenv file (its metadata keys).
pub fn is_sops(doc: &Document) -> bool {
    doc.bindings()
        .iter()
        .any(|b| b.key == "sops_mac" || b.key == "sops_version")
}

/// Refuses when a non-template file binds `key` to an encrypted value.
fn refuse_sealed(loaded: &[Loaded], key: &str) -> Result<(), PlanError> {
    for l in loaded.iter().filter(|l| !l.file.template) {
        for b in l.doc.bindings().iter().filter(|b| b.key == key) {
            if let Some(tool) = b.value.as_deref().and_then(vigil_core::ciphertext::sealed) {
                return Err(PlanError::Sealed {
                    path: l.file.path.display().to_string(),
                    line: b.line,
                    key: key.to_owned(),
                    tool: tool.name(),
                });
            }
        }
    }
    Ok(())
}

/// The environments of the non-template files that bind `key`.
fn environments_of(loaded: &[Loaded], key: &str) -> BTreeSet<String> {
    loaded
        .iter()
        .filter(|l| !l.file.template && l.doc.get(key).is_some())
        .map(|l| l.file.environment.clone())
        .collect()
}

/// One new value per environment.
fn new_values(
    envs: BTreeSet<String>,
    name: &str,
    gen: &mut dyn FnMut(&str) -> Result<String, GenError>,
) -> Result<BTreeMap<String, Secret<String>>, PlanError> {
    let mut out = BTreeMap::new();
    for env in envs {
        out.insert(env, Secret::new(gen(name)?));
    }
    Ok(out)
}

/// Whether a value in a template is already a placeholder: empty, `change-me`-like, `<…>`,
/// `${…}`, `your-…`, `xxx…`. A marker word (`xxx`, `change`, `replace`, `example`,
/// `placeholder`, `your…`, `…here`) only makes a placeholder when what is left around it is not
/// itself secret-strength: a random value that happens to contain `XXX` is a secret, and a
/// security tool that read it as a placeholder would leave it unrotated (fail open).
pub fn is_placeholder(v: &str, placeholder: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    if l.is_empty()
        || l == placeholder.to_ascii_lowercase()
        || vigil_core::strength::is_known_default(&l)
        || (l.starts_with('<') && l.ends_with('>'))
        || l.starts_with("${")
    {
        return true;
    }
    let marked = l.starts_with("your")
        || l.contains("xxx")
        || l.contains("change")
        || l.contains("replace")
        || l.contains("example")
        || l.contains("placeholder")
        || l.ends_with("here");
    if !marked {
        return false;
    }
    let mut rest = l.clone();
    for word in [
        "placeholder",
        "example",
        "replace",
        "change",
        "your",
        "here",
        "with",
        "token",
        "secret",
        "password",
        "value",
        "insert",
        "enter",
        "key",
        "api",
        "the",
        "put",
    ] {
        rest = rest.replace(word, "");
    }
    let rest: String = rest.chars().filter(|c| *c != 'x').collect();
    vigil_core::strength::estimate_bits(&rest) < 40.0
}

fn check_name(n: &str) -> Result<(), PlanError> {
    if n.is_empty()
        || !n
            .bytes()
            .all(|b| b == b'_' || b.is_ascii_alphanumeric() || b == b'.')
    {
        return Err(PlanError::BadName(n.to_owned()));
    }
    Ok(())
}

struct Work {
    files: Vec<(EnvFile, Document, Vec<Edit>)>,
}

impl Work {
    fn new(loaded: &[Loaded]) -> Self {
        Work {
            files: loaded
                .iter()
                .map(|l| (l.file.clone(), l.doc.clone(), Vec::new()))
                .collect(),
        }
    }

    fn set(&mut self, i: usize, key: &str, value: &str, what: EditKind) -> Result<(), PlanError> {
        let (file, doc, edits) = &mut self.files[i];
        if is_sops(doc) {
            return Err(PlanError::Sops {
                path: file.path.display().to_string(),
            });
        }
        // Every binding of the key changes (python-dotenv reads the last, dotenvy the first):
        // each is an edit of its own, so the preview shows them all.
        let bound: Vec<(usize, Option<Secret<String>>)> = doc
            .bindings()
            .iter()
            .filter(|b| b.key == key)
            .map(|b| (b.line, b.value.clone().map(Secret::new)))
            .collect();
        let err = |error: crate::ParseError| PlanError::Edit {
            path: file.path.display().to_string(),
            error,
        };
        if bound.is_empty() {
            edits.push(Edit {
                key: key.to_owned(),
                line: 0,
                old: None,
                new: Secret::new(value.to_owned()),
                what,
            });
            return Ok(());
        }
        doc.set(key, value).map_err(err)?;
        for (line, old) in bound {
            edits.push(Edit {
                key: key.to_owned(),
                line,
                old,
                new: Secret::new(value.to_owned()),
                what,
            });
        }
        Ok(())
    }

    /// A template's `key` becomes the placeholder, unless it already is one (or is unset).
    fn placeholder(
        &mut self,
        i: usize,
        doc: &Document,
        key: &str,
        section: &EnvSection,
    ) -> Result<(), PlanError> {
        match doc.get(key) {
            Some(v) if !is_placeholder(v, section.placeholder()) => {
                self.set(i, key, section.placeholder(), EditKind::Placeholder)
            }
            _ => Ok(()),
        }
    }

    fn insert(
        &mut self,
        i: usize,
        anchor: &str,
        key: &str,
        value: &str,
        what: EditKind,
    ) -> Result<(), PlanError> {
        let (file, doc, edits) = &mut self.files[i];
        if is_sops(doc) {
            return Err(PlanError::Sops {
                path: file.path.display().to_string(),
            });
        }
        doc.insert_after(anchor, key, value)
            .map_err(|error| PlanError::Edit {
                path: file.path.display().to_string(),
                error,
            })?;
        edits.push(Edit {
            key: key.to_owned(),
            line: 0,
            old: None,
            new: Secret::new(value.to_owned()),
            what,
        });
        Ok(())
    }

    fn into_plan(
        self,
        loaded: &[Loaded],
        values: BTreeMap<String, BTreeMap<String, Secret<String>>>,
    ) -> Plan {
        let mut plan = Plan {
            values,
            ..Plan::default()
        };
        for ((file, doc, edits), l) in self.files.into_iter().zip(loaded) {
            for name in plan.values.keys() {
                if !file.template && doc.get(name).is_some() {
                    plan.holders
                        .entry(name.clone())
                        .or_default()
                        .push(file.path.display().to_string());
                }
            }
            let new = doc.to_string();
            let old = l.doc.to_string();
            if new != old {
                plan.files.push(FilePlan {
                    file,
                    old,
                    new,
                    edits,
                });
            }
        }
        plan
    }
}

/// Plans a rotation of single tokens: each gets one new value from `gen` per environment.
pub fn plan_single(
    loaded: &[Loaded],
    tokens: &[String],
    section: &EnvSection,
    gen: &mut dyn FnMut(&str) -> Result<String, GenError>,
) -> Result<Plan, PlanError> {
    let mut work = Work::new(loaded);
    let mut values = BTreeMap::new();
    for t in tokens {
        check_name(t)?;
        let envs = environments_of(loaded, t);
        if envs.is_empty() {
            return Err(PlanError::NotFound(t.clone()));
        }
        refuse_sealed(loaded, t)?;
        let new = new_values(envs, t, gen)?;
        for (i, l) in loaded.iter().enumerate() {
            match l.doc.get(t) {
                None => {}
                Some(_) if !l.file.template => {
                    let v = &new[&l.file.environment];
                    work.set(i, t, v.expose_secret(), EditKind::Rotated)?
                }
                Some(_) => work.placeholder(i, &l.doc, t, section)?,
            }
        }
        values.insert(t.clone(), new);
    }
    Ok(work.into_plan(loaded, values))
}

/// The two variables of dual secret `name`: `[env.dual.<name>]`, else `<name>_DEFAULT` /
/// `<name>_BACKUP` when the files use those, else `<name>` / `<name>_PREVIOUS`.
pub fn dual_names(name: &str, loaded: &[Loaded], section: &EnvSection) -> DualNames {
    if let Some(d) = section.dual.get(name) {
        return d.clone();
    }
    let default = format!("{name}_DEFAULT");
    if loaded.iter().any(|l| l.doc.get(&default).is_some()) {
        return DualNames {
            current: default,
            previous: format!("{name}_BACKUP"),
        };
    }
    DualNames {
        current: name.to_owned(),
        previous: format!("{name}_PREVIOUS"),
    }
}

/// Plans a dual rotation: current → previous, then a new value (one per environment) → current.
pub fn plan_dual(
    loaded: &[Loaded],
    names: &[String],
    section: &EnvSection,
    gen: &mut dyn FnMut(&str) -> Result<String, GenError>,
) -> Result<Plan, PlanError> {
    let mut work = Work::new(loaded);
    let mut values = BTreeMap::new();
    for n in names {
        check_name(n)?;
        let d = dual_names(n, loaded, section);
        let envs = environments_of(loaded, &d.current);
        if envs.is_empty() {
            return Err(PlanError::NotFound(d.current));
        }
        refuse_sealed(loaded, &d.current)?;
        refuse_sealed(loaded, &d.previous)?;
        let new = new_values(envs, &d.current, gen)?;
        for (i, l) in loaded.iter().enumerate() {
            let Some(cur) = l.doc.get(&d.current) else {
                continue;
            };
            if l.file.template {
                for key in [&d.current, &d.previous] {
                    work.placeholder(i, &l.doc, key, section)?;
                }
                continue;
            }
            // A well-known default (`changeme`) proves nothing: rotating it away must stop its
            // tokens at once, so it is never kept as the previous value.
            let (cur, kind) = if vigil_core::strength::is_known_default(cur) {
                (String::new(), EditKind::DefaultNotKept)
            } else {
                (cur.to_owned(), EditKind::MovedToPrevious)
            };
            if l.doc.get(&d.previous).is_some()
                || l.doc.bindings().iter().any(|b| b.key == d.previous)
            {
                work.set(i, &d.previous, &cur, kind)?;
            } else {
                work.insert(i, &d.current, &d.previous, &cur, kind)?;
            }
            let v = &new[&l.file.environment];
            work.set(i, &d.current, v.expose_secret(), EditKind::Rotated)?;
        }
        values.insert(d.current.clone(), new);
    }
    Ok(work.into_plan(loaded, values))
}

/// Plans retiring dual secrets: the previous variable is emptied wherever it is set.
pub fn plan_retire(
    loaded: &[Loaded],
    names: &[String],
    section: &EnvSection,
) -> Result<Plan, PlanError> {
    let mut work = Work::new(loaded);
    for n in names {
        check_name(n)?;
        let d = dual_names(n, loaded, section);
        let mut any = false;
        for (i, l) in loaded.iter().enumerate() {
            if l.doc.get(&d.previous).is_some_and(|v| !v.is_empty()) {
                any = true;
                work.set(i, &d.previous, "", EditKind::Retired)?;
            }
        }
        if !any {
            return Err(PlanError::NotFound(format!(
                "{} (nothing to retire)",
                d.previous
            )));
        }
    }
    Ok(work.into_plan(loaded, BTreeMap::new()))
}

/// What a user asked to rotate (`vigil env rotate`'s flags).
#[derive(Debug, Clone, Default)]
pub struct RotationRequest {
    /// `--tokens` (empty: `[env] tokens`).
    pub tokens: Vec<String>,
    /// `--dual`: dual secrets whose current value moves to the previous variable.
    pub dual: Vec<String>,
    /// `--length` (else `[env] length`, else each kind's default).
    pub length: Option<usize>,
    /// `--charset` (else `[env] charset`, else alphanumerics).
    pub charset: Option<String>,
    /// `--environment`: rotate only in these environments (empty: all). The other
    /// environments keep their value; the ledger keeps their hashes and the older date.
    pub environments: Vec<String>,
    /// `--allow-provider-keys`: rotate names that look issued by a provider anyway.
    pub allow_provider_keys: bool,
}

/// The shape of the new values of one name: what a dry run announces.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The variable.
    pub name: String,
    /// Characters per value.
    pub length: usize,
    /// Entropy per value.
    pub bits: f64,
    /// The environments, each getting its own value.
    pub environments: Vec<String>,
}

/// A planned rotation: the plan, and the shape of its new values.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// Which bytes of which files change.
    pub plan: Plan,
    /// One per rotated name.
    pub shapes: Vec<Shape>,
}

/// A rotation that cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Nothing names what to rotate.
    #[error("say what to rotate: --tokens A,B, --dual NAME, or [env] tokens in vigil.toml")]
    NothingToRotate,
    /// A length or alphabet (flag or `[env]`) that cannot be used.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The plan itself.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `--environment` names an environment no file is in.
    #[error("--environment {name}: no env file is in that environment (the project's: {known})")]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// The project's environments, comma-separated.
        known: String,
    },
}

impl crate::Project {
    /// Plans a rotation: `--dual` names, else `--tokens`, else `[env] tokens`, one new value
    /// per environment from the generator the flags and `[env]` describe. Every new value is
    /// registered for log redaction before anything prints.
    pub fn plan_rotation(&self, req: &RotationRequest) -> Result<Rotation, RotateError> {
        let section = &self.settings.section;
        let generator = self
            .settings
            .generator(req.length, req.charset.as_deref())?;
        let mut gen = |name: &str| generator.value(name);
        let known: BTreeSet<&str> = self
            .files
            .iter()
            .filter(|l| !l.file.template)
            .map(|l| l.file.environment.as_str())
            .collect();
        for name in &req.environments {
            if !known.contains(name.as_str()) {
                return Err(RotateError::UnknownEnvironment {
                    name: name.clone(),
                    known: known.iter().copied().collect::<Vec<_>>().join(", "),
                });
            }
        }
        let chosen: Vec<Loaded> = self
            .files
            .iter()
            .filter(|l| {
                req.environments.is_empty() || req.environments.contains(&l.file.environment)
            })
            .cloned()
            .collect();
        let (plan, names) = if !req.dual.is_empty() {
            for n in &req.dual {
                check_name(n)?;
                let d = dual_names(n, &chosen, section);
                self.refuse_unrotatable(&chosen, &d.current, req)?;
            }
            let plan = plan_dual(&chosen, &req.dual, section, &mut gen)?;
            let names = req
                .dual
                .iter()
                .map(|n| dual_names(n, &chosen, section).current)
                .collect::<Vec<_>>();
            (plan, names)
        } else {
            let tokens = if req.tokens.is_empty() {
                section.tokens.clone().unwrap_or_default()
            } else {
                req.tokens.clone()
            };
            if tokens.is_empty() {
                return Err(RotateError::NothingToRotate);
            }
            for t in &tokens {
                check_name(t)?;
                self.refuse_unrotatable(&chosen, t, req)?;
            }
            (plan_single(&chosen, &tokens, section, &mut gen)?, tokens)
        };
        let mut plan = plan;
        if !req.environments.is_empty() {
            for n in names {
                let all = environments_of(&self.files, &n);
                if all.iter().any(|e| !req.environments.contains(e)) {
                    plan.partial.insert(n);
                }
            }
        }
        self.refuse_hard_links(&plan)?;
        for v in plan.values.values().flat_map(|m| m.values()) {
            vigil_core::redact::register(v.expose_secret());
        }
        let shapes = plan
            .values
            .iter()
            .map(|(name, per_env)| {
                let (length, n) = generator.spec(name);
                Shape {
                    name: name.clone(),
                    length,
                    bits: crate::generate::bits(n, length),
                    environments: per_env.keys().cloned().collect(),
                }
            })
            .collect();
        Ok(Rotation { plan, shapes })
    }

    /// Plans retiring dual secrets: their previous variable is emptied wherever it is set.
    pub fn plan_retire(&self, names: &[String]) -> Result<Plan, PlanError> {
        let plan = plan_retire(&self.files, names, &self.settings.section)?;
        self.refuse_hard_links(&plan)?;
        Ok(plan)
    }

    /// Refuses, naming the file and line, to give `name` a random value where that would break
    /// it: a reference to a secret kept elsewhere, a name that holds no secret, a credential a
    /// provider issues (unless the request allows those).
    fn refuse_unrotatable(
        &self,
        loaded: &[Loaded],
        name: &str,
        req: &RotationRequest,
    ) -> Result<(), PlanError> {
        let section = &self.settings.section;
        let declared = section.tokens.iter().flatten().any(|t| t == name)
            || section
                .dual
                .values()
                .any(|d| d.current == name || d.previous == name);
        for l in loaded.iter().filter(|l| !l.file.template) {
            for b in l.doc.bindings().iter().filter(|b| b.key == name) {
                let path = l.file.path.display().to_string();
                let value = b.value.as_deref().unwrap_or("");
                if let Some(scheme) = reference_scheme(value) {
                    return Err(PlanError::Reference {
                        path,
                        line: b.line,
                        key: name.to_owned(),
                        scheme,
                    });
                }
                if !declared && !crate::check::is_secret_name(name) {
                    return Err(PlanError::NotSecret {
                        path,
                        line: b.line,
                        key: name.to_owned(),
                    });
                }
                if !req.allow_provider_keys {
                    if let Some(why) = provider_issued(name, value) {
                        return Err(PlanError::Provider {
                            path,
                            line: b.line,
                            key: name.to_owned(),
                            why,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses a plan that would replace a file with several hard links (the other names would
    /// keep the old value), in a dry run as in a rotation.
    fn refuse_hard_links(&self, plan: &Plan) -> Result<(), PlanError> {
        use std::os::unix::fs::MetadataExt as _;
        for f in &plan.files {
            if let Ok(m) = std::fs::metadata(self.root().join(&f.file.path)) {
                if m.nlink() > 1 {
                    return Err(PlanError::HardLinked {
                        path: f.file.path.display().to_string(),
                        links: m.nlink(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn marker_words_make_placeholders_only_around_weak_text() {
        for p in [
            "",
            "change-me",
            "CHANGEME",
            "replace_with_your_token",
            "xxxxxxxxxxxxxxxx",
            "sk-xxxxxxxxxxxxxxxxxxxx",
            "your-api-key",
            "put-your-key-here",
            "example-key-123",
            "<token>",
            "${TOKEN}",
        ] {
            assert!(
                is_placeholder(p, "change-me"),
                "{p:?} should be a placeholder"
            );
        }
        // Random values that happen to hold a marker are secrets (found by proptest).
        let random = ["0a00AaaaaA0AaaaAAXXX", "q8Zr2LmN4vXxx7TpK9wB3sYd"];
        for s in random {
            let s = s.replace("Aaaaa", "kP3qZ").replace("AaaaAA", "r7WmT2");
            assert!(!is_placeholder(&s, "change-me"), "{s:?} is a secret");
        }
    }
}
