//! `vigil token check-config [ENV...]`: the JWT configuration compliance gate. Each argument is
//! an environment, `NAME=FILE` or a `.env` file whose name gives the environment
//! (`.env.production` → production); with none, the `.env*` files here (templates excluded),
//! or else the process environment. Exit code 1 when anything fails.

use super::{load, OutputFormat};
use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use vigil_core::{ExitStatus, Secret};
use vigil_env::EnvFile;
use vigil_token::compliance::{self, Environment};

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
    let mut specs: Vec<(String, PathBuf)> = args
        .envs
        .iter()
        .map(|a| match a.split_once('=') {
            Some((n, p)) => (n.to_owned(), PathBuf::from(p)),
            None => (EnvFile::new(PathBuf::from(a)).environment, PathBuf::from(a)),
        })
        .collect();
    if specs.is_empty() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(".")
            .context("listing the working directory")?
            .filter_map(|e| e.ok().map(|e| PathBuf::from(e.file_name())))
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                p.is_file()
                    && (n.starts_with(".env") || n.ends_with(".env"))
                    && !EnvFile::new(p.clone()).template
            })
            .collect();
        found.sort();
        specs = found
            .into_iter()
            .map(|p| (EnvFile::new(p.clone()).environment, p))
            .collect();
    }
    let mut envs = Vec::new();
    for (name, path) in &specs {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let doc = vigil_env::Document::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
        let mut vars = BTreeMap::new();
        for b in doc.bindings() {
            if let Some(v) = &b.value {
                vars.insert(b.key.clone(), Secret::new(v.clone()));
            }
        }
        envs.push(Environment {
            name: name.clone(),
            origin: path.display().to_string(),
            production: compliance::is_production(name, &loaded.section),
            vars,
        });
    }
    if envs.is_empty() {
        let mut vars = BTreeMap::new();
        for (k, v) in std::env::vars() {
            vars.insert(k, Secret::new(v));
        }
        envs.push(Environment {
            name: args.environment.clone(),
            origin: "the process environment".into(),
            production: compliance::is_production(&args.environment, &loaded.section),
            vars,
        });
    }
    let problems = compliance::check(&envs, &loaded.section);
    match args.format {
        OutputFormat::Text => {
            for p in &problems {
                println!("{}: {} [{}]", p.environment, p.message, p.code);
            }
            if !g.quiet {
                let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
                eprintln!(
                    "{} problem(s) in {} environment(s): {}",
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
