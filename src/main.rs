//! The `dbdelta` binary: parse the command line, run it on one runtime, and turn the outcome into
//! an exit code (0 in sync, 1 differences found by `diff`, 2 error, 130 / 143 stopped by SIGINT /
//! SIGTERM). What each subcommand does is `dbdelta::commands`.

use anyhow::Context;
use dbdelta::{execute, Cli, Reporter, EXIT_ERROR};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Made before anything can fail, so that even a bad job file is reported in the format asked.
    let reporter = Reporter::new(cli.reporter_options());
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(execute(cli.command, &reporter)));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            reporter.error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}
