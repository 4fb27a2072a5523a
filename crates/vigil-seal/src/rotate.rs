//! Re-encrypting every value under the primary key without ever locking anyone out. A store is
//! rotated in one SQLite transaction (all rows or none); env files, with the fingerprint index,
//! go through `vigil-env`'s journalled transaction (all files or none, finished or undone by the
//! next run). The old keys stay in the ring throughout, so after a crash at any step every value
//! is readable, old or new. At the end the key ids no value uses any more are reported.

use crate::context::Context;
use crate::envfile::{self, environment_of};
use crate::error::{Result, SealError};
use crate::fault::step;
use crate::index::Index;
use crate::ring::KeyRing;
use crate::store::{db_err, index_put, Store};
use crate::value;
use rusqlite::{params, TransactionBehavior};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use vigil_env::txn;

/// What rotating one store did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Values seen.
    pub values: usize,
    /// Values re-encrypted.
    pub rotated: usize,
}

/// What a rotation did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Per store path.
    pub stores: Vec<(PathBuf, Counts)>,
    /// Over all env files.
    pub env: Counts,
    /// What `txn::recover` did first.
    pub recovered: Option<txn::Recovery>,
    /// Key ids (and `passphrase`) some value still uses, among the places rotated.
    pub in_use: BTreeSet<String>,
    /// Key ids of the ring that no value in these places uses any more: removable once every
    /// store and file that used them has been rotated.
    pub unused: Vec<String>,
}

/// Re-encrypts every value of a store that is not under the primary key, in one transaction.
pub fn rotate_store(ring: &KeyRing, store: &mut Store) -> Result<Counts> {
    store.share_passphrase_salt(ring)?;
    let path = store.path().to_owned();
    let e = db_err(&path);
    let columns = store.columns()?;
    // Plan first (reads only), so a value that does not open stops everything before a write.
    let mut own = Vec::new();
    let mut counts = Counts::default();
    {
        let mut st = store
            .conn
            .prepare("SELECT user, name, value FROM vigil_seal_secrets ORDER BY user, name")
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&e)?;
        for r in rows {
            let (user, name, v) = r.map_err(&e)?;
            counts.values += 1;
            if ring.is_primary(value::header_of(&v)?) {
                continue;
            }
            let ctx = store.context(&user, &name)?;
            let p = value::open(ring, &ctx, &v).map_err(|err| SealError::Store {
                path: path.display().to_string(),
                message: format!("user `{user}`, secret `{name}`: {err}"),
            })?;
            let (new, fp) = value::seal_with_fingerprint(ring, &ctx, p.as_bytes())?;
            own.push((user, name, v, new, fp));
        }
    }
    let mut cells = Vec::new();
    for col in &columns {
        store.each_cell(col, |row, v| {
            counts.values += 1;
            if ring.is_primary(value::header_of(v)?) {
                return Ok(());
            }
            let ctx = store.row_context(col, row)?;
            let p = value::open(ring, &ctx, v).map_err(|err| SealError::Store {
                path: path.display().to_string(),
                message: format!(
                    "{}.{} row ({}): {err}",
                    col.table,
                    col.column,
                    row.join(",")
                ),
            })?;
            let (new, fp) = value::seal_with_fingerprint(ring, &ctx, p.as_bytes())?;
            cells.push((col.clone(), row.to_vec(), v.to_owned(), new, fp));
            Ok(())
        })?;
    }
    counts.rotated = own.len() + cells.len();
    if counts.rotated == 0 {
        return Ok(counts);
    }
    step();
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&e)?;
    for (user, name, old, new, fp) in &own {
        // Only if unchanged since planning: a concurrent writer's newer value wins.
        tx.execute(
            "UPDATE vigil_seal_secrets SET value = ?4, kid = ?5, fingerprint = ?6
             WHERE user = ?1 AND name = ?2 AND value = ?3",
            params![user, name, old, new, fp.kid, fp.hex],
        )
        .map_err(&e)?;
        step();
    }
    for (col, row, old, new, fp) in &cells {
        let cond: Vec<String> = col
            .context
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST(\"{c}\" AS TEXT) = ?{}", i + 3))
            .collect();
        let sql = format!(
            "UPDATE \"{}\" SET \"{}\" = ?1 WHERE CAST(\"{}\" AS TEXT) = ?2 AND {}",
            col.table,
            col.column,
            col.column,
            cond.join(" AND ")
        );
        let mut args: Vec<&str> = vec![new, old];
        args.extend(row.iter().map(String::as_str));
        tx.execute(&sql, rusqlite::params_from_iter(args))
            .map_err(&e)?;
        tx.execute(
            "DELETE FROM vigil_seal_index WHERE digest = ?1",
            [crate::store::digest(old)],
        )
        .map_err(&e)?;
        index_put(&tx, new, fp).map_err(&e)?;
        step();
    }
    tx.commit().map_err(&e)?;
    step();
    Ok(counts)
}

