//! Entry point: parse the command line, run the command, map the outcome to an exit code.

mod aws;
mod cli;
mod commands;
mod discover;
mod error;
mod inventory;
mod preferences;
mod report;
mod rollout;
mod runner;
mod suggest;
mod target;
mod yaml;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::Ended;

// The SDK allocates for every header, config layer and type-erased value of every call: with
// mimalloc the tool spends measurably less CPU per target than with glibc's allocator
// (scripts/bench.sh, README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread: at ~0.4 ms of CPU per SSM call it serves far more calls than the concurrency
    // keeps in flight against AWS, and nothing wakes across threads (README "Performance").
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate(args) => commands::validate(args),
            Command::Plan(args) => commands::plan(args).await,
            Command::Apply(args) => commands::apply(args).await,
            Command::Audit(args) => commands::audit(args).await,
            Command::Rollback(args) => commands::rollback(args).await,
            Command::Discover(args) => commands::discover(args).await,
            Command::Report(cmd) => commands::report(cmd),
        }
    });
    // Ctrl-C at the confirmation prompt leaves its stdin read (a blocking task) waiting for a
    // line; dropping the runtime would wait with it, so the tool would not exit until Enter.
    runtime.shutdown_background();
    match result {
        Ok(Ended::Success) => ExitCode::SUCCESS,
        Ok(Ended::Failures) => ExitCode::from(1),
        Ok(Ended::Interrupted) => ExitCode::from(130),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
