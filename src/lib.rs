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
use crate::settings::Settings;
use crate::terminal::printer::Printer;

/// Runs one command with checked settings: every line it prints goes through `printer`.
pub async fn run(settings: &Settings, printer: &Printer) -> Result<Ended, InputError> {
    match settings {
        Settings::Validate(s) => commands::validate(printer, s),
        Settings::Plan(s) => commands::plan(printer, s).await,
        Settings::Apply(s) => commands::apply(printer, s).await,
        Settings::Audit(s) => commands::audit(printer, s).await,
        Settings::Rollback(s) => commands::rollback(printer, s).await,
        Settings::Discover(s) => commands::discover(printer, s).await,
        Settings::Merge { reports, output } => commands::merge(printer, reports, output),
        Settings::Completions(shell) => commands::completions(printer, *shell),
        Settings::Man => commands::man(printer),
    }
}
