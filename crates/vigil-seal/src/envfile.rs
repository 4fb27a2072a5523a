//! Sealed values in `.env` files. `seal_keys` replaces chosen values with sealed ones through
//! `vigil-env`'s lossless `Document` (only those value tokens change; quotes, `export`, comments
//! and line endings stay), each bound to the file's environment and its key. `open_all` gives
//! every binding's value with the sealed ones decrypted in memory, for `vigil seal run`.

use crate::context::Context;
use crate::error::{Result, SealError};
use crate::plaintext::Plaintext;
use crate::ring::{KeyRing, VAR_PREFIX};
use crate::value::{self, Fingerprint};
use std::path::Path;
use vigil_core::ciphertext::{sealed as ciphertext, Sealed};
use vigil_env::{Binding, Document, EnvFile};

/// The environment a file's values are bound to, from its name (`.env.production` →
/// `production`, `.env`, `.env.bot` → `default`), as `vigil env`'s built-in environment model
/// places it. A name the model cannot place is refused (give `--environment`), never guessed.
pub fn environment_of(path: &Path) -> Result<String> {
    let name = path.file_name().map(Path::new).unwrap_or(path);
    EnvFile::placed(name.to_path_buf())
        .map(|f| f.environment)
        .map_err(|e| {
            env_err(
                &path.display().to_string(),
                0,
                format!("{e}; or give --environment"),
            )
        })
}

/// One value sealed.
#[derive(Clone, Debug)]
pub struct SealedKey {
    /// The key.
    pub key: String,
    /// Its (first) line.
    pub line: usize,
    /// The new sealed text (not secret).
    pub sealed: String,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
}

/// A key left as it was, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The key.
    pub key: String,
    /// Its line.
    pub line: usize,
    /// Why (`already sealed`, `empty`, `already encrypted (SOPS)`).
    pub reason: String,
}

/// The outcome of sealing keys in one file, in memory.
#[derive(Debug)]
pub struct EnvPlan {
    /// The file's text before.
    pub old: String,
    /// The file's text after (equal to `old` when nothing was sealed).
    pub new: String,
    /// The values sealed.
    pub sealed: Vec<SealedKey>,
    /// The keys left alone.
    pub skipped: Vec<Skipped>,
}

