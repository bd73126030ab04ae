//! The subcommands, a file each, and what their runs share (inputs, reporting).

mod help;
mod inputs;
mod organization;
mod rollback;
mod run;
mod sinks;
mod validate;

pub use help::{completions, man};
pub use organization::{discover, merge};
pub use rollback::rollback;
pub use run::{apply, audit, plan};
pub use sinks::Ended;
pub use validate::validate;
