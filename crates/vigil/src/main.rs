//! The `vigil` binary: parse the command line, set up logging, dispatch, map the outcome to an
//! exit code. Everything else lives in the subcommand files and the library crates.

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

/// `println!` for this crate, shadowing std's: it writes to stdout and returns the I/O error with
/// `?` instead of panicking. A closed stdout (`vigil … | head -1`) ends a command that writes
/// files (`main` exits 2: its write may not have happened); any other command runs on to its
/// verdict, which stands (`token check-config … | true` exits 1 on a weak secret, as `scan`
/// does), the rest of its output dropped (see [`output::stdout_failed`]). Every command returns
/// `anyhow::Result`, so `?` works wherever it is used.
macro_rules! println {
    () => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock()) {
            crate::output::stdout_failed(e)?;
        }
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            crate::output::stdout_failed(e)?;
        }
    }};
}

/// `print!` for this crate, for the same reason as `println!` above.
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            crate::output::stdout_failed(e)?;
        }
    }};
}

/// `eprintln!` for this crate, shadowing std's: a closed stderr (`vigil scan . 2>&1 | head -1`)
/// must never turn a verdict into a panic (exit 101); the message is dropped, the exit code
/// stands.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod alloc;
mod cli;
mod commands;
mod output;

use clap::Parser;

use std::process::ExitCode;
use vigil_core::ExitStatus;

fn main() -> ExitCode {
    withhold_panic_messages();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        // A usage error quotes the value it refused (`invalid value 'ghp_…' for '--length'`):
        // masked like every other error. Help and version print as clap renders them.
        Err(e) if e.use_stderr() => {
            let text = output::mask(&e.render().to_string());
            eprintln!("{}", text.trim_end());
            return ExitStatus::Error.into();
        }
        Err(e) => {
            let _ = e.print();
            return ExitStatus::Success.into();
        }
    };
    let chatty = matches!(cli.command, cli::Command::Gateway(_))
        || matches!(&cli.command, cli::Command::Memory(m)
            if matches!(m.command, commands::memory::MemoryCommand::Serve(_)));
    if !chatty {
        alloc::tune_for_batch();
    }
    // Only where the output is the product (a minted token): Python's `subprocess.DEVNULL`,
    // Go's and Node's ignored stdio open `/dev/null` read-write too, and a CI wrapper that
    // reads only the exit code must keep getting the verdict (review).
    let product = matches!(&cli.command, cli::Command::Token(t)
        if matches!(t.command, commands::token::TokenCommand::Mint(_)));
    // A shell that closed stdout (`>&-`) leaves a `/dev/null` Rust's runtime opened read-write
    // in its place, and every write "succeeds": the token would be lost with exit 0.
    if product && output::stdout_closed_at_start() {
        eprintln!(
            "vigil: stdout was closed (`>&-`), so what this command prints would be lost; send it to a file, or to /dev/null with `>/dev/null` (exit 2)"
        );
        return ExitStatus::Error.into();
    }
    output::init_logging(&cli.global, chatty);
    let writes = commands::may_write_files(&cli.command);
    output::keep_going_without_stdout(!writes);
    match commands::run(cli) {
        Ok(status) => status.into(),
        // A command that writes files stopped at its output: what it was to write may not be
        // written, so the run fails, naming why (fail closed).
        Err(err) if is_broken_pipe(&err) && writes => {
            eprintln!(
                "vigil: stdout was closed before the command finished, so it stopped and may not have written everything; run it again without the closed pipe (exit 2)"
            );
            ExitStatus::Error.into()
        }
        // Whoever read stdout has gone (`| head`): nothing left to say, and no one to say it to.
        Err(err) if is_broken_pipe(&err) => ExitStatus::Success.into(),
        Err(err) => {
            output::print_error(&err);
            ExitStatus::Error.into()
        }
    }
}

/// A panic says where it happened, never what: its message may quote the input being checked
/// (a password in a config), and panics reach CI logs. `VIGIL_PANIC_MESSAGE=1` shows the full
/// message for debugging, as the user asked.
fn withhold_panic_messages() {
    if std::env::var_os("VIGIL_PANIC_MESSAGE").is_some_and(|v| v == "1") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "vigil: internal error{at} (a bug: please report it); its message is withheld because it may quote a secret (VIGIL_PANIC_MESSAGE=1 shows it)"
        );
    }));
}

/// Whether an error comes from writing to a pipe whose reader has closed (EPIPE). Rust ignores
/// SIGPIPE, so the write fails instead of killing the process; Unix tools exit quietly then.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