fn env_err(path: &str, line: usize, message: impl Into<String>) -> SealError {
    SealError::Env {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// Parses an env file's text; errors name file and line.
pub fn parse(path: &str, text: &str) -> Result<Document> {
    Document::parse(text).map_err(|e| env_err(path, e.line, e.message))
}

/// Refuses a file that holds the seal keys themselves: the key must not live beside the values
/// it protects.
pub fn refuse_key_material(path: &str, doc: &Document) -> Result<()> {
    if let Some(b) = doc.bindings().iter().find(|b| {
        b.key.starts_with(VAR_PREFIX) && b.value.as_deref().is_some_and(|v| !v.is_empty())
    }) {
        return Err(env_err(
            path,
            b.line,
            format!(
                "{} is set in this file: keep seal keys out of the file whose values they protect",
                b.key
            ),
        ));
    }
    Ok(())
}

/// The one value of `key` in `doc` (its bindings must agree), with its first binding.
fn single<'a>(path: &str, doc: &'a Document, key: &str) -> Result<Option<(&'a Binding, &'a str)>> {
    let all: Vec<&Binding> = doc.bindings().iter().filter(|b| b.key == key).collect();
    let Some(first) = all.first() else {
        return Err(env_err(path, 0, format!("{key} is not in this file")));
    };
    let with_value: Vec<&&Binding> = all.iter().filter(|b| b.value.is_some()).collect();
    let Some(v) = with_value.first().and_then(|b| b.value.as_deref()) else {
        return Ok(None);
    };
    if let Some(b) = with_value.iter().find(|b| b.value.as_deref() != Some(v)) {
        return Err(env_err(
            path,
            b.line,
            format!("{key} is set again here with another value (first on line {}); make them agree first", first.line),
        ));
    }
    Ok(Some((first, v)))
}

/// Seals the values of `keys` in an env file's text, bound to `environment`, the key, and
/// `extra`.
pub fn seal_keys(
    ring: &KeyRing,
    path: &str,
    text: &str,
    environment: &str,
    keys: &[String],
    extra: &Context,
) -> Result<EnvPlan> {
    let mut doc = parse(path, text)?;
    refuse_key_material(path, &doc)?;
    let mut plan = EnvPlan {
        old: text.to_owned(),
        new: String::new(),
        sealed: Vec::new(),
        skipped: Vec::new(),
    };
    for key in keys {
        if key.starts_with(VAR_PREFIX) {
            return Err(env_err(
                path,
                0,
                format!("`{key}`: seal keys are not sealed into env files"),
            ));
        }
        let Some((b, v)) = single(path, &doc, key)? else {
            plan.skipped.push(Skipped {
                key: key.clone(),
                line: doc
                    .bindings()
                    .iter()
                    .find(|b| &b.key == key)
                    .map_or(0, |b| b.line),
                reason: "no value".into(),
            });
            continue;
        };
        let line = b.line;
        let skip = |reason: String| Skipped {
            key: key.clone(),
            line,
            reason,
        };
        if v.is_empty() {
            plan.skipped.push(skip("empty".into()));
            continue;
        }
        match ciphertext(v) {
            Some(Sealed::Vigil) if value::is_sealed(v) => {
                plan.skipped.push(skip("already sealed".into()));
                continue;
            }
            Some(Sealed::Vigil) => {
                return Err(env_err(
                    path,
                    line,
                    format!("{key} starts like a sealed value but is malformed"),
                ));
            }
            Some(other) => {
                plan.skipped
                    .push(skip(format!("already encrypted ({})", other.name())));
                continue;
            }
            None => {}
        }
        let ctx = Context::for_env(environment, key, extra)?;
        let (text, fp) = value::seal_with_fingerprint(ring, &ctx, v.as_bytes())?;
        doc.set(key, &text)
            .map_err(|e| env_err(path, e.line, e.message))?;
        plan.sealed.push(SealedKey {
            key: key.clone(),
            line,
            sealed: text,
            fingerprint: fp,
        });
    }
    plan.new = doc.to_string();
    Ok(plan)
}

/// Every binding's value in file order (a later binding of a key wins when applied in order),
/// with sealed values decrypted. A sealed value that does not open is an error naming the file,
/// line and key; other ciphertext (Fernet, SOPS, dotenvx) is passed as written.
pub fn open_all(
    ring: &KeyRing,
    path: &str,
    text: &str,
    environment: &str,
    extra: &Context,
) -> Result<Vec<(String, Plaintext)>> {
    let doc = parse(path, text)?;
    refuse_key_material(path, &doc)?;
    let mut out = Vec::new();
    for b in doc.bindings() {
        let Some(v) = &b.value else { continue };
        if b.key.starts_with(VAR_PREFIX) {
            continue;
        }
        let p = if v.trim_start().starts_with("vseal:") {
            let ctx = Context::for_env(environment, &b.key, extra)?;
            value::open(ring, &ctx, v)
                .map_err(|e| env_err(path, b.line, format!("`{}`: {e}", b.key)))?
        } else {
            Plaintext::from(v.as_str())
        };
        out.push((b.key.clone(), p));
    }
    Ok(out)
}

/// One file of [`seal_files`]: its name as given, its environment, and its plan.
#[derive(Debug)]
pub struct FilePlan {
    /// The path as given.
    pub path: std::path::PathBuf,
    /// The environment its values are bound to.
    pub environment: String,
    /// What changes.
    pub plan: EnvPlan,
}

/// Seals `keys` in every file (see [`seal_keys`]); with `write`, under the project lock at
/// `root`, after finishing or undoing an interrupted transaction, the changed files and the
/// fingerprint index are committed as one `vigil-env` transaction. Returns every file's plan.
pub fn seal_files(
    ring: &KeyRing,
    root: &Path,
    files: &[std::path::PathBuf],
    keys: &[String],
    environment: Option<&str>,
    extra: &Context,
    write: bool,
) -> Result<Vec<FilePlan>> {
    let _lock = if write {
        let l = vigil_env::txn::lock(root)?;
        vigil_env::txn::recover(root)?;
        Some(l)
    } else {
        None
    };
    let (mut index, index_old) = crate::index::Index::load(root)?;
    let mut out = Vec::new();
    let mut changes = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let text = std::fs::read_to_string(f).map_err(|e| SealError::io(f, e))?;
        let env = match environment {
            Some(e) => e.to_owned(),
            None => environment_of(f)?,
        };
        let plan = seal_keys(ring, &shown, &text, &env, keys, extra)?;
        for s in &plan.sealed {
            index.insert(&s.sealed, s.fingerprint.clone());
        }
        if plan.new != plan.old {
            changes.push(vigil_env::txn::Change {
                // Absolute, so the journal means the same file whatever directory recovers it.
                path: std::fs::canonicalize(f).map_err(|e| SealError::io(f, e))?,
                old: Some(plan.old.clone().into_bytes()),
                new: plan.new.clone().into_bytes(),
            });
        }
        out.push(FilePlan {
            path: f.clone(),
            environment: env,
            plan,
        });
    }
    if write && !changes.is_empty() {
        let new_index = index.to_bytes();
        if index_old.as_deref() != Some(&new_index[..]) {
            changes.push(vigil_env::txn::Change {
                path: crate::index::Index::path(root),
                old: index_old,
                new: new_index,
            });
        }
        vigil_env::txn::commit(root, &changes, false)?;
    }
    Ok(out)
}

