//! Tracked SQLite files: a database (or its WAL or rollback journal) committed to git carries
//! its rows into history for good ("SQLite database files containing user data should not be
//! committed"). Lists the git index with `gix`, recognises SQLite by its header, and opens each
//! committed database read-only (a private temporary copy of the staged blob, `immutable=1`) to
//! say whether it holds a seal store or user data.

use crate::error::{Result, SealError};
use gix::bstr::ByteSlice;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const WAL_MAGIC: [[u8; 4]; 2] = [[0x37, 0x7f, 0x06, 0x82], [0x37, 0x7f, 0x06, 0x83]];
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// What a tracked SQLite file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holds {
    /// A `vigil seal` store (with its number of secrets).
    SealStore(i64),
    /// Tables with rows: (table, rows).
    UserData(Vec<(String, i64)>),
    /// A write-ahead log or rollback journal: database pages, possibly with rows.
    Journal,
    /// Looks like SQLite but could not be read (reported: it may hold anything).
    Unreadable(String),
    /// Only empty tables (not reported).
    Empty,
}

/// One tracked SQLite file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// Path in the repository.
    pub path: String,
    /// What it holds.
    pub holds: Holds,
}

impl Tracked {
    /// Whether it should be reported (anything but an empty schema).
    pub fn reported(&self) -> bool {
        self.holds != Holds::Empty
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        match &self.holds {
            Holds::SealStore(n) => format!(
                "a vigil seal store ({n} secret(s), sealed but with user ids and names in clear)"
            ),
            Holds::UserData(t) => format!(
                "user data ({})",
                t.iter()
                    .map(|(n, r)| format!("{n}: {r} row(s)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Holds::Journal => "a SQLite write-ahead log or journal (database pages)".into(),
            Holds::Unreadable(why) => format!("a SQLite file that could not be read ({why})"),
            Holds::Empty => "an empty SQLite schema".into(),
        }
    }
}

/// The SQLite files git tracks under `path` (what is staged, as it would be committed).
pub fn tracked_databases(path: &Path) -> Result<Vec<Tracked>> {
    let err = |m: String| SealError::Store {
        path: path.display().to_string(),
        message: m,
    };
    let repo = gix::discover(path).map_err(|e| err(format!("not in a git repository ({e})")))?;
    let index = repo
        .open_index()
        .map_err(|e| err(format!("cannot read the git index: {e}")))?;
    let prefix = match (repo.workdir(), std::fs::canonicalize(path)) {
        (Some(w), Ok(p)) => std::fs::canonicalize(w)
            .ok()
            .and_then(|w| p.strip_prefix(&w).ok().map(Path::to_path_buf))
            .unwrap_or_default(),
        _ => Default::default(),
    };
    let prefix = prefix.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for entry in index.entries() {
        if entry.stage_raw() != 0 || !entry.mode.to_tree_entry_mode().is_some_and(|m| m.is_blob()) {
            continue;
        }
        let p = entry.path(&index).to_str_lossy().into_owned();
        let under = p.starts_with(&prefix) && p[prefix.len()..].starts_with('/');
        if !prefix.is_empty() && !under {
            continue;
        }
        let Ok(obj) = repo.find_object(entry.id) else {
            tracing::warn!(path = %p, "tracked blob unreadable; skipped");
            continue;
        };
        let data = &obj.data;
        let holds = if data.starts_with(SQLITE_MAGIC) {
            inspect(data)
        } else if data.len() >= 32 && WAL_MAGIC.iter().any(|m| data.starts_with(m))
            || data.starts_with(&JOURNAL_MAGIC)
        {
            Holds::Journal
        } else {
            continue;
        };
        out.push(Tracked { path: p, holds });
    }
    Ok(out)
}

/// What a database image holds, read from a private temporary copy.
pub fn inspect(bytes: &[u8]) -> Holds {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = std::env::temp_dir().join(format!(
        "vigil-seal-check-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes));
    let holds = match written {
        Ok(()) => read(&tmp).unwrap_or_else(|e| Holds::Unreadable(e.to_string())),
        Err(e) => Holds::Unreadable(e.to_string()),
    };
    let _ = std::fs::remove_file(&tmp);
    holds
}

fn read(path: &Path) -> rusqlite::Result<Holds> {
    let uri = format!("file:{}?mode=ro&immutable=1", path.display());
    let c = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let tables: Vec<String> = {
        let mut st = c.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let r = st.query_map([], |r| r.get(0))?;
        r.collect::<rusqlite::Result<_>>()?
    };
    if tables.iter().any(|t| t == crate::store::META) {
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM vigil_seal_secrets", [], |r| r.get(0))
            .unwrap_or(0);
        return Ok(Holds::SealStore(n));
    }
    let mut data = Vec::new();
    for t in tables {
        let n: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM \"{}\"", t.replace('"', "\"\"")),
            [],
            |r| r.get(0),
        )?;
        if n > 0 {
            data.push((t, n));
        }
    }
    Ok(if data.is_empty() {
        Holds::Empty
    } else {
        Holds::UserData(data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_tells_a_store_from_user_data_and_an_empty_schema() {
        let dir = tempfile::tempdir().unwrap();
        let db = |name: &str, sql: &str| {
            let p = dir.path().join(name);
            let c = Connection::open(&p).unwrap();
            c.execute_batch(sql).unwrap();
            drop(c);
            inspect(&std::fs::read(p).unwrap())
        };
        assert_eq!(
            db("a.db", "CREATE TABLE m (x); INSERT INTO m VALUES (1), (2);"),
            Holds::UserData(vec![("m".into(), 2)])
        );
        assert_eq!(db("b.db", "CREATE TABLE m (x);"), Holds::Empty);
        let ring = crate::KeyRing::new(vec![("k1".into(), crate::MasterKey::generate().unwrap())])
            .unwrap();
        let p = dir.path().join("s.db");
        let mut s = crate::Store::open(&p, crate::store::Mode::Create).unwrap();
        s.put(&ring, "u", "n", b"v").unwrap();
        drop(s);
        assert_eq!(inspect(&std::fs::read(&p).unwrap()), Holds::SealStore(1));
        assert!(matches!(
            inspect(b"SQLite format 3\0garbage"),
            Holds::Unreadable(_)
        ));
    }
}
