//! The run engine, which the commands (src/commands/) call and which never imports one: a
//! run's inputs read and resolved to targets (inputs, sources, regions; `--org`'s accounts
//! as the walk finds them: walking, org_found, items), the run prepared (setup), then
//! executed with a step into a phase's sinks, ending in its outcome (engine); the bounded
//! fan-out over targets (fanout), apply's write phase at once or wave by wave (executor),
//! what a run reports to (sinks), audit's Security Hub findings sent (findings), Ctrl-C and SIGTERM (interrupt) and the confirmation prompt
//! (prompt). No step (src/steps/) imports it.

mod engine;
pub(crate) mod executor;
pub(crate) mod fanout;
mod findings;
mod inputs;
mod interrupt;
mod items;
mod org_found;
mod prompt;
mod regions;
mod setup;
mod sinks;
mod sources;
mod tags_cache;
mod walking;

pub(crate) use engine::{Audit, Phase, Plan, Read, Rollback, Run, each_arriving};
pub(crate) use inputs::{load_inputs, region_totals, warn_all};
pub(crate) use interrupt::Listening;
pub(crate) use items::{Arrival, Items};
pub(crate) use prompt::{confirm_or_cancel, yes_or_terminal};
pub(crate) use setup::{Prepared, Start, Starting};
pub(crate) use sinks::{RunOutcome, open_report};
pub(crate) use sources::read_organization;
