//! The JUnit XML report: one failing test case per diagnostic, one passing case when the run is
//! clean, and one erroring case when it is incomplete, so CI systems that read JUnit show both.

use super::{description, xml_escape as x, RenderOptions};
use crate::Report;
use std::io::{self, Write};

/// An attribute's value: [`x`], and line breaks and tabs as references (an XML reader turns a
/// raw one in an attribute into a space; black-box tester, session 15 round 13: F12).
fn a(s: &str) -> String {
    x(s).replace('\n', "&#xa;").replace('\t', "&#x9;")
}

pub(super) fn write(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let suite = x(&format!("{} {}", report.tool.name, report.tool.command));
    let class = x(&format!(
        "{}.{}",
        report.tool.name,
        report.tool.command.replace(' ', ".")
    ));
    let failures = report.diagnostics.len();
    let errors = usize::from(!report.completeness.is_complete());
    let tests = (failures + errors).max(1);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{suite}" tests="{tests}" failures="{failures}" errors="{errors}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{suite}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="0">"#
    )?;
    if failures + errors == 0 {
        writeln!(
            out,
            r#"    <testcase classname="{class}" name="no findings"/>"#
        )?;
    }
    for d in &report.diagnostics {
        writeln!(
            out,
            r#"    <testcase classname="{}" name="{}">"#,
            a(&d.rule),
            a(&d.place())
        )?;
        let mut body = format!("{} at {}", description(report, d), d.place());
        if let Some(s) = opts.secret(d) {
            body.push_str(&format!(" secret {s}"));
        }
        if let Some(fp) = &d.fingerprints.location {
            body.push_str(&format!(" fingerprint {fp}"));
        }
        if !d.decoded.is_empty() {
            let steps: Vec<&str> = d.decoded.iter().map(|e| e.as_str()).collect();
            body.push_str(&format!(" decoded: {}", steps.join(" > ")));
        }
        writeln!(
            out,
            r#"      <failure message="{}" type="{}">{}</failure>"#,
            a(&d.message),
            a(&d.rule),
            x(&body)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    if errors > 0 {
        let reasons: Vec<String> = report
            .completeness
            .reasons
            .iter()
            .map(|r| r.to_string())
            .collect();
        writeln!(
            out,
            r#"    <testcase classname="{class}" name="complete run">"#
        )?;
        writeln!(
            out,
            r#"      <error message="incomplete: {}" type="incomplete">{}</error>"#,
            a(&reasons.join("; ")),
            x(&reasons.join("\n"))
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
