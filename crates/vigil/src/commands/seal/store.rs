//! `vigil seal store put|get|list|rm`: per-user secrets in a SQLite store (what a bot calls
//! instead of keeping its own table). Values come in on stdin and go out on stdout; `list` never
//! prints one. With `--table`, the same calls reach a column `vigil seal migrate` converted.

use super::{context, read_plaintext, ring, write_out};
use crate::cli::GlobalArgs;
use crate::commands::OutputFormat;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::store::{Mode, Store};

/// Arguments of `vigil seal store`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The store subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Seal the value on stdin and store it for a user (replacing an older one).
    Put(Target),
    /// Print a user's secret (exactly its bytes); exit 1 when there is none.
    Get(Target),
    /// List stored secrets (user, name, key id, fingerprint, time) and migrated columns, never
    /// their values.
    List(ListArgs),
    /// Delete a user's secret; exit 1 when there was none.
    Rm(Target),
}

/// Which secret.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The SQLite file (created 0600 by put).
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// The user the secret belongs to.
    #[arg(long)]
    pub user: String,
    /// The secret's name (with --table: the migrated column).
    #[arg(long)]
    pub name: String,
    /// A table converted by `vigil seal migrate` instead of the store's own.
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// With --table: values of further context columns, name=value,…
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// put: read the value from this file (its exact bytes; - is stdin's exact bytes) instead
    /// of stdin without its final newline.
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Arguments of `vigil seal store list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The SQLite file.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Only this user's secrets.
    #[arg(long)]
    pub user: Option<String>,
    /// text or json.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs a store subcommand.
pub(super) fn run(g: &GlobalArgs, a: StoreArgs) -> anyhow::Result<ExitStatus> {
    match a.command {
        StoreCommand::Put(t) => put(g, t),
        StoreCommand::Get(t) => get(t),
        StoreCommand::List(l) => list(l),
        StoreCommand::Rm(t) => rm(g, t),
    }
}

fn refuse_context_without_table(t: &Target) -> anyhow::Result<()> {
    if t.table.is_none() && !t.context.is_empty() {
        anyhow::bail!("--context: store values are bound to the store, --user and --name; --context applies with --table");
    }
    Ok(())
}

fn refuse_input(t: &Target) -> anyhow::Result<()> {
    if t.input.is_some() {
        anyhow::bail!("--in: only `store put` reads a value");
    }
    Ok(())
}

fn put(g: &GlobalArgs, t: Target) -> anyhow::Result<ExitStatus> {
    refuse_context_without_table(&t)?;
    let ring = ring()?;
    let value = read_plaintext(t.input.as_deref())?;
    let fp = match &t.table {
        None => {
            // Everything that can be refused is refused before a new file exists.
            vigil_seal::store::check_put(&t.user, &t.name, value.as_bytes())?;
            let mut s = Store::open(&t.db, Mode::Create)?;
            match s.put(&ring, &t.user, &t.name, value.as_bytes()) {
                Ok(fp) => fp,
                Err(e) => {
                    if s.created() {
                        drop(s);
                        vigil_seal::store::remove_new(&t.db);
                    }
                    return Err(e.into());
                }
            }
        }
        Some(table) => {
            let mut s = Store::open(&t.db, Mode::Existing)?;
            let col = s.column(table, &t.name)?;
            let row = s.row_selector(&col, &t.user, &context(&t.context)?)?;
            s.put_in(&ring, &col, &row, value.as_bytes())?
        }
    };
    if !g.quiet {
        eprintln!(
            "stored user={} name={} key={} fingerprint={}",
            t.user, t.name, fp.kid, fp.hex
        );
    }
    Ok(ExitStatus::Success)
}

fn get(t: Target) -> anyhow::Result<ExitStatus> {
    refuse_context_without_table(&t)?;
    refuse_input(&t)?;
    let ring = ring()?;
    let s = Store::open(&t.db, Mode::Existing)?;
    let value = match &t.table {
        None => s.get(&ring, &t.user, &t.name)?,
        Some(table) => {
            let col = s.column(table, &t.name)?;
            let row = s.row_selector(&col, &t.user, &context(&t.context)?)?;
            s.get_in(&ring, &col, &row)?
        }
    };
    match value {
        Some(v) => {
            write_out(None, v.as_bytes())?;
            Ok(ExitStatus::Success)
        }
        None => {
            eprintln!(
                "vigil: {}: no secret {} for user {}",
                t.db.display(),
                t.name,
                t.user
            );
            Ok(ExitStatus::Failure)
        }
    }
}

fn list(l: ListArgs) -> anyhow::Result<ExitStatus> {
    let s = Store::open(&l.db, Mode::Existing)?;
    let entries = s.list(l.user.as_deref())?;
    let columns = if l.user.is_none() {
        s.column_counts()?
    } else {
        Vec::new()
    };
    let mut out = String::new();
    match l.format {
        OutputFormat::Json => {
            let cols: Vec<serde_json::Value> = columns
                .iter()
                .map(|(c, n)| {
                    serde_json::json!({"table": c.table, "column": c.column, "context": c.context, "values": n})
                })
                .collect();
            out = serde_json::to_string_pretty(&serde_json::json!({
                "secrets": entries,
                "columns": cols,
            }))?;
            out.push('\n');
        }
        OutputFormat::Text => {
            for e in &entries {
                let at = humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(e.updated.max(0) as u64),
                );
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{at}\n",
                    e.user, e.name, e.kid, e.fingerprint
                ));
            }
            for (c, n) in &columns {
                out.push_str(&format!(
                    "table {}.{}: {n} sealed value(s), bound to {} (read with --table {} --name {} --user …)\n",
                    c.table,
                    c.column,
                    c.context.join(", "),
                    c.table,
                    c.column
                ));
            }
        }
    }
    write_out(None, out.as_bytes())?;
    Ok(ExitStatus::Success)
}

fn rm(g: &GlobalArgs, t: Target) -> anyhow::Result<ExitStatus> {
    if t.table.is_some() {
        anyhow::bail!("--table: rows of an application table are the application's to delete");
    }
    refuse_context_without_table(&t)?;
    refuse_input(&t)?;
    let mut s = Store::open(&t.db, Mode::Existing)?;
    if s.remove(&t.user, &t.name)? {
        if !g.quiet {
            eprintln!("removed user={} name={}", t.user, t.name);
        }
        Ok(ExitStatus::Success)
    } else {
        eprintln!(
            "vigil: {}: no secret {} for user {}",
            t.db.display(),
            t.name,
            t.user
        );
        Ok(ExitStatus::Failure)
    }
}
