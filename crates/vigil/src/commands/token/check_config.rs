//! `vigil token check-config [ENV...]`: the JWT configuration compliance gate. Each argument is
//! an environment, `NAME=FILE`, or a `.env` file placed in its environment by the environment
//! model (`.env.prod` → production, `.env.bot` → the default one); with none, the project's env
//! files as `vigil env` finds them (templates excluded), or else the process environment. Exit
//! code 1 when anything fails. It writes nothing.

use crate::cli::GlobalArgs;
use crate::output::FormatArg;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::EnvSettings;
use vigil_token::compliance;
use vigil_token::environments;
use vigil_token::TokenSettings;

/// Arguments of `vigil token check-config`.
#[derive(Debug, Args)]
pub(crate) struct CheckConfigArgs {
    /// Environments: `NAME=FILE` or `FILE` (.env.production, .env.staging…).
    pub envs: Vec<String>,
    /// Name of the process environment when no file is given.
    #[arg(long, default_value = "production", value_name = "NAME")]
    pub environment: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// Runs `vigil token check-config`.
pub(super) fn run(g: &GlobalArgs, args: CheckConfigArgs) -> anyhow::Result<ExitStatus> {
    let config = crate::commands::project_config(g)?;
    let token = TokenSettings::load(&config, &[])?;
    let env = EnvSettings::resolve(&config)?;
    let gathered = environments::gather(&args.envs, &args.environment, env, &token.section)?;
    crate::output::warn_skipped(&gathered.skipped);
    let envs = gathered.environments;
    let problems = compliance::check(&envs, &token.section);
    match args.format {
        FormatArg::Text => {
            for p in &problems {
                println!("{}: {} [{}]", p.environment, p.message, p.code);
            }
            if !g.quiet {
                let mut names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                eprintln!(
                    "{} problem(s) in {} environment file(s): {}",
                    problems.len(),
                    envs.len(),
                    names.join(", ")
                );
            }
        }
        FormatArg::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "environments": envs.iter().map(|e| serde_json::json!({"name": e.name, "origin": e.origin, "production": e.production})).collect::<Vec<_>>(),
                "problems": problems,
            }))?
        ),
        other => {
            let report = compliance::report(&problems, &envs);
            let mut buf = Vec::new();
            vigil_report::render(
                other.into(),
                &report,
                &vigil_report::RenderOptions::default(),
                &mut buf,
            )?;
            crate::output::write_stdout(&buf)?;
        }
    }
    Ok(if problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
