//! Parsed flags → validated settings, in one step before anything runs: every number
//! range-checked once, with one message naming the flag (exit 2, no AWS call).

mod caller;
mod checked;
mod from_cli;
mod values;

pub use caller::Caller;
pub(crate) use caller::redacted_command_line;
pub(crate) use checked::*;
pub use checked::{Settings, Verbosity};
pub use from_cli::{summary_json_on_stdout, verbosity};
