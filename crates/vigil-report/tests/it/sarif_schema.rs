//! The one SARIF writer against the official SARIF 2.1.0 JSON schema (from npm, checked with
//! Python's jsonschema, as the CLI tests do): a scan-like report with secrets, fingerprints,
//! commits and archive slots; a problem list with whole-file, line and scope locations; an
//! incomplete run; and an empty one.

#[path = "../../../vigil/tests/it/common/deps.rs"]
#[allow(dead_code)]
mod deps;

use std::process::Command;
use vigil_core::Secret;
use vigil_report::{
    render, Commit, Diagnostic, Encoding, Format, Gap, Location, RenderOptions, Report, RuleMeta,
    Severity, Tool,
};

fn reports() -> Vec<(&'static str, Report)> {
    let mut scan = Report::new(Tool::new("scan", "0.1.0"));
    scan.columns = vec!["entropy".into()];
    scan.rules = vec![
        RuleMeta::new("demo-token", "Demo token")
            .with_help("Rotate it")
            .with_tags(vec!["demo".into()])
            .with_security_severity(8.0),
        RuleMeta::new("never-found", "Found nothing"),
    ];
    let secret: String = (0..40)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let mut d = Diagnostic::new(
        "demo-token",
        Severity::Error,
        Location::file("src/dir with space/ünï.py").at_span(3, 1, 4, 9),
        "Demo token found",
    )
    .with_secret(Secret::new(secret))
    .with_property("entropy", 4.5)
    .with_property("tags", vec!["x".to_owned()]);
    d.fingerprints.location = Some("src/a.py:demo-token:3".into());
    d.fingerprints.content = Some("00ff".repeat(8));
    d.commit = Some(Commit {
        id: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
        ..Commit::default()
    });
    d.decoded = vec![Encoding::Base64];
    d.archive_path = vec!["dist.zip".into(), "a.py".into()];
    // A rule the report has no metadata for: no ruleIndex.
    let unknown = Diagnostic::new(
        "unlisted",
        Severity::Note,
        Location::file("-"),
        "From stdin",
    );
    scan.diagnostics = vec![d, unknown];

    let mut problems = Report::new(Tool::new("env check", "0.1.0"));
    problems.tool.information_uri = Some("https://example.invalid/vigil".into());
    problems.rules = vec![RuleMeta::new("weak", "Weak").with_severity(Severity::Warning)];
    problems.diagnostics = vec![
        Diagnostic::new(
            "weak",
            Severity::Warning,
            Location::file(".env"),
            "whole file",
        ),
        Diagnostic::new(
            "weak",
            Severity::Warning,
            Location::file(".env.production")
                .at_line(2)
                .with_key("DB_PASSWORD"),
            "a line and a key",
        ),
        Diagnostic::new(
            "weak",
            Severity::Warning,
            Location::scope("production").with_key("MCP_JWT_SECRET"),
            "an environment",
        ),
    ];

    let mut incomplete = scan.clone();
    incomplete
        .completeness
        .gap(Gap::Unreadable, "2 files could not be read");
    incomplete.completeness.skipped.unreadable = 2;

    vec![
        ("scan", scan),
        ("problems", problems),
        ("incomplete", incomplete),
        ("empty", Report::new(Tool::new("scan", "0.1.0"))),
    ]
}

#[test]
fn every_sarif_report_is_valid_against_the_official_schema() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut files = Vec::new();
    for (name, report) in reports() {
        for show_secrets in [false, true] {
            let mut out = Vec::new();
            let opts = RenderOptions {
                show_secrets,
                ..RenderOptions::default()
            };
            render(Format::Sarif, &report, &opts, &mut out).unwrap();
            let path = dir.path().join(format!("{name}-{show_secrets}.sarif"));
            std::fs::write(&path, out).unwrap();
            files.push(path);
        }
    }
    let py = deps::python_with("jsonschema", "jsonschema");
    let out = Command::new(py)
        .args([
            "-c",
            "import json,sys,jsonschema\n\
             schema=json.load(open(sys.argv[1]))\n\
             for f in sys.argv[2:]:\n    jsonschema.validate(json.load(open(f)), schema)\n\
             print(len(sys.argv) - 2)",
        ])
        .arg(deps::sarif_schema())
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
}
