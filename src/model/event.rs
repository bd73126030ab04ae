//! What happens to a run as a whole, beside its targets' rows: waves starting, verified and
//! halted, the run stopped or interrupted. The commands emit these; reporters render them.

use serde::{Deserialize, Serialize};

use super::meta::Command;

/// One event of the run; a target's own end is its row, not an event. In the summary JSON
/// each is an object named by its `event` (`wave_started`, …) with its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum RunEvent {
    /// A wave starts writing.
    WaveStarted {
        number: usize,
        of: usize,
        accounts: usize,
        targets: usize,
    },
    /// A wave's writes are done and read back; `counts` as "created 3 · failed 1".
    WaveVerified {
        number: usize,
        of: usize,
        counts: String,
    },
    /// A region of the wave failed: the wave's later regions are not started.
    WaveHaltedBeforeRegion {
        number: usize,
        failed: usize,
        region: String,
    },
    /// A wave failed: the later waves are not started.
    WaveHalted { number: usize, failed: usize },
    /// `--wave-wait`: waiting before the next wave.
    Baking { seconds: u64, next: usize },
    /// `--pause`: the operator declined the next wave.
    DeclinedBeforeWave { next: usize },
    /// More targets failed than `--max-failures` allows (`max` as the flag was given).
    MaxFailuresExceeded { max: String },
    /// Ctrl-C or SIGTERM: no new target starts; those in flight get `grace_seconds`.
    Interrupted { grace_seconds: u64 },
    /// `--deadline` or Lambda mode: the deadline is near, so no new target starts; those in
    /// flight get `grace_seconds`, and the rest is the time to store the reports.
    DeadlineNear { grace_seconds: u64 },
    /// A second Ctrl-C, a second SIGTERM, the grace period's end, or the deadline: abandoned
    /// in flight.
    Abandoned { why: Abandon },
    /// `--wait-ready`: an account is not ready yet (`waiting_for` says what), tried again
    /// for up to `seconds` more.
    Waiting {
        account: String,
        waiting_for: String,
        seconds: u64,
    },
    /// `--wait-ready`: an account that was waited for is ready, after `seconds`.
    Ready { account: String, seconds: u64 },
    /// The operator declined (or interrupted) the confirmation: nothing was written.
    Cancelled { command: Command },
}

/// Why the targets in flight were abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Abandon {
    InterruptedAgain,
    TerminatedAgain,
    GraceOver,
    /// Lambda mode: the time left is for storing the reports.
    DeadlineReached,
}
