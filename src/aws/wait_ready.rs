//! `--wait-ready`'s wait for new accounts: each account's role assumed until STS stops
//! answering AccessDenied (a role a new account does not have yet), or the wait ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::aws::retry::Stop;
use crate::aws::session::Session;
use crate::target::AccountId;

impl Session {
    /// `--wait-ready`: assumes each account's role, `in_flight` at a time, and where STS
    /// answers AccessDenied (a new account's role not there yet) tries again until `until`,
    /// telling `waiting` which account waits and for how long at most, and `ready` how long
    /// it waited once it is ready. An account still failing is left for its targets' calls
    /// to report.
    pub(crate) async fn wait_ready(
        &self,
        order: &[AccountId],
        in_flight: usize,
        until: Instant,
        stop: &impl Stop,
        waiting: impl Fn(&AccountId, Duration) + Sync,
        ready: impl Fn(&AccountId, Duration) + Sync,
    ) {
        futures::stream::iter(self.assumed(order))
            .for_each_concurrent(in_flight, |(id, a)| {
                let (waiting, ready) = (&waiting, &ready);
                async move {
                    let started = Instant::now();
                    let waited = AtomicBool::new(false);
                    let answer = a
                        .fetch_when_ready(until, stop, |left| {
                            waited.store(true, Ordering::Relaxed);
                            waiting(id, left)
                        })
                        .await;
                    if answer.is_ok() && waited.load(Ordering::Relaxed) {
                        ready(id, started.elapsed());
                    }
                }
            })
            .await;
    }
}
