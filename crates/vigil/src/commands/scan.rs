//! `vigil scan [PATH...]`: map the arguments to `vigil-scan`'s settings and target, run the
//! scan, drop what ignore files and the baseline know, and print the report and the summary.

use crate::cli::scan::ScanArgs;
use crate::cli::{GlobalArgs, LogFormatArg};
use crate::output::Progress;
use std::path::Path;
use vigil_core::ExitStatus;
use vigil_report::{Format, RenderOptions, TextStyle};
use vigil_scan::{ConfigSource, ScanSettings};

/// Runs a scan: settings, the scan, then what `vigil_scan::finish` says to print.
pub(crate) fn run(g: &GlobalArgs, mut args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let flags = args.flags();
    if args.paths.is_empty() {
        args.paths.push(".".into());
    }
    let config = ConfigSource {
        explicit: g.config.as_deref(),
        sections: super::SECTIONS,
    };
    let settings = ScanSettings::resolve(config, Path::new("."), &args.paths, &flags)?;
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let target = args.target(&settings)?;
    if matches!(target, vigil_scan::Target::Paths)
        && args.report_path.is_none()
        && !settings.allow_incomplete
    {
        // A path that is not there: one line naming it, exit 2 (a report written to a file,
        // or --allow-incomplete, says instead that the scan of the other paths is incomplete).
        settings.check_paths()?;
    }
    let progress = Progress::new(g.quiet);
    let outcome = vigil_scan::scan_with(&settings, target, &|p| progress.update(p))?;
    progress.finish();
    let format = Format::from(args.format);
    let done = vigil_scan::finish(&settings, outcome, format, env!("CARGO_PKG_VERSION"))?;
    for w in done.outcome.warnings.iter().chain(&done.warnings) {
        tracing::warn!("{w}");
    }
    if let Some(path) = &done.baseline_written {
        if !g.quiet {
            eprintln!(
                "vigil: recorded {} finding(s) in baseline {}",
                done.found,
                path.display()
            );
        }
        return Ok(done.status);
    }
    let report = done
        .report
        .as_ref()
        .expect("a report unless a baseline was recorded");
    crate::output::emit_report(
        g,
        report,
        format,
        RenderOptions {
            show_secrets: args.show_secrets,
            color: false,
            style: TextStyle::Full,
        },
        args.report_path.as_deref(),
    )?;
    if matches!(g.log_format, LogFormatArg::Json) {
        done.outcome.log_finished(done.found);
    } else if !g.quiet {
        // Said, so a baseline or an ignore file never hides findings in silence.
        let known = match done.suppressed {
            0 => String::new(),
            n => format!("; {n} known finding(s) not shown (baseline or ignore files)"),
        };
        eprintln!(
            "vigil: {} finding(s) in {}{known}",
            done.found,
            done.outcome.summary()
        );
    }
    // Never clean when it could not look: the report says why (once per reason, in every
    // format); stderr says so once, as `vigil lint` does.
    let reasons = done
        .incomplete
        .iter()
        .filter(|l| l.starts_with("incomplete scan: "))
        .count();
    if reasons > 0 {
        let whither = match &args.report_path {
            Some(p) => format!(
                "the reasons are in {}",
                vigil_core::logging::printable(&p.display().to_string())
            ),
            None => "the reasons are in the report on stdout".to_owned(),
        };
        let verdict = if settings.allow_incomplete {
            "--allow-incomplete: exiting as if complete"
        } else {
            "exit 2"
        };
        eprintln!("vigil: incomplete scan: {reasons} reason(s) ({whither}); {verdict}");
    }
    Ok(done.status)
}
