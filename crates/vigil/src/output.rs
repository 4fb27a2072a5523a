//! What goes to the terminal besides data: logging set-up, colour decisions, the one-line error,
//! and the progress bar. stdout carries only data.

use crate::cli::{ColorChoice, GlobalArgs, LogFormatArg};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_core::logging::{self, LogFormat};

/// Installs the global, redacting subscriber. `chatty` commands (the gateway, whose access log
/// is its output) log at info by default.
pub(crate) fn init_logging(g: &GlobalArgs, chatty: bool) {
    let json = matches!(g.log_format, LogFormatArg::Json);
    JSON_ERRORS.store(json, std::sync::atomic::Ordering::Relaxed);
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) if json || chatty => "info",
        (_, 0) => "warn",
        (_, 1) => "debug",
        _ => "trace",
    };
    let format = match g.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    let sub = logging::subscriber(
        format,
        level,
        use_color(g.color, &std::io::stderr()),
        std::io::stderr,
    );
    let _ = tracing::subscriber::set_global_default(sub);
}

/// Whether to colour a stream.
pub(crate) fn use_color(choice: ColorChoice, stream: &impl IsTerminal) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// One warning per env file discovery left out.
pub(crate) fn warn_skipped(skipped: &[vigil_env::discover::Skipped]) {
    for s in skipped {
        let hint = match s.kind {
            vigil_env::discover::SkipKind::Special => "",
            _ => " (name it in [env] files to read it)",
        };
        tracing::warn!(
            "{}: {}; skipped{hint}",
            vigil_core::logging::printable(&s.path.display().to_string()),
            s.reason
        );
    }
}

/// Prints an error as one redacted line (the full chain joined by `: `).
pub(crate) fn print_error(err: &anyhow::Error) {
    let line = format!("{err:#}");
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    // A value put where a name or a size belongs (`--tokens ghp_…`, `max_file_size = "ghp_…"`)
    // is quoted by the error that refuses it.
    let line = mask(&line);
    if JSON_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
        // `--log-format json`: the error is one JSON event like every other line on stderr.
        tracing::error!(exit_code = 2, "{line}");
    } else {
        eprintln!("vigil: {}", vigil_core::logging::printable(&line));
    }
}

