//! Bounded concurrent fan-out: at most N items in flight, each on its own task, finished in
//! whatever order they finish (no item waits behind a slow one). Results go to the caller's
//! callback as they come; it never prints. A `Control` stops new items from starting
//! (failure tolerance, first Ctrl-C) or abandons the ones in flight (second Ctrl-C).

use std::future::Future;
use std::sync::Arc;

use futures::future::Either;
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

use crate::aws::retry::Stop;
use crate::model::{Outcome, StopReason, TargetError};

/// Shared switches of a run. Both are `watch` channels, so that a wait (`--wave-wait`'s bake
/// time, a backoff, `--wait-ready`) ends the moment the run stops, without polling.
pub(crate) struct Control {
    stop: watch::Sender<bool>,
    reason: std::sync::Mutex<Option<StopReason>>,
    /// Shared with the controls that follow this one (see [`Control::follower`]).
    abandon: Arc<watch::Sender<bool>>,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            reason: Default::default(),
            abandon: Arc::new(watch::channel(false).0),
        }
    }
}

impl Control {
    /// No new item starts; the first reason given is kept, except that an interrupt always
    /// wins (a Ctrl-C after a tolerance stop still ends the run as interrupted: exit 130).
    pub(crate) fn stop(&self, reason: StopReason) {
        let mut kept = self.reason.lock().expect("not poisoned");
        if reason == StopReason::Interrupted {
            *kept = Some(reason);
        } else {
            kept.get_or_insert(reason);
        }
        drop(kept);
        self.stop.send_replace(true);
    }

    /// In-flight items end now, with their `abandoned` result.
    pub(crate) fn abandon(&self) {
        self.stop(StopReason::Interrupted);
        self.abandon.send_replace(true);
    }

    /// A control for work that must go on after this one stops (the read-back of what was
    /// written): its own stops are its own, and it is abandoned when this one is.
    pub(crate) fn follower(&self) -> Control {
        Control {
            stop: watch::channel(false).0,
            reason: Default::default(),
            abandon: self.abandon.clone(),
        }
    }

    pub(crate) fn stopped(&self) -> Option<StopReason> {
        if *self.stop.borrow() {
            *self.reason.lock().expect("not poisoned")
        } else if *self.abandon.borrow() {
            // A follower whose leader abandoned its items.
            Some(StopReason::Interrupted)
        } else {
            None
        }
    }
}

impl Stop for Control {
    fn is_stopped(&self) -> bool {
        self.stopped().is_some()
    }

    /// Resolves once [`Control::stopped`] would say so.
    async fn until_stopped(&self) {
        let mut stop = self.stop.subscribe();
        let mut abandon = self.abandon.subscribe();
        // Neither sender can be dropped while `self` is borrowed: the waits end only on `true`.
        tokio::select! {
            _ = stop.wait_for(|s| *s) => {}
            _ = abandon.wait_for(|a| *a) => {}
        }
    }
}

/// What an item's result becomes when its task panicked (a bug in this tool): the item fails
/// with the panic's message, and the others go on. Made from the result the item would have
/// had if abandoned, which exists before the task starts.
pub(crate) trait Panicked {
    fn panicked(self, message: &str) -> Self;
}

impl Panicked for Outcome {
    fn panicked(self, message: &str) -> Self {
        Outcome::panicked(self, message)
    }
}

impl Panicked for TargetError {
    fn panicked(self, message: &str) -> Self {
        TargetError::internal(message)
    }
}

impl<O: Panicked> Panicked for Box<O> {
    fn panicked(self, message: &str) -> Self {
        Box::new((*self).panicked(message))
    }
}

/// A result kept beside what it is about (the target, the account).
impl<T, O: Panicked> Panicked for (T, O) {
    fn panicked(self, message: &str) -> Self {
        (self.0, self.1.panicked(message))
    }
}

/// An abandoned item's result is always the error side: a read that never ended.
impl<T, E: Panicked> Panicked for Result<T, E> {
    fn panicked(self, message: &str) -> Self {
        debug_assert!(self.is_err(), "a fallback that succeeds would hide a panic");
        self.map_err(|e| e.panicked(message))
    }
}

