//! `vigil seal migrate --db app.db --table T --column C --context-from user_id`: converts an
//! application's Fernet column to sealed values in place, in one transaction (or back, with
//! `--from vseal`).

use super::{ring, FernetArgs};
use crate::cli::GlobalArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::migrate::{migrate, Direction};
use vigil_seal::store::{Mode, Store};

/// The format a column holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum From {
    /// Fernet tokens, to become sealed values.
    Fernet,
    /// Sealed values, to become Fernet tokens again.
    Vseal,
}

/// Arguments of `vigil seal migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The application's SQLite file.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// The table.
    #[arg(long)]
    pub table: String,
    /// The column holding the values.
    #[arg(long)]
    pub column: String,
    /// The column(s) naming whose value each row holds (e.g. user_id), comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "COLUMN")]
    pub context_from: Vec<String>,
    /// What the column holds now.
    #[arg(long, value_enum, default_value_t = From::Fernet)]
    pub from: From,
    /// Read, check and decrypt everything, and say what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The Fernet key.
    #[command(flatten)]
    pub fernet: FernetArgs,
}

/// Runs `vigil seal migrate`.
pub(super) fn run(g: &GlobalArgs, a: MigrateArgs) -> anyhow::Result<ExitStatus> {
    let ring = ring()?;
    let direction = match a.from {
        From::Fernet => Direction::FromFernet,
        From::Vseal => Direction::ToFernet,
    };
    // Back to Fernet writes tokens: never under a weak key. From Fernet only decrypts.
    let fernet = match direction {
        Direction::ToFernet => a.fernet.fernet_to_encrypt()?,
        Direction::FromFernet => a.fernet.fernet_to_decrypt(g)?,
    };
    if !a.db.is_file() {
        anyhow::bail!("{}: no such database", a.db.display());
    }
    // Everything is read, checked and decrypted before anything is written (not even the
    // store's tables or the journal mode): a refused migration leaves the file as it was.
    let mut probe = Store::open(&a.db, Mode::ReadOnly)?;
    let planned = migrate(
        &mut probe,
        &ring,
        &fernet,
        &a.table,
        &a.column,
        &a.context_from,
        direction,
        true,
    )?;
    drop(probe);
    let r = if a.dry_run {
        planned
    } else {
        let mut store = Store::open(&a.db, Mode::Create)?;
        migrate(
            &mut store,
            &ring,
            &fernet,
            &a.table,
            &a.column,
            &a.context_from,
            direction,
            false,
        )?
    };
    if !g.quiet || a.dry_run {
        eprintln!(
            "{}.{}: {} value(s) {} to {}, {} already were, {} NULL{}",
            a.table,
            a.column,
            r.converted,
            if a.dry_run {
                "would be converted"
            } else {
                "converted"
            },
            match direction {
                Direction::FromFernet => "sealed values",
                Direction::ToFernet => "Fernet tokens",
            },
            r.already,
            r.null,
            if a.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
    }
    Ok(ExitStatus::Success)
}
