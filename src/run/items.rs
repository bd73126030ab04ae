//! What a run goes over: its items listed, or arriving while it goes on as `--org`'s walk
//! finds their accounts (src/run/walking.rs), with their counts as they arrive and the walk's
//! end to wait for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::model::{OrgWalk, Outcome};
use crate::target::Target;

/// An item of a run: one to run, or a target whose row was decided before it could run (its
/// region not enabled, say), which arrives among the others when `--org`'s walk streams them.
pub(crate) enum Arrival<I> {
    Run(I),
    Decided(Target, Box<Outcome>),
}

/// What a run goes over: its items listed, or arriving as `--org`'s walk finds their
/// accounts (src/run/walking.rs), with the walk's end to wait for once they stop arriving.
pub(crate) struct Items<I> {
    pub(crate) arriving: futures::stream::BoxStream<'static, Arrival<I>>,
    pub(crate) walked: Option<Walked>,
}

impl<I: Send + 'static> Items<I> {
    pub(crate) fn listed(items: Vec<I>) -> Self {
        Items {
            arriving: futures::stream::iter(items).map(Arrival::Run).boxed(),
            walked: None,
        }
    }

    /// The targets' counts by region as they arrive, for the progress and the totals (none
    /// when listed: the phase knows them from the list).
    pub(crate) fn arrived(&self) -> Option<Arc<Arrived>> {
        self.walked.as_ref().map(|w| w.arrived.clone())
    }
}

/// The targets' counts as they arrive, by region, for the progress bars and the totals.
#[derive(Default)]
pub(crate) struct Arrived {
    total: AtomicUsize,
    by_region: Mutex<BTreeMap<String, usize>>,
}

impl Arrived {
    pub(crate) fn add(&self, t: &Target) {
        *self
            .by_region
            .lock()
            .expect("arrivals lock")
            .entry(t.region.to_string())
            .or_default() += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn by_region(&self) -> BTreeMap<String, usize> {
        self.by_region.lock().expect("arrivals lock").clone()
    }
}

/// The streamed walk as the run sees it: the targets' counts as they arrive, and the walk's
/// end (its figures), once the last account's targets have arrived.
pub(crate) struct Walked {
    pub(crate) arrived: Arc<Arrived>,
    pub(crate) end: JoinHandle<OrgWalk>,
}

impl Walked {
    pub(crate) async fn end(self) -> OrgWalk {
        self.end
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}
