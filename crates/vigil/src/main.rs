//! The `vigil` binary: parse the command line, set up logging, dispatch, map the outcome to an
//! exit code. Everything else lives in the subcommand files and the library crates.

mod cli;
mod commands;
mod output;

use clap::Parser;

/// mimalloc instead of the system allocator: the gateway allocates small, short-lived buffers on
/// every request, and the scanner on every file, where glibc's malloc spends its time
/// consolidating free chunks.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;
use vigil_core::ExitStatus;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let chatty = matches!(cli.command, cli::Command::Gateway(_))
        || matches!(&cli.command, cli::Command::Memory(m)
            if matches!(m.command, commands::memory::MemoryCommand::Serve(_)));
    output::init_logging(&cli.global, chatty);
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            output::print_error(&err);
            ExitStatus::Error.into()
        }
    }
}
