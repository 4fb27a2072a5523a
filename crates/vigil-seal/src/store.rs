//! The SQLite store for per-user secrets: one row per (user, name) holding a sealed value bound
//! to (store id, user, name), its key id and keyed fingerprint; never a plaintext. The file is
//! created `0600`, runs in WAL mode with `synchronous=FULL`, and every write is one `BEGIN
//! IMMEDIATE` transaction with a busy timeout, so several processes can write at once.
//!
//! A store also knows the columns of the application's own tables that `vigil seal migrate`
//! converted (`vigil_seal_columns`): their values are bound to (store id, table, column, and the
//! row's context columns), and the same calls read and write them.

use crate::context::{Context, Purpose};
use crate::error::{Result, SealError};
use crate::plaintext::Plaintext;
use crate::ring::KeyRing;
use crate::value::{self, Fingerprint};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The table of Vigil's own secrets.
pub const SECRETS: &str = "vigil_seal_secrets";
/// The table of the store's metadata (its id, the schema version).
pub const META: &str = "vigil_seal_meta";
/// The table listing migrated columns of application tables.
pub const COLUMNS: &str = "vigil_seal_columns";
/// The table of fingerprints of values in migrated columns, keyed by the value's SHA-256.
pub const INDEX: &str = "vigil_seal_index";
const SCHEMA_VERSION: &str = "1";
/// How long a writer waits for another one, in milliseconds.
pub const BUSY_TIMEOUT_MS: u64 = 30_000;
/// Longest user or secret name, in bytes.
pub const MAX_NAME: usize = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vigil_seal_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vigil_seal_secrets (
    user TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    kid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (user, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vigil_seal_secrets_fingerprint ON vigil_seal_secrets (fingerprint);
CREATE TABLE IF NOT EXISTS vigil_seal_columns (
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    context TEXT NOT NULL,
    PRIMARY KEY (tbl, col)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vigil_seal_index (
    digest TEXT PRIMARY KEY,
    kid TEXT NOT NULL,
    fingerprint TEXT NOT NULL
) WITHOUT ROWID;
";

/// Whether [`Store::open`] may create the file and its tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Create the file (`0600`) and the tables when missing.
    Create,
    /// The store must exist already.
    Existing,
    /// Read only: the file must exist; nothing is created or changed (not even the journal
    /// mode). The id is empty when the file is not a store yet (a dry run of `migrate`).
    ReadOnly,
}

/// One stored secret, without its value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The user.
    pub user: String,
    /// The secret's name.
    pub name: String,
    /// The key id (or passphrase header) it is sealed under, read from the sealed value's own
    /// header, which decryption authenticates (`malformed` for a value without one).
    pub kid: String,
    /// Its keyed fingerprint (hex), as recorded when it was written (not authenticated: a
    /// search aid).
    pub fingerprint: String,
    /// Last written, Unix seconds (not authenticated).
    pub updated: i64,
}

/// A migrated column of an application table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// The table.
    pub table: String,
    /// The column holding sealed values.
    pub column: String,
    /// The columns whose values (as text) each value is bound to, e.g. `user_id`.
    pub context: Vec<String>,
}

/// An open store.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    id: String,
    created: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("id", &self.id)
            .finish()
    }
}

/// A SQLite error as a store error naming the file.
pub(crate) fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> SealError + '_ {
    move |e| SealError::Store {
        path: path.display().to_string(),
        message: match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                "not a SQLite database".into()
            }
            _ => e.to_string(),
        },
    }
}

/// Checks a table or column name: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters (other names
/// are refused rather than quoted).
pub fn check_ident(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.to_ascii_lowercase().starts_with("sqlite_")
        && !name.starts_with("vigil_seal_");
    if ok {
        Ok(())
    } else {
        Err(SealError::Context(format!(
            "{what} `{}`: use a plain SQL name (letters, digits, _), not an internal table",
            name.escape_debug()
        )))
    }
}

