//! `vigil env check`: inconsistent, weak, placeholder, misplaced, tracked and bypassed secrets in
//! the project's env files, as text, JSON, SARIF, CSV, JUnit or Markdown; exit code 1 when anything is found.

use super::{open, Access};
use crate::cli::GlobalArgs;
use crate::output::FormatArg;
use clap::Args;
use serde_json::json;
use vigil_core::logging::printable;
use vigil_core::ExitStatus;
use vigil_report::RenderOptions;

/// Arguments of `vigil env check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// Runs `vigil env check`.
pub(super) fn run(g: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g, Access::Recover)?;
    p.ensure_files()?;
    let problems = p.check_with(&token_names(g)?)?;
    match args.format {
        FormatArg::Text => {
            for pr in &problems {
                let at = match pr.line {
                    Some(line) => format!("{}:{line}", pr.file),
                    None => pr.file.clone(),
                };
                println!(
                    "{}",
                    printable(&format!("{at}: {} [{}]", pr.message, pr.code))
                );
            }
        }
        FormatArg::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": p.files.iter().map(|l| json!({
                    "path": l.file.path.display().to_string(),
                    "environment": l.file.environment,
                    "service": l.file.service,
                    "template": l.file.template,
                })).collect::<Vec<_>>(),
                "problems": problems,
            }))?
        ),
        other => {
            let report = vigil_env::check::report(&problems);
            let mut buf = Vec::new();
            vigil_report::render(other.into(), &report, &RenderOptions::default(), &mut buf)?;
            crate::output::write_stdout(&buf)?;
        }
    }
    if !g.quiet {
        eprintln!(
            "{} problem(s) in {} env file(s)",
            problems.len(),
            p.files.len()
        );
    }
    Ok(if problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The variables `[token]` names (its signing secrets and bypass flags), which `env check`
/// judges whatever they are called. `${VAR}` in `[token]` is not needed for names: an unset one
/// reads as empty.
fn token_names(g: &GlobalArgs) -> anyhow::Result<vigil_env::check::Extra> {
    use vigil_core::Section as _;
    let config = crate::commands::project_config(g)?;
    let token: vigil_token::TokenSection =
        config.section_with(vigil_token::TokenSection::NAME, &|_| Some(String::new()))?;
    Ok(vigil_env::check::Extra {
        secrets: vec![
            token.secret_env().to_owned(),
            token.previous_env().to_owned(),
        ],
        bypass: token.dev_bypass(),
    })
}