/// Debug builds only (the tests'): `SSM_PREFS_DEBUG_PANIC` set makes every item's task panic,
/// a stand-in for a bug that hits every target. A release build has no such switch.
#[cfg(debug_assertions)]
fn debug_panic() {
    if std::env::var_os("SSM_PREFS_DEBUG_PANIC").is_some() {
        panic!("SSM_PREFS_DEBUG_PANIC is set");
    }
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs `work` over `items` (a list, or a stream whose items arrive while the run goes on:
/// `--org`'s walk) with at most `concurrency` in flight, calling `on_done` with each result as
/// it finishes, on the caller's task. Once stopped, items not yet started get
/// `skipped(item)`; when abandoned, items in flight get the `abandoned` result made for them
/// when they started; an item whose task panicked gets that result, [`Panicked`].
pub(crate) async fn run<I, O, F, Fut>(
    items: impl futures::Stream<Item = I>,
    concurrency: usize,
    control: &Control,
    work: F,
    skipped: impl Fn(I, StopReason) -> O,
    abandoned: impl Fn(&I) -> O,
    mut on_done: impl FnMut(O),
) where
    I: Send + 'static,
    O: Panicked + Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
{
    // `buffer_unordered` pulls the next item only when a slot frees, so items start lazily,
    // see the stop switch as it is when their turn comes, and memory holds only what is in flight.
    let results = items
        .map(|item| match control.stopped() {
            Some(reason) => Either::Left(futures::future::ready(Ok(skipped(item, reason)))),
            None => {
                let fallback = abandoned(&item);
                let mut abandon = control.abandon.subscribe();
                // What builds the item's future (its clients, say) may panic too: the item
                // is then its fallback, failed, as if its task had panicked.
                let fut =
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))) {
                        Ok(fut) => fut,
                        Err(p) => {
                            let out = fallback.panicked(&panic_message(&*p));
                            return Either::Left(futures::future::ready(Ok(out)));
                        }
                    };
                // Boxed here, the task holds a pointer: the SDK's futures run to kilobytes,
                // and spawning one by value copies it several times over.
                let fut = Box::pin(async move {
                    #[cfg(debug_assertions)]
                    debug_panic();
                    fut.await
                });
                Either::Right(tokio::spawn(async move {
                    tokio::select! {
                        // The target's futures hold no state shared with other targets that a
                        // panic could leave half-changed: its result stands in for it.
                        out = std::panic::AssertUnwindSafe(fut).catch_unwind() => {
                            out.unwrap_or_else(|p| fallback.panicked(&panic_message(&*p)))
                        }
                        _ = abandon.wait_for(|a| *a) => fallback,
                    }
                }))
            }
        })
        .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(results);
    while let Some(joined) = results.next().await {
        match joined {
            Ok(out) => on_done(out),
            // Panics are caught in the task; a task is never cancelled. Either would be a bug
            // in the fan-out itself: surface it rather than lose a row silently.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    impl Panicked for String {
        fn panicked(self, message: &str) -> Self {
            format!("panicked {message}")
        }
    }

    async fn sleep_for(ms: u64) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        format!("done {ms}")
    }

    #[test]
    fn a_follower_ignores_the_leaders_stop_but_not_its_abandon() {
        let leader = Control::default();
        let follower = leader.follower();
        leader.stop(StopReason::MaxFailures);
        assert_eq!(follower.stopped(), None);
        leader.abandon();
        assert_eq!(follower.stopped(), Some(StopReason::Interrupted));
        assert!(*follower.abandon.borrow());
    }

    /// How long a wait of an hour on `waits` lasts when `stop` is called 20 ms in.
    async fn an_hour_stopped_after_20_ms(waits: &Control, stop: impl FnOnce()) -> Duration {
        let started = std::time::Instant::now();
        let stop_soon = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            stop();
        };
        let wait =
            crate::aws::retry::sleep_unless(Duration::from_secs(3600), waits.until_stopped());
        tokio::join!(stop_soon, wait);
        started.elapsed()
    }

    #[tokio::test]
    async fn a_stop_wakes_a_wait_at_once_and_a_leaders_abandon_wakes_its_follower() {
        let leader = Control::default();
        let follower = leader.follower();
        let took =
            an_hour_stopped_after_20_ms(&leader, || leader.stop(StopReason::MaxFailures)).await;
        assert!(took < Duration::from_secs(5), "{took:?}");
        let took = an_hour_stopped_after_20_ms(&follower, || leader.abandon()).await;
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[tokio::test]
    async fn slow_items_do_not_hold_back_fast_ones() {
        let mut order = vec![];
        let control = Control::default();
        run(
            futures::stream::iter(vec![300u64, 10, 10, 10]),
            2,
            &control,
            sleep_for,
            |_, _| unreachable!(),
            |_| "abandoned".into(),
            |o| order.push(o),
        )
        .await;
        assert_eq!(order, vec!["done 10", "done 10", "done 10", "done 300"]);
    }

    #[tokio::test]
    async fn a_panicking_item_is_its_own_result_and_the_others_go_on() {
        let mut out = vec![];
        run(
            futures::stream::iter(vec![1u64, 0, 2]),
            2,
            &Control::default(),
            |ms| async move {
                assert!(ms > 0, "zero");
                sleep_for(ms).await
            },
            |_, _| unreachable!(),
            |i| format!("abandoned {i}"),
            |o| out.push(o),
        )
        .await;
        out.sort();
        assert_eq!(out, ["done 1", "done 2", "panicked zero"]);
    }

    #[tokio::test]
    async fn stop_skips_the_rest_and_abandon_ends_those_in_flight() {
        let control = Control::default();
        let mut out = vec![];
        run(
            futures::stream::iter(vec![1u64, 5000, 2, 3, 4]),
            2,
            &control,
            sleep_for,
            |i, r| format!("skipped {i} {r:?}"),
            |i| format!("abandoned {i}"),
            |o: String| {
                if o == "done 1" {
                    control.stop(StopReason::MaxFailures);
                }
                if o.starts_with("skipped 4") {
                    control.abandon();
                }
                out.push(o)
            },
        )
        .await;
        let want = [
            "done 1",
            "skipped 2 MaxFailures",
            "skipped 3 MaxFailures",
            "skipped 4 MaxFailures",
            "abandoned 5000",
        ];
        assert_eq!(out, want);
    }
}
