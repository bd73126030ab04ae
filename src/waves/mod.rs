//! Staged rollout: which accounts each wave holds (plan), and apply's write phase that runs
//! them (executor).

mod executor;
mod plan;

pub(crate) use executor::{waves, write};
pub(crate) use plan::{Stage, WavePlan, parse_spec};
