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
}

impl EditKind {
    /// How a preview says it.
    pub fn as_str(self) -> &'static str {
        match self {
            EditKind::Rotated => "rotated",
            EditKind::MovedToPrevious => "moved to previous",
            EditKind::Placeholder => "placeholder",
            EditKind::Retired => "retired",
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
            let cur = cur.to_owned();
            if l.doc.get(&d.previous).is_some()
                || l.doc.bindings().iter().any(|b| b.key == d.previous)
            {
                work.set(i, &d.previous, &cur, EditKind::MovedToPrevious)?;
            } else {
                work.insert(i, &d.current, &d.previous, &cur, EditKind::MovedToPrevious)?;
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
        let plan = if !req.dual.is_empty() {
            plan_dual(&self.files, &req.dual, section, &mut gen)?
        } else {
            let tokens = if req.tokens.is_empty() {
                section.tokens.clone().unwrap_or_default()
            } else {
                req.tokens.clone()
            };
            if tokens.is_empty() {
                return Err(RotateError::NothingToRotate);
            }
            plan_single(&self.files, &tokens, section, &mut gen)?
        };
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
        plan_retire(&self.files, names, &self.settings.section)
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
