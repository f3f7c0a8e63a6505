//! The `smartimage` binary: with no subcommand the console; with one, a headless verb of the
//! scripting contract (README.md, "Using it"). Exit codes: 0 ok, 1 runtime failure, 2 bad usage,
//! 3 permission denied.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_when_stdout_closes();
    // Nothing this process creates is open to other users (files 0660, folders 0770).
    smartimage::library::privacy::restrict_process_umask();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("smartimage: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Exit status of a Unix tool killed by SIGPIPE (128 + 13).
const CLOSED_STDOUT_EXIT: i32 = 141;

/// `smartimage files list | head`: once the reader has what it wants it closes the pipe, and
/// `println!` panics with a backtrace. End quietly instead, as Unix tools do (status 141). The
/// signal itself stays ignored, as Rust sets it: the Dropbox client's sockets rely on seeing
/// EPIPE as an error rather than dying of it. An interrupted import is safe to end this way (it
/// is crash safe at any instant).
fn quiet_when_stdout_closes() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
        previous(info);
    }));
}
