//! The JUnit XML report: one failing test case per finding, or one passing case when clean, so CI
//! systems that read JUnit show secrets as failed tests.

use super::{xml_escape as x, Context};
use crate::finding::Finding;
use std::io::{self, Write};

pub(super) fn write(
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let n = findings.len().max(1);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="vigil scan" tests="{n}" failures="{}">"#,
        findings.len()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="vigil scan" tests="{n}" failures="{}" errors="0" skipped="0">"#,
        findings.len()
    )?;
    if findings.is_empty() {
        writeln!(
            out,
            r#"    <testcase classname="vigil.scan" name="no secrets found"/>"#
        )?;
    }
    for f in findings {
        writeln!(
            out,
            r#"    <testcase classname="{}" name="{}:{}:{}">"#,
            x(&f.rule),
            x(&f.file),
            f.line,
            f.column
        )?;
        writeln!(
            out,
            r#"      <failure message="{} found" type="{}">{} at {}:{}:{} secret {} fingerprint {}</failure>"#,
            x(&f.description),
            x(&f.rule),
            x(&f.description),
            x(&f.file),
            f.line,
            f.column,
            x(&ctx.secret(f)),
            x(&f.fingerprint)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
