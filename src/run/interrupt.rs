//! Ctrl-C and SIGTERM during a run: the first stops new targets and lets those in flight
//! finish; the second, or the end of the grace period, abandons them.

use std::sync::Arc;
use std::time::Duration;

use super::fanout::Control;
use crate::model::{Abandon, RunEvent, StopReason};
use crate::terminal::events::EventLog;

/// Ctrl-C: the first stops new targets and lets those in flight finish (for at most
/// `grace`); the second, or the end of the grace, abandons them.
pub(crate) fn listen_for_interrupts(
    control: Arc<Control>,
    log: EventLog,
    grace: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // A CI job being cancelled sends SIGTERM: it gets the same orderly stop as Ctrl-C.
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        control.stop(StopReason::Interrupted);
        log.emit(RunEvent::Interrupted {
            grace_seconds: grace.as_secs(),
        });
        let why = tokio::select! {
            _ = tokio::signal::ctrl_c() => Abandon::InterruptedAgain,
            _ = term.recv() => Abandon::TerminatedAgain,
            _ = tokio::time::sleep(grace) => Abandon::GraceOver,
        };
        log.emit(RunEvent::Abandoned { why });
        control.abandon();
    })
}

pub(crate) const INTERRUPT_GRACE: Duration = Duration::from_secs(30);
