//! The `smartimage` binary: with no subcommand the console; with one, a headless verb of the
//! scripting contract (DESIGN §6). Exit codes: 0 ok, 1 runtime failure, 2 bad usage,
//! 3 permission denied.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("smartimage: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
