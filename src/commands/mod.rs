//! The subcommands, a file each. What their runs share — inputs, set-up, fan-out, sinks,
//! prompt and interrupts — is the run engine (src/run/).

mod apply;
mod audit;
mod completions;
mod discover;
mod man;
mod merge;
mod plan;
mod rollback;
mod validate;

pub(crate) use apply::apply;
pub(crate) use audit::audit;
pub(crate) use completions::completions;
pub(crate) use discover::discover;
pub(crate) use man::man;
pub(crate) use merge::merge;
pub(crate) use plan::plan;
pub(crate) use rollback::rollback;
pub(crate) use validate::validate;