/// Plans the re-encryption of every sealed value of the env files not under the primary key:
/// the file changes (and the index) for one `txn::commit`. `environment` overrides the one each
/// file's name gives.
pub fn plan_env(
    ring: &KeyRing,
    root: &Path,
    files: &[PathBuf],
    environment: Option<&str>,
    extra: &Context,
) -> Result<(Vec<txn::Change>, Counts)> {
    let (mut index, index_old) = Index::load(root)?;
    let mut changes = Vec::new();
    let mut counts = Counts::default();
    for f in files {
        let shown = f.display().to_string();
        let old = std::fs::read_to_string(f).map_err(|e| SealError::io(f, e))?;
        let mut doc = envfile::parse(&shown, &old)?;
        envfile::refuse_key_material(&shown, &doc)?;
        let env = match environment {
            Some(e) => e.to_owned(),
            None => environment_of(f)?,
        };
        let mut done: Vec<String> = Vec::new();
        let bindings: Vec<(String, usize, String)> = doc
            .bindings()
            .iter()
            .filter_map(|b| Some((b.key.clone(), b.line, b.value.clone()?)))
            .filter(|(_, _, v)| v.trim_start().starts_with("vseal:"))
            .collect();
        for (key, line, v) in bindings {
            counts.values += 1;
            let at = |err: SealError| SealError::Env {
                path: shown.clone(),
                line,
                message: format!("`{key}`: {err}"),
            };
            let field = value::header_of(&v).map_err(at)?;
            if ring.is_primary(field) {
                if index.get(&v).is_none() {
                    // Sealed before the index existed: record it now (decrypting is needed once).
                    let ctx = Context::for_env(&env, &key, extra)?;
                    let p = value::open(ring, &ctx, &v).map_err(at)?;
                    index.insert(&v, value::fingerprint(ring, field, p.as_bytes())?);
                }
                continue;
            }
            if done.contains(&key) {
                continue;
            }
            if doc
                .bindings()
                .iter()
                .any(|b| b.key == key && b.value.as_deref() != Some(&v))
            {
                return Err(at(SealError::Format(
                    "the key is set more than once with different values; make them agree first"
                        .into(),
                )));
            }
            let ctx = Context::for_env(&env, &key, extra)?;
            let p = value::open(ring, &ctx, &v).map_err(at)?;
            let (new, fp) = value::seal_with_fingerprint(ring, &ctx, p.as_bytes())?;
            doc.set(&key, &new).map_err(|e| SealError::Env {
                path: shown.clone(),
                line: e.line,
                message: e.message,
            })?;
            index.remove(&v);
            index.insert(&new, fp);
            counts.rotated += 1;
            done.push(key);
        }
        let new = doc.to_string();
        if new != old {
            changes.push(txn::Change {
                // Absolute, so the journal means the same file whatever directory recovers it.
                path: std::fs::canonicalize(f).map_err(|e| SealError::io(f, e))?,
                old: Some(old.into_bytes()),
                new: new.into_bytes(),
            });
        }
    }
    let new_index = index.to_bytes();
    if index_old.as_deref() != Some(&new_index[..]) {
        changes.push(txn::Change {
            path: Index::path(root),
            old: index_old,
            new: new_index,
        });
    }
    Ok((changes, counts))
}

/// The key ids (or passphrase headers) the sealed values of env files use.
pub fn env_kids(files: &[PathBuf]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for f in files {
        let shown = f.display().to_string();
        let text = std::fs::read_to_string(f).map_err(|e| SealError::io(f, e))?;
        for b in envfile::parse(&shown, &text)?.bindings() {
            if let Some(v) = &b.value {
                if let Ok(h) = value::header_of(v) {
                    out.insert(h.to_owned());
                }
            }
        }
    }
    Ok(out)
}

