//! Sealed values in `.env` files. `seal_keys` replaces chosen values with sealed ones through
//! `vigil-env`'s lossless `Document` (only those value tokens change; quotes, `export`, comments
//! and line endings stay), each bound to the file's environment and its key. `open_all` gives
//! every binding's value with the sealed ones decrypted in memory, for `vigil seal run`. Files
//! are read through vigil-env's one reader (`vigil_env::envfile`: bounded, UTF-8 without NUL,
//! errors naming file and line) and placed by [`crate::project`].

use crate::context::Context;
use crate::error::{Result, SealError};
use crate::index::Index;
use crate::plaintext::Plaintext;
use crate::project::{Placed, Project};
use crate::ring::{KeyRing, VAR_PREFIX};
use crate::value::{self, Fingerprint};
use std::path::Path;
use vigil_core::ciphertext::{sealed as ciphertext, Sealed};
use vigil_env::{Binding, Document};

/// Reads and parses an env file (vigil-env's reader); the text is the document's, byte for byte.
pub fn load(path: &Path) -> Result<(String, Document)> {
    let doc = vigil_env::envfile::load(path)?;
    Ok((doc.to_string(), doc))
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

/// Refuses a file that holds the seal keys themselves, set or commented out (a commented key is
/// still a key on disk): the key must not live beside the values it protects.
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
    let text = doc.to_string();
    for (i, line) in text.lines().enumerate() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let c = comment.trim_start_matches(['#', ' ', '\t']);
        let c = c.strip_prefix("export ").map(str::trim_start).unwrap_or(c);
        let Some((name, value)) = c.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim().trim_matches(['"', '\'']);
        if name.starts_with(VAR_PREFIX)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !value.is_empty()
        {
            return Err(env_err(
                path,
                i + 1,
                format!("{name} is in a comment on this line: a commented-out seal key is still a key on disk beside the values it protects; delete the line"),
            ));
        }
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
/// `extra`. A value no environment can carry (a NUL byte) is refused at its line.
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
        if v.contains('\0') {
            return Err(env_err(
                path,
                line,
                format!("{key}: the value holds a NUL byte, which no environment variable can carry; refused"),
            ));
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
            None if v.trim_start().starts_with("vseal:") => {
                return Err(env_err(
                    path,
                    line,
                    format!("{key} starts with `vseal:` but is not a sealed value (a plaintext behind a prefix?); refused"),
                ));
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

/// One binding's value, with sealed values decrypted.
#[derive(Debug)]
pub struct Opened {
    /// The key.
    pub key: String,
    /// Its line.
    pub line: usize,
    /// The value (decrypted when it was sealed).
    pub value: Plaintext,
    /// Whether it was a sealed value.
    pub sealed: bool,
}

/// Every binding's value in file order (a later binding of a key wins when applied in order),
/// with sealed values decrypted. A sealed value that does not open is an error naming the file,
/// line and key; other ciphertext (Fernet, SOPS, dotenvx) is passed as written.
pub fn open_all(
    ring: &KeyRing,
    path: &str,
    doc: &Document,
    environment: &str,
    extra: &Context,
) -> Result<Vec<Opened>> {
    refuse_key_material(path, doc)?;
    let mut out = Vec::new();
    for b in doc.bindings() {
        let Some(v) = &b.value else { continue };
        if b.key.starts_with(VAR_PREFIX) {
            continue;
        }
        let sealed = v.trim_start().starts_with("vseal:");
        let p = if sealed {
            let ctx = Context::for_env(environment, &b.key, extra)?;
            value::open(ring, &ctx, v)
                .map_err(|e| env_err(path, b.line, format!("`{}`: {e}", b.key)))?
        } else {
            Plaintext::from(v.as_str())
        };
        out.push(Opened {
            key: b.key.clone(),
            line: b.line,
            value: p,
            sealed,
        });
    }
    Ok(out)
}

/// One file of [`seal_files`]: where it is, and its plan.
#[derive(Debug)]
pub struct FilePlan {
    /// The file, placed.
    pub placed: Placed,
    /// What changes.
    pub plan: EnvPlan,
}

/// Seals `keys` in every file (see [`seal_keys`]), all placed in `project`; with `write`,
/// under the project lock, after finishing or undoing an interrupted transaction, the changed
/// files and the fingerprint index are committed as one `vigil-env` transaction. Returns every
/// file's plan.
pub fn seal_files(
    ring: &KeyRing,
    project: &Project,
    files: &[Placed],
    keys: &[String],
    extra: &Context,
    write: bool,
) -> Result<Vec<FilePlan>> {
    let root = project.root();
    let _lock = if write {
        let l = vigil_env::txn::lock(root)?;
        vigil_env::txn::recover(root)?;
        Some(l)
    } else {
        None
    };
    let (mut index, index_old) = Index::load(root)?;
    let mut out = Vec::new();
    let mut changes = Vec::new();
    for f in files {
        let shown = f.path.display().to_string();
        let (text, _) = load(&f.path)?;
        let plan = seal_keys(ring, &shown, &text, &f.environment, keys, extra)?;
        for s in &plan.sealed {
            index.insert(&s.sealed, s.fingerprint.clone(), &f.rel, &s.key);
        }
        if plan.new != plan.old {
            changes.push(vigil_env::txn::Change {
                path: root.join(&f.rel),
                old: Some(plan.old.clone().into_bytes()),
                new: plan.new.clone().into_bytes(),
            });
        }
        out.push(FilePlan {
            placed: f.clone(),
            plan,
        });
    }
    if write && !changes.is_empty() {
        let new_index = index.to_bytes();
        if index_old.as_deref() != Some(&new_index[..]) {
            changes.push(vigil_env::txn::Change {
                path: Index::path(root),
                old: index_old,
                new: new_index,
            });
        }
        vigil_env::txn::commit(root, &changes, false)?;
    }
    Ok(out)
}

/// Where a leaked secret is among the sealed values of env files: `file:line KEY` for each value
/// whose fingerprint in the project's index matches one of the `candidates` (the leaked text's
/// token-like pieces, see [`crate::leak::candidates`]) under the same key. Nothing is decrypted.
/// A missing index, or a sealed value the index does not know, is an error: "not found" would
/// be a guess.
pub fn find<C: AsRef<[u8]>>(
    ring: &KeyRing,
    project: &Project,
    files: &[Placed],
    candidates: &[C],
) -> Result<Vec<String>> {
    let root = project.root();
    let Some((index, _)) = Index::load_existing(root)? else {
        return Err(SealError::Project {
            path: Index::path(root).display().to_string(),
            message: "no fingerprint index: nothing sealed with `vigil seal env --write` in this project yet, or the index was deleted; `vigil seal rotate --env-file FILE` records the values of FILE again".into(),
        });
    };
    let mut mine: std::collections::HashMap<String, std::collections::HashSet<String>> =
        Default::default();
    let mut hits = Vec::new();
    for f in files {
        let shown = f.path.display().to_string();
        let (_, doc) = load(&f.path)?;
        for b in doc.bindings() {
            let Some(v) = b.value.as_deref() else {
                continue;
            };
            if !v.trim_start().starts_with("vseal:") {
                continue;
            }
            let Some(r) = index.get(v) else {
                return Err(env_err(
                    &shown,
                    b.line,
                    format!("`{}`: a sealed value the fingerprint index does not know (sealed elsewhere, or before the index existed), so it cannot be matched; `vigil seal rotate --env-file {shown}` records it", b.key),
                ));
            };
            let kid = &r.fingerprint.kid;
            if !mine.contains_key(kid) {
                let mut set = std::collections::HashSet::new();
                for c in candidates {
                    let fp = value::fingerprint(ring, kid, c.as_ref()).map_err(|err| {
                        env_err(
                            &shown,
                            b.line,
                            format!("`{}` cannot be matched: {err}", b.key),
                        )
                    })?;
                    set.insert(fp.hex);
                }
                mine.insert(kid.clone(), set);
            }
            if mine[kid].contains(&r.fingerprint.hex) {
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
        let doc = Document::parse(&p.new).unwrap();
        let opened = open_all(&r, ".env.production", &doc, "production", &Context::new()).unwrap();
        let get = |k: &str| {
            opened
                .iter()
                .rev()
                .find(|o| o.key == k)
                .map(|o| o.value.as_str().unwrap().to_owned())
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
        let doc = Document::parse(&p.new).unwrap();
        let e = open_all(&r, ".env.staging", &doc, "staging", &Context::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(".env.staging:1: `A`: does not decrypt"),
            "{e}"
        );
        // Another key.
        let moved = format!("B={a}\n");
        let doc = Document::parse(&moved).unwrap();
        let e = open_all(&r, ".env", &doc, "default", &Context::new()).unwrap_err();
        assert!(
            e.to_string().starts_with(".env:1: `B`: does not decrypt"),
            "{e}"
        );
    }

    #[test]
    fn refusals() {
        let r = ring();
        let k = |s: &str| vec![s.to_owned()];
        assert_eq!(
            seal_keys(&r, ".env", "A=1\n", "default", &k("Z"), &Context::new())
                .unwrap_err()
                .to_string(),
            ".env: Z is not in this file"
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
        // A commented-out key is key material too.
        for text in [
            "#VIGIL_SEAL_KEYS=k1:abc\nA=1\n",
            "A=1\n  # export VIGIL_SEAL_PASSPHRASE='x y z'\n",
        ] {
            let e = seal_keys(&r, ".env", text, "default", &k("A"), &Context::new()).unwrap_err();
            assert!(e.to_string().contains("in a comment on this line"), "{e}");
        }
        assert!(seal_keys(
            &r,
            ".env",
            "# VIGIL_SEAL_KEYS=\nA=1\n",
            "default",
            &k("A"),
            &Context::new()
        )
        .is_ok());
        // `vseal:` before a plaintext is refused, not left alone as if sealed.
        let e = seal_keys(
            &r,
            ".env",
            "A=vseal:v1:k1:sk-or-v1-0123456789abcdef\n",
            "default",
            &k("A"),
            &Context::new(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with(".env:1:"), "{e}");
    }
}
