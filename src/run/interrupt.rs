//! Ctrl-C and SIGTERM during a run, and a Lambda invocation's deadline: the first stops new
//! targets and lets those in flight finish; the second, or the end of the grace period,
//! abandons them.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::fanout::Control;
use crate::model::{Abandon, RunEvent, StopReason};
use crate::settings::Deadline;
use crate::terminal::events::EventLog;

/// The interrupt listener of a phase: it listens for as long as this is held, and stops when
/// it is dropped (a phase that ends, by any path, never leaves a listener behind).
#[must_use = "the listener stops when this is dropped"]
pub(crate) struct Listening(tokio::task::JoinHandle<()>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Ctrl-C: the first stops new targets and lets those in flight finish (for at most
/// `grace`); the second, or the end of the grace, abandons them. With a `deadline` (Lambda
/// mode) its stop time is a first Ctrl-C, and its abandon time ends any grace: the rows and
/// the reports are written before the invocation is cut off.
pub(crate) fn listen_for_interrupts(
    control: Arc<Control>,
    log: EventLog,
    grace: Duration,
    deadline: Option<Deadline>,
) -> Listening {
    Listening(tokio::spawn(async move {
        // A CI job being cancelled sends SIGTERM: it gets the same orderly stop as Ctrl-C.
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        let at = |when: Option<std::time::Instant>| async move {
            match when {
                Some(when) => tokio::time::sleep_until(Instant::from_std(when)).await,
                None => std::future::pending().await,
            }
        };
        let abandon_at = deadline.map(|d| d.abandon_at);
        let interrupted = tokio::select! {
            _ = tokio::signal::ctrl_c() => true,
            _ = term.recv() => true,
            _ = at(deadline.map(|d| d.stop_at)) => false,
        };
        control.stop(StopReason::Interrupted);
        let grace_end = Instant::now() + grace;
        let grace_end = match abandon_at {
            Some(a) if interrupted => grace_end.min(Instant::from_std(a)),
            Some(a) => Instant::from_std(a),
            None => grace_end,
        };
        let grace_seconds = grace_end
            .saturating_duration_since(Instant::now())
            .as_secs();
        log.emit(if interrupted {
            RunEvent::Interrupted { grace_seconds }
        } else {
            RunEvent::DeadlineNear { grace_seconds }
        });
        let why = tokio::select! {
            _ = tokio::signal::ctrl_c() => Abandon::InterruptedAgain,
            _ = term.recv() => Abandon::TerminatedAgain,
            _ = tokio::time::sleep_until(grace_end) => match abandon_at {
                Some(a) if Instant::from_std(a) <= grace_end => Abandon::DeadlineReached,
                _ => Abandon::GraceOver,
            },
        };
        log.emit(RunEvent::Abandoned { why });
        control.abandon();
    }))
}

pub(crate) const INTERRUPT_GRACE: Duration = Duration::from_secs(30);
