//! `vigil env check`: inconsistent, weak, placeholder, misplaced, tracked and bypassed secrets in
//! the project's env files, as text, JSON or SARIF; exit code 1 when anything is found.

use super::{open, Access};
use crate::cli::GlobalArgs;
use clap::{Args, ValueEnum};
use serde_json::json;
use vigil_core::ExitStatus;
use vigil_env::check::{check, Problem};
use vigil_env::ledger::Ledger;

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

const RULES: &[(&str, &str)] = &[
    (
        "inconsistent",
        "A token has different values in env files of the same environment",
    ),
    (
        "shared_across_environments",
        "A secret has the same value in two environments",
    ),
    (
        "weak",
        "A secret is short, low in entropy or a known default",
    ),
    (
        "placeholder",
        "A placeholder is left where a real value belongs",
    ),
    (
        "template_real_value",
        "A template file holds what looks like a real secret",
    ),
    ("tracked", "An env file is tracked by git"),
    ("not_ignored", "An env file is not covered by .gitignore"),
    (
        "dev_bypass",
        "An authentication bypass flag is on in a production file",
    ),
];

fn sarif(problems: &[Problem]) -> serde_json::Value {
    let results: Vec<_> = problems
        .iter()
        .map(|p| {
            let mut loc = json!({ "artifactLocation": { "uri": p.file } });
            if p.line > 0 {
                loc["region"] = json!({ "startLine": p.line });
            }
            json!({
                "ruleId": p.code,
                "ruleIndex": RULES.iter().position(|(id, _)| *id == p.code).unwrap_or(0),
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
                "rules": RULES.iter().map(|(id, d)| json!({ "id": id, "shortDescription": { "text": d } })).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}

/// Runs `vigil env check`.
pub fn run(g: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g, Access::Recover)?;
    // Names that must agree inside an environment: [env] tokens, and what Vigil rotated (a
    // rotation gives every service of an environment the same value).
    let mut tokens = p.section.tokens.clone().unwrap_or_default();
    tokens.extend(Ledger::load(&p.root)?.secrets.into_keys());
    let problems = check(&p.root, &p.files, &p.section, &tokens);
    match args.format {
        Format::Text => {
            for pr in &problems {
                let at = if pr.line > 0 {
                    format!("{}:{}", pr.file, pr.line)
                } else {
                    pr.file.clone()
                };
                println!("{at}: {} [{}]", pr.message, pr.code);
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
