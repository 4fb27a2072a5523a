//! `vigil env check`: inconsistent, weak, placeholder, misplaced, tracked and bypassed secrets in
//! the project's env files, as text, JSON or SARIF; exit code 1 when anything is found.

use super::{open, Access};
use crate::cli::GlobalArgs;
use clap::{Args, ValueEnum};
use serde_json::json;
use vigil_core::logging::printable;
use vigil_core::ExitStatus;
use vigil_env::check::{Code, Problem};

/// Arguments of `vigil env check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line: KEY: message [code]`.
    Text,
    /// A JSON object with the files and the problems.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

fn sarif(problems: &[Problem]) -> serde_json::Value {
    let results: Vec<_> = problems
        .iter()
        .map(|p| {
            let mut loc = json!({ "artifactLocation": { "uri": p.file } });
            if let Some(line) = p.line {
                loc["region"] = json!({ "startLine": line });
            }
            json!({
                "ruleId": p.code,
                "ruleIndex": Code::ALL.iter().position(|c| *c == p.code).unwrap_or(0),
                "level": "error",
                "message": { "text": p.message },
                "locations": [{ "physicalLocation": loc }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vigil",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/vigil",
                "rules": Code::ALL.iter().map(|c| json!({ "id": c, "shortDescription": { "text": c.description() } })).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}

/// Runs `vigil env check`.
pub fn run(g: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g, Access::Recover)?;
    p.ensure_files()?;
    let problems = p.check()?;
    match args.format {
        Format::Text => {
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
        Format::Json => println!(
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
        Format::Sarif => println!("{}", serde_json::to_string_pretty(&sarif(&problems))?),
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
