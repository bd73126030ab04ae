//! The run's model: rows and their reasons, the run's stats, metadata and events, and how it
//! ends. Renderers (src/report/) import it; it imports no renderer.

mod ending;
mod event;
mod meta;
mod reason;
mod row;
mod stats;

pub use ending::{Ended, exit_code};
pub use event::{Abandon, RunEvent};
pub use meta::{Command, RunMeta};
pub use reason::{Finding, Findings, Reason, Severity, TargetError};
pub use row::{Action, COLUMNS, HubDelivery, Outcome, ReportRow, Status, StopReason, rfc3339};
pub use stats::RunStats;