/// Whether `--log-format json` asked for errors as JSON events (set by [`init_logging`]).
static JSON_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Text that may quote a secret (an error quoting a misplaced value, a tool name an upstream
/// chose) as it may be printed: every secret registered with `vigil_core::redact` (route
/// credentials, keys) and what `vigil scan`'s built-in rules find, through the same redactor the
/// gateway installs for its logs (`vigil_gateway::logs`; the rules compile on first use).
pub(crate) fn mask(text: &str) -> String {
    vigil_gateway::logs::install();
    vigil_core::redact::redact(text).into_owned()
}

/// A bytes/s progress bar on stderr that appears only on a terminal, and only once a scan has run
/// for more than a second; a history scan adds the commits compared and the blobs read.
pub(crate) struct Progress {
    bar: ProgressBar,
    start: Instant,
    enabled: bool,
    shown: AtomicBool,
    commits: std::sync::atomic::AtomicU64,
    blobs: std::sync::atomic::AtomicU64,
}

impl Progress {
    /// A bar, enabled when stderr is a terminal and not `--quiet`.
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg}scanned {binary_bytes} ({binary_bytes_per_sec}) in {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Progress {
            bar,
            start: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
            commits: Default::default(),
            blobs: Default::default(),
        }
    }

    /// Counts what a scan reports: commits compared (history) or a file or blob read.
    pub(crate) fn update(&self, p: vigil_scan::git::Progress) {
        match p {
            vigil_scan::git::Progress::Commits(n) => {
                self.commits.fetch_add(n, Ordering::Relaxed);
                self.message();
                self.inc(0);
            }
            vigil_scan::git::Progress::Blob(n) => {
                // History blobs are counted; a file scan has no commits and shows bytes only.
                let b = self.blobs.fetch_add(1, Ordering::Relaxed) + 1;
                if b.is_multiple_of(256) && self.commits.load(Ordering::Relaxed) > 0 {
                    self.message();
                }
                self.inc(n);
            }
        }
    }

    fn message(&self) {
        let (c, b) = (
            self.commits.load(Ordering::Relaxed),
            self.blobs.load(Ordering::Relaxed),
        );
        self.bar
            .set_message(format!("{c} commit(s), {b} blob(s), "));
    }

    /// Counts bytes read.
    pub(crate) fn inc(&self, bytes: u64) {
        self.bar.inc(bytes);
        if self.enabled
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Writes a report in `format` to `--report-path` (atomically), else to stdout, in colour when
/// text goes to a terminal that wants it (`opts.color` is set here).
pub(crate) fn emit_report(
    g: &GlobalArgs,
    report: &vigil_report::Report,
    format: vigil_report::Format,
    opts: vigil_report::RenderOptions,
    report_path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    emit(g, report, format, opts, report_path, false)
}

/// [`emit_report`] for a run that records what it reported (`lint --pin` writes its lock
/// after the report): a closed stdout is an error (`main` exits 2 saying so), not a quiet end.
pub(crate) fn emit_report_or_fail(
    g: &GlobalArgs,
    report: &vigil_report::Report,
    format: vigil_report::Format,
    opts: vigil_report::RenderOptions,
    report_path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    emit(g, report, format, opts, report_path, true)
}

fn emit(
    g: &GlobalArgs,
    report: &vigil_report::Report,
    format: vigil_report::Format,
    mut opts: vigil_report::RenderOptions,
    report_path: Option<&std::path::Path>,
    closed_stdout_fails: bool,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    match report_path {
        Some(p) => vigil_report::save(p, format, report, &opts)
            .with_context(|| format!("{}: cannot write the report", p.display()))?,
        None => {
            opts.color =
                format == vigil_report::Format::Text && use_color(g.color, &std::io::stdout());
            // Rendered first, so a closed stdout is one clean EPIPE.
            let mut buf = Vec::new();
            vigil_report::render(format, report, &opts, &mut buf)?;
            if closed_stdout_fails {
                use std::io::Write as _;
                // A stdout closed before the start (`>&-`) is /dev/null by now (the runtime
                // opens it read-write in its place, and writes to it succeed): as closed as
                // a broken pipe, so it fails the same way.
                if stdout_closed_at_start() {
                    return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
                }
                let mut out = std::io::stdout().lock();
                out.write_all(&buf).and_then(|()| out.flush())?;
            } else {
                write_stdout(&buf)?;
            }
        }
    }
    Ok(())
}

/// Whether stdout was closed when the process started: on Linux, the Rust runtime then opens
/// `/dev/null` read-write as fd 1, which a shell's `>/dev/null` (write-only) never does.
pub(crate) fn stdout_closed_at_start() -> bool {
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else {
        return false;
    };
    if target != std::path::Path::new("/dev/null") {
        return false;
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else {
        return false;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 == 0o2)
}

/// Whether a command whose stdout reader went away runs on to its verdict (set by `main` for
/// commands that write no files).
static KEEP_GOING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets whether a closed stdout lets the command run on (see `println!` in `main.rs`).
pub(crate) fn keep_going_without_stdout(on: bool) {
    KEEP_GOING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// What a failed write to stdout means: a reader that went away (EPIPE) is no error for a
/// command that runs on to its verdict (its output is dropped, its exit code stands: a CI gate
/// piped into `| true` still fails); any other failure, or one of a command that writes files,
/// is returned.
pub(crate) fn stdout_failed(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe
        && KEEP_GOING.load(std::sync::atomic::Ordering::Relaxed)
    {
        return Ok(());
    }
    Err(e)
}

/// Writes a rendered report to stdout. A closed stdout (`vigil … | head -1`) is not an error:
/// the verdict (exit code) stands even when nobody reads the report.
pub(crate) fn write_stdout(buf: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(buf).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// `--format` of the commands that write diagnostics through `vigil-report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human text, one line per finding: `file:line[:column]: message [rule]`.
    Text,
    /// JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CSV.
    Csv,
    /// JUnit XML.
    Junit,
    /// A Markdown table.
    Markdown,
}

impl From<FormatArg> for vigil_report::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => vigil_report::Format::Text,
            FormatArg::Json => vigil_report::Format::Json,
            FormatArg::Sarif => vigil_report::Format::Sarif,
            FormatArg::Csv => vigil_report::Format::Csv,
            FormatArg::Junit => vigil_report::Format::Junit,
            FormatArg::Markdown => vigil_report::Format::Markdown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an upstream names a tool (printed by `gateway pin`) or what an error quotes is masked:
    /// a registered credential (a route header's token) and what the scan rules recognise.
    #[test]
    fn mask_hides_registered_credentials_and_recognised_tokens() {
        let cred: String = (0..32)
            .map(|i| char::from(b'a' + ((i * 7 + 3) % 26) as u8))
            .collect();
        vigil_core::redact::register(&cred);
        let aws = format!("AKIA{}{}", "Q3EGRZ7X", "W5MN2TLP");
        let text = format!("+ tool_{cred} (new) {aws}");
        let shown = mask(&text);
        assert!(!shown.contains(&cred), "{shown}");
        assert!(!shown.contains(&aws), "{shown}");
        assert!(shown.starts_with("+ tool_"), "{shown}");
    }
}