/// Where a leaked plaintext is among the sealed values of env files: `file:line KEY` for each
/// value whose fingerprint in the index at `root` matches the plaintext's under the same key.
/// Nothing is decrypted.
pub fn find(
    ring: &KeyRing,
    root: &Path,
    files: &[std::path::PathBuf],
    plaintext: &[u8],
) -> Result<Vec<String>> {
    let (index, _) = crate::index::Index::load(root)?;
    let mut hits = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let text = std::fs::read_to_string(f).map_err(|e| SealError::io(f, e))?;
        for b in parse(&shown, &text)?.bindings() {
            let Some(fp) = b.value.as_deref().and_then(|v| index.get(v)) else {
                continue;
            };
            if value::fingerprint(ring, &fp.kid, plaintext).is_ok_and(|mine| &mine == fp) {
                hits.push(format!("{shown}:{} {}", b.line, b.key));
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MasterKey;

    fn ring() -> KeyRing {
        KeyRing::new(vec![("k1".into(), MasterKey::generate().unwrap())]).unwrap()
    }

    #[test]
    fn seals_in_place_keeping_every_other_byte() {
        let r = ring();
        let text = "# bot\r\nexport A='alpha-1' # keep\r\nB=\"beta 2\"\r\nC=plain\r\nE=\r\nF=${A}";
        let keys: Vec<String> = ["A", "B", "E"].iter().map(|s| s.to_string()).collect();
        let p = seal_keys(
            &r,
            ".env.production",
            text,
            "production",
            &keys,
            &Context::new(),
        )
        .unwrap();
        assert_eq!(p.sealed.len(), 2);
        assert_eq!(p.skipped[0].reason, "empty");
        let a = &p.sealed[0].sealed;
        let b = &p.sealed[1].sealed;
        assert_eq!(
            p.new,
            format!("# bot\r\nexport A='{a}' # keep\r\nB=\"{b}\"\r\nC=plain\r\nE=\r\nF=${{A}}")
        );
        let opened =
            open_all(&r, ".env.production", &p.new, "production", &Context::new()).unwrap();
        let get = |k: &str| {
            opened
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str().unwrap().to_owned())
        };
        assert_eq!(get("A").as_deref(), Some("alpha-1"));
        assert_eq!(get("B").as_deref(), Some("beta 2"));
        assert_eq!(get("F").as_deref(), Some("${A}"));
        // Sealing again changes nothing.
        let again = seal_keys(
            &r,
            ".env.production",
            &p.new,
            "production",
            &keys,
            &Context::new(),
        )
        .unwrap();
        assert_eq!(again.new, p.new);
        assert!(again.skipped.iter().any(|s| s.reason == "already sealed"));
    }

    #[test]
    fn values_are_bound_to_environment_and_key() {
        let r = ring();
        let p = seal_keys(
            &r,
            ".env",
            "A=one\nB=two\n",
            "default",
            &["A".into(), "B".into()],
            &Context::new(),
        )
        .unwrap();
        let a = p.sealed[0].sealed.clone();
        // Another environment.
        let e = open_all(&r, ".env.staging", &p.new, "staging", &Context::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(".env.staging:1: `A`: does not decrypt"),
            "{e}"
        );
        // Another key.
        let moved = format!("B={a}\n");
        let e = open_all(&r, ".env", &moved, "default", &Context::new()).unwrap_err();
        assert!(
            e.to_string().starts_with(".env:1: `B`: does not decrypt"),
            "{e}"
        );
    }

    #[test]
    fn refusals() {
        let r = ring();
        let k = |s: &str| vec![s.to_owned()];
        assert!(
            seal_keys(&r, ".env", "A=1\n", "default", &k("Z"), &Context::new())
                .unwrap_err()
                .to_string()
                .contains("Z is not in this file")
        );
        let e = seal_keys(
            &r,
            ".env",
            "A=1\nA=2\n",
            "default",
            &k("A"),
            &Context::new(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with(".env:2:"), "{e}");
        let e = seal_keys(
            &r,
            ".env",
            "VIGIL_SEAL_KEY=abc\nA=1\n",
            "default",
            &k("A"),
            &Context::new(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(".env:1: VIGIL_SEAL_KEY is set"),
            "{e}"
        );
        assert_eq!(
            environment_of(Path::new("deploy/.env.production")).unwrap(),
            "production"
        );
    }
}
