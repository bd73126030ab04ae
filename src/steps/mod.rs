//! The steps of one target, a file per step: read and decide (plan, apply's first phase),
//! write and read back (apply), audit, rollback. Each target ends as one row; no step prints.

mod audit;
mod job;
mod read;
mod rollback;
mod write;

pub(crate) use audit::{Audited, audit};
pub(crate) use job::{
    FixCommand, Job, interrupted, region_not_enabled, region_not_ready, regions_unknown, skipped,
};
pub(crate) use read::{Planned, read_and_decide};
pub(crate) use rollback::{Undo, rollback};
pub(crate) use write::verify;