/// Checks a `put` before anything is opened or created: the user and name, and the size of the
/// value (so a refused put never leaves a new store file behind).
pub fn check_put(user: &str, name: &str, plaintext: &[u8]) -> Result<()> {
    check_name("user", user)?;
    check_name("name", name)?;
    if plaintext.len() > crate::value::MAX_PLAINTEXT {
        return Err(SealError::TooLarge(plaintext.len()));
    }
    Ok(())
}

/// Removes a store file that [`Store::open`] created, with its `-wal` and `-shm` files (after a
/// failed first write: nothing of it is kept).
pub fn remove_new(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn check_name(what: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > MAX_NAME || v.chars().any(char::is_control) {
        return Err(SealError::Context(format!(
            "--{what}: 1 to {MAX_NAME} bytes without control characters"
        )));
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// SHA-256 of a sealed value, hex: the key of [`INDEX`].
pub(crate) fn digest(text: &str) -> String {
    vigil_env::txn::sha256(text.as_bytes())
}

impl Store {
    /// Opens (or, with [`Mode::Create`], creates) a store. Two processes opening a new store at
    /// once can meet SQLite's lock where its busy timeout does not wait (the switch to WAL of a
    /// file the other one is setting up): the open is tried again until the same timeout.
    pub fn open(path: &Path, mode: Mode) -> Result<Store> {
        // SQLite's own text for SQLITE_BUSY (`sqlite3_errstr`), as `db_err` passes it on.
        let busy = "database is locked";
        let deadline = std::time::Instant::now() + Duration::from_millis(BUSY_TIMEOUT_MS);
        loop {
            match Store::open_once(path, mode) {
                Err(SealError::Store { message, .. })
                    if message == busy && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, mode: Mode) -> Result<Store> {
        let e = db_err(path);
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Ok(m) => {
                if m.mode() & 0o077 != 0 && m.is_file() {
                    tracing::warn!(path = %path.display(), "the store is readable by others; chmod 600 it");
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if mode != Mode::Create {
                    return Err(SealError::Store {
                        path: path.display().to_string(),
                        message: "no such store".into(),
                    });
                }
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    vigil_core::fsx::create_private_dir_all(parent)
                        .map_err(|err| SealError::io(parent, err))?;
                }
                // 0600 from the first byte; SQLite gives its -wal and -shm files the same mode.
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                {
                    Ok(_) => created = true,
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(SealError::io(path, err)),
                }
            }
            Err(err) => return Err(SealError::io(path, err)),
        }
        let flags = if mode == Mode::ReadOnly {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(&e)?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(&e)?;
        if mode == Mode::ReadOnly {
            let mut store = Store {
                conn,
                path: path.to_owned(),
                id: String::new(),
                created,
            };
            store.id = store.meta("store_id")?.unwrap_or_default();
            return Ok(store);
        }
        let journal: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(&e)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(SealError::Store {
                path: path.display().to_string(),
                message: format!("cannot switch to WAL mode (journal_mode is {journal})"),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&e)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            id: String::new(),
            created,
        };
        store.id = match mode {
            Mode::Create => store.init()?,
            Mode::Existing | Mode::ReadOnly => store.meta("store_id")?.ok_or_else(|| SealError::Store {
                path: path.display().to_string(),
                message: format!("not a vigil seal store (no {META} table); `vigil seal store put` or `migrate` creates one"),
            })?,
        };
        if let Some(v) = store.meta("schema")? {
            if v != SCHEMA_VERSION {
                return Err(SealError::Store {
                    path: path.display().to_string(),
                    message: format!(
                        "store schema {v} is newer than this Vigil reads ({SCHEMA_VERSION})"
                    ),
                });
            }
        }
        Ok(store)
    }

    fn init(&mut self) -> Result<String> {
        let e = db_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&e)?;
        tx.execute_batch(SCHEMA).map_err(&e)?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|err| SealError::Store {
            path: self.path.display().to_string(),
            message: format!("the OS random source failed: {err}"),
        })?;
        tx.execute(
            "INSERT OR IGNORE INTO vigil_seal_meta (k, v) VALUES ('store_id', ?1), ('schema', ?2)",
            params![URL_SAFE_NO_PAD.encode(id), SCHEMA_VERSION],
        )
        .map_err(&e)?;
        let id: String = tx
            .query_row(
                "SELECT v FROM vigil_seal_meta WHERE k = 'store_id'",
                [],
                |r| r.get(0),
            )
            .map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(id)
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let e = db_err(&self.path);
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [META],
                |r| r.get(0),
            )
            .map_err(&e)?;
        if !exists {
            return Ok(None);
        }
        self.conn
            .query_row("SELECT v FROM vigil_seal_meta WHERE k = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&e)
    }

    /// The store's random id, part of every value's context.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this open created the file (see [`remove_new`]).
    pub fn created(&self) -> bool {
        self.created
    }

    /// For a ring with only a passphrase: use (or record) this store's salt, so every value
    /// in the store costs one Argon2id run, not one each.
    pub fn share_passphrase_salt(&self, ring: &KeyRing) -> Result<()> {
        if !ring.key_ids().is_empty() || !ring.has_passphrase() {
            return Ok(());
        }
        let e = db_err(&self.path);
        let mut fresh = [0u8; crate::kdf::SALT_LEN];
        getrandom::fill(&mut fresh).map_err(|err| SealError::Store {
            path: self.path.display().to_string(),
            message: format!("the OS random source failed: {err}"),
        })?;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO vigil_seal_meta (k, v) VALUES ('argon2_salt', ?1)",
                [URL_SAFE_NO_PAD.encode(fresh)],
            )
            .map_err(&e)?;
        if let Some(s) = self.meta("argon2_salt")? {
            if let Ok(salt) = URL_SAFE_NO_PAD.decode(s) {
                ring.use_passphrase_salt(&salt);
            }
        }
        Ok(())
    }

    /// The context of an own-table value.
    pub fn context(&self, user: &str, name: &str) -> Result<Context> {
        Context::for_store(&self.id, user, name)
    }

    /// Seals and stores a secret (replacing an older one of the same user and name).
    pub fn put(
        &mut self,
        ring: &KeyRing,
        user: &str,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Fingerprint> {
        check_name("user", user)?;
        check_name("name", name)?;
        self.share_passphrase_salt(ring)?;
        let ctx = self.context(user, name)?;
        let (sealed, fp) = value::seal_with_fingerprint(ring, &ctx, plaintext)?;
        let e = db_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&e)?;
        tx.execute(
            "INSERT INTO vigil_seal_secrets (user, name, value, kid, fingerprint, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (user, name) DO UPDATE SET value = excluded.value, kid = excluded.kid,
                 fingerprint = excluded.fingerprint, updated = excluded.updated",
            params![user, name, sealed, fp.kid, fp.hex, now()],
        )
        .map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(fp)
    }

    /// A stored secret, decrypted (`None` when there is none).
    pub fn get(&self, ring: &KeyRing, user: &str, name: &str) -> Result<Option<Plaintext>> {
        let e = db_err(&self.path);
        let v: Option<std::result::Result<Option<String>, String>> = self
            .conn
            .query_row(
                "SELECT value FROM vigil_seal_secrets WHERE user = ?1 AND name = ?2",
                params![user, name],
                |r| Ok(text_of(r.get_ref(0)?)),
            )
            .optional()
            .map_err(&e)?;
        let Some(v) = v else { return Ok(None) };
        let v = v.ok().flatten().ok_or_else(|| SealError::Store {
            path: self.path.display().to_string(),
            message: format!("user `{user}`, secret `{name}`: the stored value is not a sealed value's text (changed by hand?)"),
        })?;
        let ctx = self.context(user, name)?;
        value::open(ring, &ctx, &v).map(Some)
    }

    /// Every stored secret (of one user, when given), without values, sorted.
    pub fn list(&self, user: Option<&str>) -> Result<Vec<Entry>> {
        let e = db_err(&self.path);
        let mut st = self
            .conn
            .prepare(
                "SELECT user, name, value, fingerprint, updated FROM vigil_seal_secrets
                 WHERE ?1 IS NULL OR user = ?1 ORDER BY user, name",
            )
            .map_err(&e)?;
        let rows = st
            .query_map([user], |r| {
                let kid = text_of(r.get_ref(2)?)
                    .ok()
                    .flatten()
                    .and_then(|v| value::header_of(&v).ok().map(str::to_owned))
                    .unwrap_or_else(|| "malformed".into());
                Ok(Entry {
                    user: r.get(0)?,
                    name: r.get(1)?,
                    kid,
                    fingerprint: r.get(3)?,
                    updated: r.get(4)?,
                })
            })
            .map_err(&e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(&e)
    }

    /// Deletes a secret; whether there was one.
    pub fn remove(&mut self, user: &str, name: &str) -> Result<bool> {
        let e = db_err(&self.path);
        let n = self
            .conn
            .execute(
                "DELETE FROM vigil_seal_secrets WHERE user = ?1 AND name = ?2",
                params![user, name],
            )
            .map_err(&e)?;
        Ok(n > 0)
    }

    /// The migrated columns of application tables (none when the database is not a store).
    pub fn columns(&self) -> Result<Vec<Column>> {
        let e = db_err(&self.path);
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [COLUMNS],
                |r| r.get(0),
            )
            .map_err(&e)?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare("SELECT tbl, col, context FROM vigil_seal_columns ORDER BY tbl, col")
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                let ctx: String = r.get(2)?;
                Ok(Column {
                    table: r.get(0)?,
                    column: r.get(1)?,
                    context: ctx.split(',').map(str::to_owned).collect(),
                })
            })
            .map_err(&e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(&e)
    }

    /// One migrated column, or an error saying it is not one.
    pub fn column(&self, table: &str, column: &str) -> Result<Column> {
        check_ident("--table", table)?;
        check_ident("--name", column)?;
        self.columns()?
            .into_iter()
            .find(|c| c.table == table && c.column == column)
            .ok_or_else(|| SealError::Store {
                path: self.path.display().to_string(),
                message: format!("{table}.{column} holds no sealed values (convert it with `vigil seal migrate`)"),
            })
    }

    /// The context a value in a migrated column is bound to, given its row's context values
    /// (in the column's context order).
    pub fn row_context(&self, col: &Column, row: &[String]) -> Result<Context> {
        column_context(&self.id, col, row)
    }

    /// The row values selecting one row of a migrated column: `user` for its first context
    /// column, the others from `extra` (`name=value` by column name); nothing missing or extra.
    pub fn row_selector(&self, col: &Column, user: &str, extra: &Context) -> Result<Vec<String>> {
        let mut out = vec![user.to_owned()];
        for name in &col.context[1..] {
            out.push(
                extra
                    .get(name)
                    .ok_or_else(|| {
                        SealError::Context(format!(
                            "{}.{} values are bound to {}: give --context {name}=…",
                            col.table,
                            col.column,
                            col.context.join(", ")
                        ))
                    })?
                    .to_owned(),
            );
        }
        if let Some((k, _)) = extra
            .fields()
            .find(|(k, _)| !col.context[1..].iter().any(|c| c == k))
        {
            return Err(SealError::Context(format!(
                "`{k}` is not one of {}.{}'s context columns ({})",
                col.table,
                col.column,
                col.context.join(", ")
            )));
        }
        Ok(out)
    }

    fn where_clause(col: &Column) -> String {
        col.context
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST(\"{c}\" AS TEXT) = ?{}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A value of a migrated column, decrypted (`None` for no row or a NULL value; several
    /// matching rows are an error).
    pub fn get_in(
        &self,
        ring: &KeyRing,
        col: &Column,
        row: &[String],
    ) -> Result<Option<Plaintext>> {
        let e = db_err(&self.path);
        let sql = format!(
            "SELECT \"{}\" FROM \"{}\" WHERE {} LIMIT 2",
            col.column,
            col.table,
            Self::where_clause(col)
        );
        let mut st = self.conn.prepare(&sql).map_err(&e)?;
        let mut rows = st
            .query(rusqlite::params_from_iter(row.iter()))
            .map_err(&e)?;
        let mut found: Option<Option<String>> = None;
        while let Some(r) = rows.next().map_err(&e)? {
            if found.is_some() {
                return Err(SealError::Store {
                    path: self.path.display().to_string(),
                    message: format!(
                        "several rows of {} match; the context columns must select one",
                        col.table
                    ),
                });
            }
            found = Some(
                text_of(r.get_ref(0).map_err(&e)?).map_err(|m| SealError::Store {
                    path: self.path.display().to_string(),
                    message: format!("{m} in {}.{}", col.table, col.column),
                })?,
            );
        }
        let Some(Some(v)) = found else {
            return Ok(None);
        };
        let ctx = self.row_context(col, row)?;
        value::open(ring, &ctx, &v).map(Some)
    }

    /// Seals a value into an existing row of a migrated column (the application creates rows).
    pub fn put_in(
        &mut self,
        ring: &KeyRing,
        col: &Column,
        row: &[String],
        plaintext: &[u8],
    ) -> Result<Fingerprint> {
        self.share_passphrase_salt(ring)?;
        let ctx = self.row_context(col, row)?;
        let (sealed, fp) = value::seal_with_fingerprint(ring, &ctx, plaintext)?;
        let e = db_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&e)?;
        let sql = format!(
            "UPDATE \"{}\" SET \"{}\" = ?{} WHERE {}",
            col.table,
            col.column,
            row.len() + 1,
            Self::where_clause(col)
        );
        let mut args: Vec<&str> = row.iter().map(String::as_str).collect();
        args.push(&sealed);
        let n = tx
            .execute(&sql, rusqlite::params_from_iter(args))
            .map_err(&e)?;
        if n != 1 {
            return Err(SealError::Store {
                path: self.path.display().to_string(),
                message: format!(
                    "{n} rows of {} match (exactly one must; rows are the application's to create)",
                    col.table
                ),
            });
        }
        index_put(&tx, &sealed, &fp).map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(fp)
    }

    /// Where a leaked secret is stored: own entries and migrated cells whose recorded
    /// fingerprint, under their own key, matches one of `candidates` (see
    /// [`crate::leak::candidates`]). Nothing is decrypted.
    pub fn find<C: AsRef<[u8]>>(&self, ring: &KeyRing, candidates: &[C]) -> Result<Vec<String>> {
        let e = db_err(&self.path);
        let mut hits = Vec::new();
        // Every candidate's fingerprint under every key id the store uses. A key id the ring
        // cannot fingerprint under is an error: "not found" would be a guess.
        let kids: Vec<String> = {
            let mut st = self
                .conn
                .prepare("SELECT DISTINCT kid FROM vigil_seal_secrets UNION SELECT DISTINCT kid FROM vigil_seal_index")
                .map_err(&e)?;
            let r = st.query_map([], |r| r.get(0)).map_err(&e)?;
            r.collect::<std::result::Result<Vec<_>, _>>().map_err(&e)?
        };
        let mut mine: std::collections::HashMap<String, std::collections::HashSet<String>> =
            Default::default();
        for kid in kids {
            let mut set = std::collections::HashSet::new();
            for c in candidates {
                let fp =
                    value::fingerprint(ring, &kid, c.as_ref()).map_err(|err| SealError::Store {
                        path: self.path.display().to_string(),
                        message: format!("values under key `{kid}` cannot be matched: {err}"),
                    })?;
                set.insert(fp.hex);
            }
            mine.insert(kid, set);
        }
        let matches = |kid: &str, hex: &str| mine.get(kid).is_some_and(|s| s.contains(hex));
        {
            let mut st = self
                .conn
                .prepare("SELECT user, name, kid, fingerprint FROM vigil_seal_secrets ORDER BY user, name")
                .map_err(&e)?;
            let mut rows = st.query([]).map_err(&e)?;
            while let Some(r) = rows.next().map_err(&e)? {
                let (kid, hex): (String, String) = (r.get(2).map_err(&e)?, r.get(3).map_err(&e)?);
                if matches(&kid, &hex) {
                    hits.push(format!(
                        "user={} name={}",
                        r.get::<_, String>(0).map_err(&e)?,
                        r.get::<_, String>(1).map_err(&e)?
                    ));
                }
            }
        }
        let mut wanted = std::collections::HashSet::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT digest, kid, fingerprint FROM vigil_seal_index")
                .map_err(&e)?;
            let mut rows = st.query([]).map_err(&e)?;
            while let Some(r) = rows.next().map_err(&e)? {
                let (kid, hex): (String, String) = (r.get(1).map_err(&e)?, r.get(2).map_err(&e)?);
                if matches(&kid, &hex) {
                    wanted.insert(r.get::<_, String>(0).map_err(&e)?);
                }
            }
        }
        if !wanted.is_empty() {
            for col in self.columns()? {
                self.each_cell(&col, |row, v| {
                    if wanted.contains(&digest(v)) {
                        let sel: Vec<String> = col
                            .context
                            .iter()
                            .zip(row)
                            .map(|(c, v)| format!("{c}={v}"))
                            .collect();
                        hits.push(format!(
                            "table={} column={} {}",
                            col.table,
                            col.column,
                            sel.join(" ")
                        ));
                    }
                    Ok(())
                })?;
            }
        }
        Ok(hits)
    }

    /// Each migrated column with its number of sealed (non-NULL) values, for `store list`.
    pub fn column_counts(&self) -> Result<Vec<(Column, usize)>> {
        let mut out = Vec::new();
        for col in self.columns()? {
            let mut n = 0;
            self.each_cell(&col, |_, _| {
                n += 1;
                Ok(())
            })?;
            out.push((col, n));
        }
        Ok(out)
    }

    /// Calls `f(row context values, value text)` for every non-NULL cell of a migrated column.
    pub(crate) fn each_cell(
        &self,
        col: &Column,
        mut f: impl FnMut(&[String], &str) -> Result<()>,
    ) -> Result<()> {
        let e = db_err(&self.path);
        let ctx_cols: Vec<String> = col
            .context
            .iter()
            .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
            .collect();
        let sql = format!(
            "SELECT \"{}\", {} FROM \"{}\" WHERE \"{}\" IS NOT NULL",
            col.column,
            ctx_cols.join(", "),
            col.table,
            col.column
        );
        let mut st = self.conn.prepare(&sql).map_err(&e)?;
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let Some(v) = text_of(r.get_ref(0).map_err(&e)?).map_err(|m| SealError::Store {
                path: self.path.display().to_string(),
                message: format!("{m} in {}.{}", col.table, col.column),
            })?
            else {
                continue;
            };
            let mut row = Vec::new();
            for i in 0..col.context.len() {
                let c: Option<String> = r.get(i + 1).map_err(&e)?;
                row.push(c.ok_or_else(|| SealError::Store {
                    path: self.path.display().to_string(),
                    message: format!(
                        "{}: a row with a value has NULL {}",
                        col.table, col.context[i]
                    ),
                })?);
            }
            f(&row, &v)?;
        }
        Ok(())
    }

    /// Every key id (or passphrase header) a value in this store is sealed under.
    pub fn kids_in_use(&self) -> Result<std::collections::BTreeSet<String>> {
        let e = db_err(&self.path);
        let mut out = std::collections::BTreeSet::new();
        let mut st = self
            .conn
            .prepare("SELECT value FROM vigil_seal_secrets")
            .map_err(&e)?;
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            // The header of the value itself (authenticated), not the kid column.
            if let Some(v) = text_of(r.get_ref(0).map_err(&e)?).ok().flatten() {
                if let Ok(h) = value::header_of(&v) {
                    out.insert(h.to_owned());
                }
            }
        }
        for col in self.columns()? {
            self.each_cell(&col, |_, v| {
                if let Ok(h) = value::header_of(v) {
                    out.insert(h.to_owned());
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

/// The context of a value in a migrated column of the store `store_id` (see
/// [`Store::row_context`]).
pub(crate) fn column_context(store_id: &str, col: &Column, row: &[String]) -> Result<Context> {
    let mut c = Context::of(Purpose::Column)
        .with("store", store_id)?
        .with("table", &col.table)?
        .with("column", &col.column)?;
    for (name, v) in col.context.iter().zip(row) {
        c.insert(&format!("row.{name}"), v)?;
    }
    Ok(c)
}

/// Records a migrated value's fingerprint (keyed by the value's digest).
pub(crate) fn index_put(conn: &Connection, sealed: &str, fp: &Fingerprint) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO vigil_seal_index (digest, kid, fingerprint) VALUES (?1, ?2, ?3)",
        params![digest(sealed), fp.kid, fp.hex],
    )?;
    Ok(())
}

/// A cell as text: TEXT, or a UTF-8 BLOB (Python code often stores `bytes`); `None` for NULL.
pub(crate) fn text_of(v: ValueRef<'_>) -> std::result::Result<Option<String>, String> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8(t.to_vec())
            .map(Some)
            .map_err(|_| "a value that is not text".to_owned()),
        _ => Err("a number where a sealed value belongs".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MasterKey;

    fn ring() -> KeyRing {
        KeyRing::new(vec![("k1".into(), MasterKey::generate().unwrap())]).unwrap()
    }

    #[test]
    fn put_get_list_rm_and_binding_to_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.db");
        let r = ring();
        let mut s = Store::open(&path, Mode::Create).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        s.put(&r, "alice", "openrouter_key", b"v-alice").unwrap();
        s.put(&r, "bob", "openrouter_key", b"v-bob").unwrap();
        assert_eq!(
            s.get(&r, "alice", "openrouter_key")
                .unwrap()
                .unwrap()
                .as_bytes(),
            b"v-alice"
        );
        assert!(s.get(&r, "carol", "openrouter_key").unwrap().is_none());
        let l = s.list(None).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].user, "alice");
        // Copy alice's ciphertext into bob's row: it must not decrypt there.
        s.conn
            .execute(
                "UPDATE vigil_seal_secrets SET value = (SELECT value FROM vigil_seal_secrets WHERE user = 'alice') WHERE user = 'bob'",
                [],
            )
            .unwrap();
        assert!(matches!(
            s.get(&r, "bob", "openrouter_key"),
            Err(SealError::Decrypt { .. })
        ));
        assert_eq!(s.find(&r, &[b"v-alice".to_vec()]).unwrap().len(), 1);
        // The kid column is informational; list shows the value's own (authenticated) header.
        s.conn
            .execute("UPDATE vigil_seal_secrets SET kid = 'k9'", [])
            .unwrap();
        assert!(s.list(None).unwrap().iter().all(|e| e.kid == "k1"));
        assert!(s.remove("alice", "openrouter_key").unwrap());
        assert!(!s.remove("alice", "openrouter_key").unwrap());
        // Reopening keeps the id; another store has another.
        let id = s.id().to_owned();
        drop(s);
        assert_eq!(Store::open(&path, Mode::Existing).unwrap().id(), id);
        let other = Store::open(&dir.path().join("b.db"), Mode::Create).unwrap();
        assert_ne!(other.id(), id);
        assert!(Store::open(&dir.path().join("none.db"), Mode::Existing).is_err());
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let e = Store::open(&path, Mode::Create).unwrap_err().to_string();
        assert!(
            e.contains("x.db") && e.contains("not a SQLite database"),
            "{e}"
        );
    }
}
