//! Re-encrypting every value under the primary key without ever locking anyone out. A store is
//! rotated in one SQLite transaction (all rows or none); env files, with the fingerprint index,
//! go through `vigil-env`'s journalled transaction (all files or none, finished or undone by the
//! next run). The old keys stay in the ring throughout, so after a crash at any step every value
//! is readable, old or new. At the end the key ids no value uses any more are reported: no
//! value of the stores rotated, and no sealed value the project's index records in any file
//! (rotated here or not). Stores not named cannot be known, and the report says so.

use crate::context::Context;
use crate::envfile;
use crate::error::{Result, SealError};
use crate::fault::step;
use crate::index::Index;
use crate::project::{Placed, Project};
use crate::ring::KeyRing;
use crate::store::{db_err, index_put, text_of, Store};
use crate::value;
use rusqlite::{params, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::PathBuf;
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
    /// Key ids (or passphrase headers) some value still uses, with where (a store's path, or
    /// `file:line KEY`): the stores and files rotated, and every value the index records.
    pub in_use: BTreeMap<String, Vec<String>>,
    /// Key ids of the ring (and `passphrase`) that none of those uses any more.
    pub unused: Vec<String>,
    /// The fingerprint index consulted, when the project has one.
    pub index: Option<PathBuf>,
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
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let user: String = r.get(0).map_err(&e)?;
            let name: String = r.get(1).map_err(&e)?;
            let v = text_of(r.get_ref(2).map_err(&e)?)
                .ok()
                .flatten()
                .ok_or_else(|| SealError::Store {
                    path: path.display().to_string(),
                    message: format!(
                        "user `{user}`, secret `{name}`: the value is not a sealed value's text"
                    ),
                })?;
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
/// the file changes (and the index) for one `txn::commit`. Values under the primary key that
/// the index does not know are recorded (decrypted once for their fingerprint). A key the index
/// records as sealed that holds a plaintext now is refused unless allowed by name (then its
/// record goes); records whose value is gone from the file go too.
pub fn plan_env(
    ring: &KeyRing,
    project: &Project,
    files: &[Placed],
    extra: &Context,
    allow_plaintext: &[String],
) -> Result<(Vec<txn::Change>, Counts)> {
    let root = project.root();
    let (mut index, index_old) = Index::load(root)?;
    let mut changes = Vec::new();
    let mut counts = Counts::default();
    for f in files {
        let shown = f.path.display().to_string();
        let (old, mut doc) = envfile::load(&f.path)?;
        envfile::refuse_key_material(&shown, &doc)?;
        let env = f.environment.as_str();
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
                if !index.has(&v, &f.rel, &key) {
                    // Sealed before the index knew it: record it now (decrypting once).
                    let ctx = Context::for_env(env, &key, extra)?;
                    let p = value::open(ring, &ctx, &v).map_err(at)?;
                    index.insert(
                        &v,
                        value::fingerprint(ring, field, p.as_bytes())?,
                        &f.rel,
                        &key,
                    );
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
            let ctx = Context::for_env(env, &key, extra)?;
            let p = value::open(ring, &ctx, &v).map_err(at)?;
            let (new, fp) = value::seal_with_fingerprint(ring, &ctx, p.as_bytes())?;
            doc.set(&key, &new).map_err(|e| SealError::Env {
                path: shown.clone(),
                line: e.line,
                message: e.message,
            })?;
            index.insert(&new, fp, &f.rel, &key);
            counts.rotated += 1;
            done.push(key);
        }
        // What the index recorded for this file against what it holds now.
        let recorded: Vec<String> = index
            .sealed_keys(&f.rel)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for key in recorded {
            let last = doc
                .bindings()
                .iter()
                .rev()
                .find(|b| b.key == key && b.value.is_some());
            match last {
                Some(b)
                    if !b
                        .value
                        .as_deref()
                        .is_some_and(|v| v.trim_start().starts_with("vseal:")) =>
                {
                    if !allow_plaintext.contains(&key) {
                        return Err(SealError::Env {
                            path: shown.clone(),
                            line: b.line,
                            message: format!("{key} was sealed (recorded in {}) and holds a plaintext now: changed by someone who could not seal it; refused. Seal it again (`vigil seal env {shown} --keys {key} --write`), or pass --allow-plaintext {key} to keep it plaintext and forget the record", Index::path(root).display()),
                        });
                    }
                    index.forget(&f.rel, &key);
                }
                Some(_) => {}
                None => index.forget(&f.rel, &key),
            }
        }
        let new = doc.to_string();
        if new != old {
            changes.push(txn::Change {
                path: root.join(&f.rel),
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

/// The key ids (or passphrase headers) the sealed values of env files use, with where.
pub fn env_kids(files: &[Placed]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files {
        let (_, doc) = envfile::load(&f.path)?;
        for b in doc.bindings() {
            if let Some(v) = &b.value {
                if let Ok(h) = value::header_of(v) {
                    out.entry(h.to_owned()).or_default().push(format!(
                        "{}:{} {}",
                        f.path.display(),
                        b.line,
                        b.key
                    ));
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
    /// Env files, placed in the project.
    pub env_files: Vec<Placed>,
    /// Further context fields the env values were sealed with.
    pub extra: Context,
    /// Keys recorded as sealed that may be plaintext now (their records are forgotten).
    pub allow_plaintext: Vec<String>,
}

/// Rotates stores and env files under the primary key. `project` holds `.vigil/` (the env lock,
/// journal and fingerprint index; required with env files); the caller has taken no lock. Which
/// key ids are still in use is told from the stores rotated, the env files rotated, and every
/// sealed value the project's index records (in any file, rotated here or not), so a key that
/// a file not named here still needs is never called unused.
pub fn rotate(ring: &KeyRing, project: Option<&Project>, targets: &Targets) -> Result<Report> {
    let (stores, env_files) = (&targets.stores, &targets.env_files);
    let mut report = Report::default();
    let _lock = match (project, env_files.is_empty()) {
        (_, true) => None,
        (Some(p), false) => {
            let l = txn::lock(p.root())?;
            report.recovered = Some(txn::recover(p.root())?);
            Some(l)
        }
        (None, false) => {
            return Err(SealError::Project {
                path: env_files[0].path.display().to_string(),
                message: "env files are rotated within their project".into(),
            })
        }
    };
    step();
    let mut opened = Vec::new();
    for p in stores {
        let mut s = Store::open(p, crate::store::Mode::Existing)?;
        let c = rotate_store(ring, &mut s)?;
        report.stores.push((p.clone(), c));
        opened.push(s);
    }
    if let (Some(project), false) = (project, env_files.is_empty()) {
        let (changes, counts) = plan_env(
            ring,
            project,
            env_files,
            &targets.extra,
            &targets.allow_plaintext,
        )?;
        report.env = counts;
        if !changes.is_empty() {
            step();
            txn::commit(project.root(), &changes, false)?;
            step();
        }
    }
    let mut use_at = |kid: String, wher: String| {
        let v = report.in_use.entry(kid).or_default();
        if !v.contains(&wher) {
            v.push(wher);
        }
    };
    for s in &opened {
        for k in s.kids_in_use()? {
            use_at(k, s.path().display().to_string());
        }
    }
    for (k, places) in env_kids(env_files)? {
        for p in places {
            use_at(k.clone(), p);
        }
    }
    if let Some(project) = project {
        if let Some((index, _)) = Index::load_existing(project.root())? {
            for (k, places) in index.uses(project.root())? {
                for p in places {
                    use_at(k.clone(), p);
                }
            }
            report.index = Some(Index::path(project.root()));
        }
    }
    let primary = ring.key_ids().into_iter().next();
    report.unused = ring
        .key_ids()
        .into_iter()
        .filter(|k| Some(k) != primary.as_ref() && !report.in_use.contains_key(k))
        .collect();
    if ring.has_passphrase()
        && primary.is_some()
        && !report
            .in_use
            .keys()
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
        std::fs::write(dir.path().join("vigil.toml"), "").unwrap();
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
        let project = Project::of(None, &env).unwrap();
        let targets = Targets {
            stores: vec![db.clone()],
            env_files: project.place_all(std::slice::from_ref(&env), None).unwrap(),
            ..Targets::default()
        };
        let r = rotate(&ring, Some(&project), &targets).unwrap();
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
        let r = rotate(&ring, Some(&project), &targets).unwrap();
        assert_eq!(r.stores[0].1.rotated + r.env.rotated, 0);
    }

    #[test]
    fn a_value_copied_to_a_second_service_file_keeps_its_key_in_use_until_both_are_rotated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vigil.toml"), "").unwrap();
        let k1 = MasterKey::generate().unwrap();
        let old = KeyRing::new(vec![("k1".into(), k1.clone())]).unwrap();
        let ring = KeyRing::new(vec![
            ("k2".into(), MasterKey::generate().unwrap()),
            ("k1".into(), k1),
        ])
        .unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "A=shared-value-1\n").unwrap();
        let project = Project::of(None, &env).unwrap();
        let placed = project.place_all(std::slice::from_ref(&env), None).unwrap();
        envfile::seal_files(
            &old,
            &project,
            &placed,
            &["A".into()],
            &Context::new(),
            true,
        )
        .unwrap();
        // `.env.bot` is a service of the same (default) environment: the copy is valid there.
        let bot = dir.path().join(".env.bot");
        std::fs::copy(&env, &bot).unwrap();
        let targets = Targets {
            env_files: project.place_all(std::slice::from_ref(&bot), None).unwrap(),
            ..Targets::default()
        };
        let r = rotate(&ring, Some(&project), &targets).unwrap();
        assert_eq!(r.env.rotated, 1);
        assert_eq!(
            r.in_use.get("k1").map(Vec::as_slice),
            Some(&[".env:1 A".to_owned()][..])
        );
        assert!(r.unused.is_empty(), "{:?}", r.unused);
        let targets = Targets {
            env_files: project.place_all(&[env, bot], None).unwrap(),
            ..Targets::default()
        };
        assert_eq!(
            rotate(&ring, Some(&project), &targets).unwrap().unused,
            ["k1"]
        );
    }
}
