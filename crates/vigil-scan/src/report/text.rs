//! The human report: one block per finding, the secret redacted, colour on a terminal.

use super::Context;
use crate::finding::Finding;
use std::io::{self, Write};

pub(super) fn write(
    findings: &[Finding],
    ctx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (bold, red, dim, reset) = if ctx.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for f in findings {
        let commit = f
            .commit
            .as_deref()
            .map(|c| format!(" @ {}", &c[..c.len().min(12)]))
            .unwrap_or_default();
        writeln!(
            out,
            "{bold}{}:{}:{}{reset}{commit}  {red}{}{reset}  {}",
            f.file,
            f.line,
            f.column,
            f.rule,
            ctx.secret(f)
        )?;
        writeln!(
            out,
            "    {dim}{}  entropy {:.2}  fingerprint {}{reset}",
            f.description, f.entropy, f.fingerprint
        )?;
    }
    Ok(())
}
