//! Parsed flags → validated settings, in one step before anything runs: every number
//! range-checked once, with one message naming the flag (exit 2, no AWS call).

mod caller;
mod checked;
mod from_cli;
mod from_env;
mod values;

pub use caller::Caller;
pub(crate) use caller::redacted_command_line;
pub(crate) use checked::*;
pub use checked::{Settings, Verbosity};
#[cfg(test)]
pub(crate) use from_cli::from_args;
pub use from_cli::{summary_json_on_stdout, verbosity};
pub(crate) use from_env::{FunctionRun, FunctionRuns, FunctionSettings};
