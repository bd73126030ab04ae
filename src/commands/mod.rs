//! The subcommands, a file each, and what their runs share: the checked inputs, the set-up of
//! a run over targets, the reporters it feeds, the prompt and the interrupt listener.

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
mod validate;

pub use apply::apply;
pub use audit::audit;
pub use completions::completions;
pub use discover::discover;
pub use man::man;
pub use merge::merge;
pub use plan::plan;
pub use rollback::rollback;
pub use validate::validate;
