//! ssm-prefs as a library: the binary (`src/main.rs`) and the tests use it, and only what they
//! use is public (the rest is `pub(crate)`, which `unreachable_pub` holds; what is public is
//! documented). docs/development.md "Where things live" names what each module owns.

#![warn(missing_docs)]

mod answers;
mod aws;
pub mod cli;
mod commands;
pub mod error;
mod files;
mod inventory;
pub mod lambda;
pub mod lifecycle;
pub mod model;
mod names;
mod nodes;
pub mod preferences;
mod preflight;
#[cfg(test)]
mod proptests;
pub mod report;
mod run;
mod sensitive;
pub mod settings;
mod steps;
mod suggest;
pub mod target;
pub mod terminal;
mod waves;
mod words;
mod yaml;

use crate::error::InputError;
use crate::model::Ended;
use crate::run::RunOutcome;
use crate::settings::{Caller, Settings};
use crate::terminal::printer::Printer;

/// Runs one command with checked settings: every line it prints goes through `printer`;
/// `caller` is who runs it (read once, in `main`).
pub async fn run(
    settings: &Settings,
    printer: &Printer,
    caller: &Caller,
) -> Result<Ended, InputError> {
    execute(settings, printer, caller).await.map(|o| o.ended)
}

/// Runs one command, its outcome typed: how it ended and, for a run over targets, its summary
/// (what Lambda mode takes from the run).
pub(crate) async fn execute(
    settings: &Settings,
    printer: &Printer,
    caller: &Caller,
) -> Result<RunOutcome, InputError> {
    let bare = |r: Result<Ended, InputError>| r.map(RunOutcome::bare);
    match settings {
        Settings::Validate(s) => bare(commands::validate(printer, s)),
        Settings::Plan(s) => commands::plan(printer, s, caller).await,
        Settings::Apply(s) => commands::apply(printer, s, caller).await,
        Settings::Audit(s) => commands::audit(printer, s, caller).await,
        Settings::Rollback(s) => commands::rollback(printer, s, caller).await,
        Settings::Discover(s) => bare(commands::discover(printer, s).await),
        Settings::Merge { reports, output } => bare(commands::merge(printer, reports, output)),
        Settings::Completions(shell) => bare(commands::completions(printer, *shell)),
        Settings::Man => bare(commands::man(printer)),
    }
}
