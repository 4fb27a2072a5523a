//! `vigil env status`: each secret's age against its schedule, from `.vigil/rotation.toml`;
//! exit code 1 when something is overdue.

use super::{open, Access};
use crate::cli::GlobalArgs;
use crate::commands::OutputFormat;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::status::State;

/// Arguments of `vigil env status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs `vigil env status`.
pub(super) fn run(g: &GlobalArgs, args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g, Access::Recover)?;
    p.ensure_files()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let rows = p.status(now)?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Text => {
            let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
            println!(
                "{:<w$}  {:<11}  {:<10}  {:<20}  {:>5}  {:>6}  NOTE",
                "NAME", "STATE", "SCHEDULE", "LAST ROTATED", "AGE", "DUE IN"
            );
            for r in &rows {
                let note = if !r.never_rotated_in.is_empty() {
                    format!(
                        "never rotated by vigil in {}: its age there is unknown",
                        r.never_rotated_in.join(", ")
                    )
                } else if r.changed {
                    "changed outside vigil since; the age counts from the last rotation by vigil"
                        .to_owned()
                } else {
                    String::new()
                };
                let line = format!(
                    "{:<w$}  {:<11}  {:<10}  {:<20}  {:>5}  {:>6}  {note}",
                    r.name,
                    r.state,
                    r.schedule.as_deref().unwrap_or("-"),
                    r.rotated_at.as_deref().unwrap_or("never (by vigil)"),
                    r.age_days
                        .map(|d| format!("{d}d"))
                        .unwrap_or_else(|| "-".into()),
                    r.due_in_days
                        .map(|d| format!("{d}d"))
                        .unwrap_or_else(|| "-".into()),
                );
                println!("{}", line.trim_end());
            }
        }
    }
    let overdue = rows.iter().filter(|r| r.state == State::Overdue).count();
    if !g.quiet {
        let soon = rows.iter().filter(|r| r.state == State::DueSoon).count();
        let changed = rows.iter().filter(|r| r.changed).count();
        eprintln!(
            "{} secret(s): {overdue} overdue, {soon} due within a week, {changed} changed outside vigil",
            rows.len()
        );
    }
    Ok(if overdue > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
