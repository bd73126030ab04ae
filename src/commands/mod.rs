//! The subcommands, a file each, and what their runs share: the checked inputs and where the
//! accounts come from, the set-up of a run over targets, the reporters it feeds, the prompt
//! and the interrupt listener.

mod apply;
mod audit;
mod completions;
mod discover;
mod inputs;
mod interrupt;
mod man;
mod merge;
mod plan;
pub(crate) mod prompt;
mod rollback;
pub(crate) mod setup;
pub(crate) mod sinks;
mod sources;
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