/// What to rotate: stores, env files, and how the env values are bound.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    /// SQLite stores.
    pub stores: Vec<PathBuf>,
    /// Env files.
    pub env_files: Vec<PathBuf>,
    /// The environment the env values are bound to, when not the one each file's name gives.
    pub environment: Option<String>,
    /// Further context fields the env values were sealed with.
    pub extra: Context,
}

/// Rotates stores and env files under the primary key. `root` holds `.vigil/` (the env lock,
/// journal and fingerprint index); the caller has taken no lock.
pub fn rotate(ring: &KeyRing, root: &Path, targets: &Targets) -> Result<Report> {
    let (stores, env_files) = (&targets.stores, &targets.env_files);
    let mut report = Report::default();
    let _lock = if env_files.is_empty() {
        None
    } else {
        let l = txn::lock(root)?;
        report.recovered = Some(txn::recover(root)?);
        Some(l)
    };
    step();
    let mut opened = Vec::new();
    for p in stores {
        let mut s = Store::open(p, crate::store::Mode::Existing)?;
        let c = rotate_store(ring, &mut s)?;
        report.stores.push((p.clone(), c));
        opened.push(s);
    }
    if !env_files.is_empty() {
        let (changes, counts) = plan_env(
            ring,
            root,
            env_files,
            targets.environment.as_deref(),
            &targets.extra,
        )?;
        report.env = counts;
        if !changes.is_empty() {
            step();
            txn::commit(root, &changes, false)?;
            step();
        }
    }
    for s in &opened {
        report.in_use.extend(s.kids_in_use()?);
    }
    report.in_use.extend(env_kids(env_files)?);
    let primary = ring.key_ids().into_iter().next();
    report.unused = ring
        .key_ids()
        .into_iter()
        .filter(|k| Some(k) != primary.as_ref() && !report.in_use.contains(k))
        .collect();
    if ring.has_passphrase()
        && primary.is_some()
        && !report
            .in_use
            .iter()
            .any(|k| k.starts_with(crate::kdf::PREFIX))
    {
        report.unused.push("passphrase".into());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MasterKey;
    use crate::store::Mode;

    #[test]
    fn a_store_moves_to_the_primary_key_and_old_keys_are_reported_unused() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, k2) = (
            MasterKey::generate().unwrap(),
            MasterKey::generate().unwrap(),
        );
        let old = KeyRing::new(vec![("k1".into(), k1.clone())]).unwrap();
        let ring = KeyRing::new(vec![("k2".into(), k2), ("k1".into(), k1)]).unwrap();
        let db = dir.path().join("s.db");
        let mut s = Store::open(&db, Mode::Create).unwrap();
        s.put(&old, "alice", "key", b"a-value").unwrap();
        s.put(&ring, "bob", "key", b"b-value").unwrap();
        drop(s);
        let env = dir.path().join(".env.production");
        let plan = envfile::seal_keys(
            &old,
            "e",
            "A=1x\n",
            "production",
            &["A".into()],
            &Context::new(),
        )
        .unwrap();
        std::fs::write(&env, &plan.new).unwrap();
        let targets = Targets {
            stores: vec![db.clone()],
            env_files: vec![env.clone()],
            ..Targets::default()
        };
        let r = rotate(&ring, dir.path(), &targets).unwrap();
        assert_eq!(
            r.stores[0].1,
            Counts {
                values: 2,
                rotated: 1
            }
        );
        assert_eq!(
            r.env,
            Counts {
                values: 1,
                rotated: 1
            }
        );
        assert_eq!(r.unused, ["k1"]);
        let s = Store::open(&db, Mode::Existing).unwrap();
        assert!(s.list(None).unwrap().iter().all(|e| e.kid == "k2"));
        assert_eq!(
            s.get(&ring, "alice", "key").unwrap().unwrap().as_bytes(),
            b"a-value"
        );
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(text.starts_with("A=vseal:v1:k2:"), "{text}");
        // A second run has nothing to do.
        let r = rotate(&ring, dir.path(), &targets).unwrap();
        assert_eq!(r.stores[0].1.rotated + r.env.rotated, 0);
    }
}
