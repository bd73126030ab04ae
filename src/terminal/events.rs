//! The run's events: each [`RunEvent`] on the terminal as the line an operator reads, through
//! the printer (a note at the default verbosity, a warning-level line where the run stopped),
//! and kept in the run's log for the summary JSON.

use std::sync::{Arc, Mutex};

use crate::model::{Abandon, RunEvent};
use crate::terminal::printer::Printer;
use crate::words::{self, count};

/// The events of one run, in order: shown as they happen, kept for the end. Cloned into the
/// interrupt listener, which emits from its own task.
#[derive(Clone)]
pub(crate) struct EventLog {
    printer: Printer,
    events: Arc<Mutex<Vec<RunEvent>>>,
}

impl EventLog {
    pub(crate) fn new(printer: &Printer) -> Self {
        Self {
            printer: printer.clone(),
            events: Arc::default(),
        }
    }

    pub(crate) fn emit(&self, event: RunEvent) {
        show(&self.printer, &event);
        self.events.lock().expect("event log lock").push(event);
    }

    /// Every event so far.
    pub(crate) fn events(&self) -> Vec<RunEvent> {
        self.events.lock().expect("event log lock").clone()
    }
}

/// Prints one event.
pub(crate) fn show(printer: &Printer, event: &RunEvent) {
    match event {
        RunEvent::WaveStarted {
            number,
            of,
            accounts,
            targets,
        } => printer.note(&format!(
            "wave {number} of {of}: {}, {}",
            count(*accounts, "account"),
            count(*targets, "target")
        )),
        RunEvent::WaveVerified { number, of, counts } => {
            printer.note(&format!("wave {number} of {of} done: {counts}"))
        }
        RunEvent::WaveHaltedBeforeRegion {
            number,
            failed,
            region,
        } => printer.say(&format!(
            "halted: {} in wave {number} failed before region {region}; the targets not started are skipped (WaveHalted)",
            count(*failed, "target")
        )),
        RunEvent::WaveHalted { number, failed } => printer.say(&format!(
            "halted: {} in wave {number} failed; the targets of the later waves are skipped (WaveHalted): fix the failures, then --retry-failed on the report",
            count(*failed, "target")
        )),
        RunEvent::Baking { seconds, next } => printer.note(&format!(
            "baking: waiting {seconds}s before wave {next} (Ctrl-C stops the rollout)"
        )),
        RunEvent::Waiting {
            account,
            waiting_for,
            seconds,
        } => printer.note(&format!(
            "waiting for account {account}: {waiting_for}; trying again for up to {} (--wait-ready)",
            words::duration(*seconds)
        )),
        RunEvent::Ready { account, seconds } => printer.note(&format!(
            "account {account} is ready after {}",
            words::duration(*seconds)
        )),
        RunEvent::DeclinedBeforeWave { next } => printer.say(&format!(
            "stopped before wave {next}: the targets of the later waves are skipped (WaveHalted)"
        )),
        RunEvent::MaxFailuresExceeded { max } => printer.say(&format!(
            "stopped: more than {max} targets failed; the targets not started are reported skipped"
        )),
        RunEvent::Interrupted { grace_seconds } => printer.say(&format!(
            "interrupted: no new target starts; waiting up to {grace_seconds}s for those in flight (Ctrl-C again to abandon them)"
        )),
        RunEvent::DeadlineNear { grace_seconds } => printer.say(&format!(
            "the deadline is near (--deadline, or the Lambda invocation's): no new target starts; waiting up to {grace_seconds}s for those in flight, then the reports are stored"
        )),
        RunEvent::Abandoned { why } => printer.say(match why {
            Abandon::InterruptedAgain => "interrupted again: abandoning the targets in flight",
            Abandon::TerminatedAgain => "terminated again: abandoning the targets in flight",
            Abandon::GraceOver => "targets still in flight after the grace period: abandoning them",
            Abandon::DeadlineReached => {
                "targets still in flight at the invocation's deadline: abandoning them"
            }
        }),
        RunEvent::Cancelled { command } => {
            printer.say(&format!("{command} cancelled: nothing was written"))
        }
    }
}
