//! Converting a column of an application's table between Fernet tokens and sealed values, in
//! place and in one transaction. Each sealed value is bound to the store id, the table, the
//! column and the row's context columns (e.g. `user_id`), so a value copied to another row no
//! longer decrypts, which Fernet could not promise. The column is recorded in the store, so
//! `vigil seal store get/put --table` and `rotate` know it.
//!
//! The context columns must pick one row: checked over every row whose context is not NULL,
//! whatever its value (a row with a NULL value today may get one tomorrow, and two rows with
//! one context would then share it). A dry run reads, checks and decrypts everything and
//! changes nothing, not even the journal mode.

use crate::error::{Result, SealError};
use crate::fault::step;
use crate::fernet::Fernet;
use crate::ring::KeyRing;
use crate::store::{check_ident, db_err, index_put, text_of, Column, Store};
use crate::value;
use rusqlite::{params, TransactionBehavior};

/// Which way to convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Fernet tokens become sealed values.
    FromFernet,
    /// Sealed values become Fernet tokens again (and the column is forgotten).
    ToFernet,
}

/// What a migration did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Values converted.
    pub converted: usize,
    /// Values already in the target form.
    pub already: usize,
    /// NULL cells, left alone.
    pub null: usize,
}

/// Converts `table.column`, binding each value to the `context` columns of its row. With
/// `dry_run`, `store` may be opened [`crate::store::Mode::ReadOnly`]: everything is read,
/// checked and decrypted, nothing is written, and the report says what would be converted.
#[allow(clippy::too_many_arguments)]
pub fn migrate(
    store: &mut Store,
    ring: &KeyRing,
    fernet: &Fernet,
    table: &str,
    column: &str,
    context: &[String],
    direction: Direction,
    dry_run: bool,
) -> Result<Report> {
    check_ident("--table", table)?;
    check_ident("--column", column)?;
    if context.is_empty() {
        return Err(SealError::Context(
            "--context-from: name the column(s) each value belongs to, e.g. user_id".into(),
        ));
    }
    for c in context {
        check_ident("--context-from", c)?;
        if c == column {
            return Err(SealError::Context(
                "--context-from cannot be the converted column itself".into(),
            ));
        }
    }
    let path = store.path().to_owned();
    let e = db_err(&path);
    let store_err = |m: String| SealError::Store {
        path: path.display().to_string(),
        message: m,
    };
    let cols: Vec<String> = {
        let mut st = store
            .conn
            .prepare(&format!("PRAGMA table_info(\"{table}\")"))
            .map_err(&e)?;
        let r = st.query_map([], |r| r.get::<_, String>(1)).map_err(&e)?;
        r.collect::<std::result::Result<_, _>>().map_err(&e)?
    };
    if cols.is_empty() {
        return Err(store_err(format!("no table {table}")));
    }
    for c in context.iter().chain([&column.to_owned()]) {
        if !cols.contains(c) {
            return Err(store_err(format!("{table} has no column {c}")));
        }
    }
    let col = Column {
        table: table.to_owned(),
        column: column.to_owned(),
        context: context.to_vec(),
    };
    let registered = store
        .columns()?
        .into_iter()
        .find(|c| c.table == table && c.column == column);
    match (&registered, direction) {
        (Some(r), _) if r.context != col.context => {
            return Err(store_err(format!(
                "{table}.{column} is recorded with context {}; give --context-from {}",
                r.context.join(","),
                r.context.join(",")
            )))
        }
        (None, Direction::ToFernet) => {
            return Err(store_err(format!(
                "{table}.{column} holds no sealed values (nothing to convert back)"
            )))
        }
        _ => {}
    }
    if !dry_run {
        store.share_passphrase_salt(ring)?;
    }
    let store_id = store.id().to_owned();
    let key_cols: Vec<String> = context
        .iter()
        .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
        .collect();
    // Reads and checks under the write lock, so nothing changes between plan and update (a dry
    // run reads in a deferred transaction: a consistent snapshot, no lock held for writing).
    let behavior = if dry_run {
        TransactionBehavior::Deferred
    } else {
        TransactionBehavior::Immediate
    };
    let tx = store.conn.transaction_with_behavior(behavior).map_err(&e)?;
    let not_null: Vec<String> = key_cols
        .iter()
        .map(|c| format!("{c} IS NOT NULL"))
        .collect();
    let dupes: i64 = tx
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM \"{table}\" WHERE {} GROUP BY {} HAVING COUNT(*) > 1)",
                not_null.join(" AND "),
                key_cols.join(", ")
            ),
            [],
            |r| r.get(0),
        )
        .map_err(&e)?;
    if dupes > 0 {
        return Err(store_err(format!(
            "{} does not pick one row of {table} ({dupes} value(s) of it shared by several rows, counting rows whose {column} is NULL): a value could move between those rows unnoticed, and `store get` could not tell them apart; add columns to --context-from",
            context.join(",")
        )));
    }
    let mut rows: Vec<(Vec<Option<String>>, Option<String>)> = Vec::new();
    {
        let mut st = tx
            .prepare(&format!(
                "SELECT \"{column}\", {} FROM \"{table}\"",
                key_cols.join(", ")
            ))
            .map_err(&e)?;
        let mut q = st.query([]).map_err(&e)?;
        while let Some(r) = q.next().map_err(&e)? {
            let v = text_of(r.get_ref(0).map_err(&e)?)
                .map_err(|m| store_err(format!("{table}.{column}: {m}")))?;
            let mut key = Vec::new();
            for i in 0..context.len() {
                key.push(r.get::<_, Option<String>>(i + 1).map_err(&e)?);
            }
            rows.push((key, v));
        }
    }
    let mut report = Report::default();
    let this = Column {
        table: table.to_owned(),
        column: column.to_owned(),
        context: context.to_vec(),
    };
    let ctx_of = |key: &[String]| crate::store::column_context(&store_id, &this, key);
    let mut updates: Vec<(Vec<String>, String, Option<value::Fingerprint>)> = Vec::new();
    for (key, v) in rows {
        let Some(v) = v else {
            report.null += 1;
            continue;
        };
        let shown: Vec<String> = context
            .iter()
            .zip(&key)
            .map(|(c, k)| format!("{c}={}", k.as_deref().unwrap_or("NULL")))
            .collect();
        let at = |err: SealError| store_err(format!("{table} row ({}): {err}", shown.join(",")));
        let key: Vec<String> = match key.into_iter().collect::<Option<Vec<_>>>() {
            Some(k) => k,
            None => return Err(at(SealError::Context("a context column is NULL".into()))),
        };
        let is_vseal = v.trim_start().starts_with("vseal:");
        match direction {
            Direction::FromFernet if is_vseal => report.already += 1,
            Direction::FromFernet => {
                let p = fernet.decrypt(&v, None).map_err(at)?;
                if dry_run {
                    updates.push((key, String::new(), None));
                } else {
                    let (new, fp) =
                        value::seal_with_fingerprint(ring, &ctx_of(&key)?, p.as_bytes())?;
                    updates.push((key, new, Some(fp)));
                }
            }
            Direction::ToFernet if is_vseal => {
                let p = value::open(ring, &ctx_of(&key)?, &v).map_err(at)?;
                if dry_run {
                    updates.push((key, String::new(), None));
                } else {
                    let token = fernet.encrypt(p.as_bytes())?;
                    updates.push((key, token, None));
                }
            }
            Direction::ToFernet if crate::fernet::is_token(&v) => report.already += 1,
            Direction::ToFernet => {
                return Err(at(SealError::Format(
                    "neither a sealed value nor a Fernet token".into(),
                )))
            }
        }
    }
    if dry_run {
        report.converted = updates.len();
        return Ok(report);
    }
    if direction == Direction::FromFernet {
        tx.execute(
            "INSERT OR REPLACE INTO vigil_seal_columns (tbl, col, context) VALUES (?1, ?2, ?3)",
            params![table, column, context.join(",")],
        )
        .map_err(&e)?;
    }
    let cond: Vec<String> = context
        .iter()
        .enumerate()
        .map(|(i, c)| format!("CAST(\"{c}\" AS TEXT) = ?{}", i + 2))
        .collect();
    let sql = format!(
        "UPDATE \"{table}\" SET \"{column}\" = ?1 WHERE \"{column}\" IS NOT NULL AND {}",
        cond.join(" AND ")
    );
    step();
    for (key, new, fp) in &updates {
        let mut args: Vec<&str> = vec![new];
        args.extend(key.iter().map(String::as_str));
        let n = tx
            .execute(&sql, rusqlite::params_from_iter(args))
            .map_err(&e)?;
        if n != 1 {
            return Err(store_err(format!(
                "{table}: {n} rows changed where one was meant; nothing was converted"
            )));
        }
        if let Some(fp) = fp {
            index_put(&tx, new, fp).map_err(&e)?;
        }
        report.converted += 1;
        step();
    }
    if direction == Direction::ToFernet {
        tx.execute(
            "DELETE FROM vigil_seal_columns WHERE tbl = ?1 AND col = ?2",
            params![table, column],
        )
        .map_err(&e)?;
    }
    tx.commit().map_err(&e)?;
    step();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fernet::FernetKey;
    use crate::key::MasterKey;
    use crate::store::Mode;

    #[test]
    fn a_fernet_column_converts_both_ways_bound_to_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let ring = KeyRing::new(vec![("k1".into(), MasterKey::generate().unwrap())]).unwrap();
        let f = Fernet::new(vec![FernetKey::generate().unwrap()]).unwrap();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (uid INTEGER, v TEXT)")
            .unwrap();
        for (uid, v) in [(1, "one-1"), (2, "two-2")] {
            c.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                params![uid, f.encrypt(v.as_bytes()).unwrap()],
            )
            .unwrap();
        }
        c.execute("INSERT INTO t VALUES (3, NULL)", []).unwrap();
        drop(c);
        let mut s = Store::open(&path, Mode::Create).unwrap();
        let ctx = vec!["uid".to_owned()];
        let r = migrate(
            &mut s,
            &ring,
            &f,
            "t",
            "v",
            &ctx,
            Direction::FromFernet,
            false,
        )
        .unwrap();
        assert_eq!(
            r,
            Report {
                converted: 2,
                already: 0,
                null: 1
            }
        );
        let col = s.column("t", "v").unwrap();
        assert_eq!(
            s.get_in(&ring, &col, &["2".into()])
                .unwrap()
                .unwrap()
                .as_bytes(),
            b"two-2"
        );
        assert_eq!(
            s.find(&ring, &[b"one-1".to_vec()]).unwrap(),
            ["table=t column=v uid=1"]
        );
        // Idempotent.
        let again = migrate(
            &mut s,
            &ring,
            &f,
            "t",
            "v",
            &ctx,
            Direction::FromFernet,
            false,
        )
        .unwrap();
        assert_eq!(again.already, 2);
        let back = migrate(
            &mut s,
            &ring,
            &f,
            "t",
            "v",
            &ctx,
            Direction::ToFernet,
            false,
        )
        .unwrap();
        assert_eq!(back.converted, 2);
        assert!(s.column("t", "v").is_err());
        let v: String = s
            .conn
            .query_row("SELECT v FROM t WHERE uid = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(f.decrypt(&v, None).unwrap().as_bytes(), b"one-1");
        // A context column that does not pick one row is refused.
        s.conn
            .execute("INSERT INTO t VALUES (1, ?1)", [f.encrypt(b"dup").unwrap()])
            .unwrap();
        let e = migrate(
            &mut s,
            &ring,
            &f,
            "t",
            "v",
            &ctx,
            Direction::FromFernet,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not pick one row"), "{e}");
        // Also when the second row's value is NULL: it could get one later.
        s.conn
            .execute(
                "DELETE FROM t WHERE v IS NOT NULL AND uid = 1 AND rowid > 2",
                [],
            )
            .unwrap();
        s.conn
            .execute("INSERT INTO t VALUES (2, NULL)", [])
            .unwrap();
        let e = migrate(
            &mut s,
            &ring,
            &f,
            "t",
            "v",
            &ctx,
            Direction::FromFernet,
            true,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("counting rows whose v is NULL"),
            "{e}"
        );
    }
}
