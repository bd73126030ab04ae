//! The run's model: rows and their reasons, the run's stats, metadata and events, and how it
//! ends. Renderers (src/report/) import it; it imports no renderer.

mod change;
mod ending;
mod event;
mod meta;
mod nodes;
mod reason;
#[expect(
    unreachable_pub,
    reason = "issue 28: row.rs, stats.rs and csv.rs are being reworked in parallel (the typed row); their `pub` becomes `pub(crate)` once that lands"
)]
mod row;
#[expect(
    unreachable_pub,
    reason = "issue 28: row.rs, stats.rs and csv.rs are being reworked in parallel (the typed row); their `pub` becomes `pub(crate)` once that lands"
)]
mod stats;

pub use ending::{Ended, exit_code};
pub use row::COLUMNS;

pub(crate) use change::Change;
pub(crate) use event::{Abandon, RunEvent};
pub(crate) use meta::{Command, RunMeta};
pub(crate) use nodes::NodeLine;
pub(crate) use reason::{Finding, Findings, NodeCounts, Reason, Severity, TargetError};
pub(crate) use row::{Action, HubDelivery, Outcome, ReportRow, Status, StopReason, rfc3339};
pub(crate) use stats::{NodeTotals, OrgWalk, RunStats};
