//! `vigil token check-config [ENV...]`: the JWT configuration compliance gate. Each argument is
//! an environment, `NAME=FILE`, or a `.env` file placed in its environment by the environment
//! model (`.env.prod` → production, `.env.bot` → the default one); with none, the project's env
//! files as `vigil env` finds them (templates excluded), or else the process environment. Exit
//! code 1 when anything fails. It writes nothing.

use super::{load, OutputFormat};
use crate::cli::GlobalArgs;
use crate::commands::env::{project_error, project_root, warn_skipped};
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::{Access, EnvSection, Model};
use vigil_token::compliance;
use vigil_token::environments;

/// Arguments of `vigil token check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// Environments: `NAME=FILE` or `FILE` (.env.production, .env.staging…).
    pub envs: Vec<String>,
    /// Name of the process environment when no file is given.
    #[arg(long, default_value = "production", value_name = "NAME")]
    pub environment: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs `vigil token check-config`.
pub fn run(g: &GlobalArgs, args: CheckConfigArgs) -> anyhow::Result<ExitStatus> {
    let loaded = load(g)?;
    let env_section: EnvSection = loaded.config.section("env")?;
    let root = project_root(&loaded.config)?;
    let mut envs = if args.envs.is_empty() {
        let project = vigil_env::Project::open(&root, &env_section, Access::ReadOnly)
            .map_err(|e| project_error(&loaded.config, e))?;
        warn_skipped(&project.skipped);
        environments::from_project(&project.files, &loaded.section)
    } else {
        let model = Model::new(&env_section).map_err(|m| {
            loaded
                .config
                .key_error(&m.key, &format!("`{}`: {}", m.glob, m.message))
        })?;
        environments::from_args(&args.envs, &root, &model, &loaded.section)?
    };
    if envs.is_empty() {
        envs.push(environments::from_process(
            &args.environment,
            &loaded.section,
        ));
    }
    let problems = compliance::check(&envs, &loaded.section);
    match args.format {
        OutputFormat::Text => {
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
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "environments": envs.iter().map(|e| serde_json::json!({"name": e.name, "origin": e.origin, "production": e.production})).collect::<Vec<_>>(),
                "problems": problems,
            }))?
        ),
    }
    Ok(if problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
