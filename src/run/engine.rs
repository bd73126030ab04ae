//! The one entry to the engine: a run set up (`Run`, for plan, apply and audit the
//! `Prepared` of src/run/setup.rs), then executed with a step — what each item goes through,
//! a step of src/steps/ bound to the run's session — into a phase's sinks, ending in a
//! `RunOutcome` (how it ended, and the run's typed summary).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::future::Either;
use futures::{Stream, StreamExt};

use super::fanout::{self, Control, Panicked};
use super::findings::{self, SecurityHubSink};
use super::interrupt::{INTERRUPT_GRACE, Listening, listen_for_interrupts};
use super::items::{Arrival, Items, Walked};
use super::sinks::{RunOutcome, Sink, Sinks};
use crate::aws::session::Session;
use crate::model::{OrgWalk, Outcome, RunMeta, StopReason};
use crate::report::csv::CsvReport;
use crate::settings::{Deadline, Output};
use crate::steps::{self, Job, Planned, Undo};
use crate::target::Target;
use crate::terminal::events::EventLog;
use crate::terminal::printer::Printer;
use crate::terminal::summary::wave_accounts;
use crate::waves::WavePlan;

/// What a run does to each of its items: the work of one, and the result of an item that
/// never ran (the run stopped first) or was abandoned in flight.
pub(crate) trait Step {
    type Item: Send + 'static;
    type Done: Panicked + Send + 'static;
    /// The item's work, on a task of its own.
    fn start(&self, item: Self::Item) -> impl Future<Output = Self::Done> + Send + 'static;
    /// The result of an item not started because the run stopped.
    fn skipped(&self, item: Self::Item, reason: StopReason) -> Self::Done;
    /// The result of an item abandoned in flight (also what a panic in it becomes).
    fn abandoned(&self, item: &Self::Item) -> Self::Done;
    /// The result of a target whose row was decided before it could run.
    fn decided(&self, target: Target, row: Outcome) -> Self::Done;
}

/// A step whose results are the report's rows: plan, audit, rollback.
pub(crate) trait RowStep: Step<Done = Outcome> {
    /// The change summary's title (plan, audit), if the summary lists changes.
    fn change_title(&self) -> Option<&'static str> {
        None
    }
    /// Said after the last row, before the summary.
    fn before_summary(&self, _run: &Run) {}
    /// A sink of the step's own, beside the run's (audit's Security Hub findings).
    fn sink(&self) -> Option<Box<dyn Sink>> {
        None
    }
}

/// Runs `step` over `items`, at most `concurrency` at once, each result to `on_done`.
pub(crate) async fn each<S: Step>(
    items: Vec<S::Item>,
    concurrency: usize,
    control: &Control,
    step: &S,
    on_done: impl FnMut(S::Done),
) {
    let items = futures::stream::iter(items).map(Arrival::Run);
    each_arriving(items, concurrency, control, step, on_done).await;
}

/// As [`each`], over items as they arrive; a row decided before its target could run is
/// passed on as it is.
pub(crate) async fn each_arriving<S: Step>(
    items: impl Stream<Item = Arrival<S::Item>>,
    concurrency: usize,
    control: &Control,
    step: &S,
    on_done: impl FnMut(S::Done),
) {
    fanout::run(
        items,
        concurrency,
        control,
        |item| match item {
            Arrival::Run(item) => Either::Left(step.start(item)),
            Arrival::Decided(t, row) => Either::Right(std::future::ready(step.decided(t, *row))),
        },
        |item, reason| match item {
            Arrival::Run(item) => step.skipped(item, reason),
            Arrival::Decided(t, row) => step.decided(t, *row),
        },
        |item| match item {
            Arrival::Run(item) => step.abandoned(item),
            Arrival::Decided(t, row) => step.decided(t.clone(), (**row).clone()),
        },
        on_done,
    )
    .await;
}

/// What every run over targets shares once set up, whatever its step.
pub(crate) struct Run {
    /// What the run is, for the report's renderers.
    pub(crate) meta: RunMeta,
    /// The run's events, kept across its phases.
    pub(crate) log: EventLog,
    pub(crate) session: Arc<Session>,
    pub(crate) control: Arc<Control>,
    pub(crate) started: Instant,
    pub(crate) printer: Printer,
    /// Where the run reports.
    pub(crate) output: Output,
    /// `-c`: items in flight at once.
    pub(crate) concurrency: usize,
    /// Lambda mode or `--deadline`: when the run stops, so that its reports are stored in time.
    pub(crate) deadline: Option<Deadline>,
    /// Every target that gets a row.
    pub(crate) listed: Vec<Target>,
    /// Rows decided before the run (regions not enabled, or not listable).
    pub(crate) pre: Vec<Outcome>,
    /// With `--waves` or `--canary`: the accounts of each wave.
    pub(crate) waves: Option<Arc<WavePlan>>,
    /// `--org`: how the walk of the organization went, for the summary (set when the walk
    /// ends, which is after the run starts where the walk streams its accounts).
    pub(crate) walk: OnceLock<OrgWalk>,
}

/// A phase of a run: its sinks, and Ctrl-C listened for until the phase ends.
pub(crate) struct Phase {
    pub(crate) sinks: Sinks,
    listening: Listening,
}

impl Phase {
    /// The sinks, and the listener's guard (dropped when the caller is done listening).
    pub(crate) fn into_parts(self) -> (Sinks, Listening) {
        (self.sinks, self.listening)
    }

    /// The phase's end: the listener stopped, then the summary and the files.
    pub(crate) fn end(self, run: &Run, elapsed: Duration, title: Option<&str>) -> RunOutcome {
        drop(self.listening);
        self.sinks.finish(elapsed, &run.control, title)
    }
}

impl Run {
    /// A run over no target yet, started at `started`: no deadline, no waves, no row decided
    /// before it (what a run over targets sets, it sets after).
    pub(crate) fn new(
        printer: &Printer,
        meta: RunMeta,
        session: Arc<Session>,
        output: &Output,
        concurrency: usize,
        started: Instant,
    ) -> Run {
        Run {
            meta,
            log: EventLog::new(printer),
            session,
            control: Arc::new(Control::default()),
            started,
            printer: printer.clone(),
            output: output.clone(),
            concurrency,
            deadline: None,
            listed: vec![],
            pre: vec![],
            waves: None,
            walk: OnceLock::new(),
        }
    }

    /// A phase that reports to `csv` (none: apply's reading), its sinks named `label`, with
    /// the rows decided before the run already in them (`shown`: their lines already printed)
    /// and Ctrl-C listened for.
    pub(crate) fn phase(&self, label: &str, csv: Option<CsvReport>, shown: bool) -> Phase {
        self.phase_over(label, csv, shown, &self.listed)
    }

    /// As [`Run::phase`], over `listed` (the targets that arrived, where the walk streamed
    /// them).
    pub(crate) fn phase_over(
        &self,
        label: &str,
        csv: Option<CsvReport>,
        shown: bool,
        listed: &[Target],
    ) -> Phase {
        let files = csv.is_some();
        let mut sinks = Sinks::new(
            label,
            listed,
            &self.output,
            &self.printer,
            csv,
            (self.meta.clone(), self.log.clone()),
        )
        .with_walk(self.walk.get().cloned());
        if files {
            sinks = sinks
                .with_files(&self.output)
                .with_waves(self.waves.clone());
        }
        for o in &self.pre {
            sinks.record_as(o, !shown);
        }
        Phase {
            sinks,
            listening: self.listen(),
        }
    }

    /// The streamed walk's end, once its last account arrived: kept for the phases after.
    pub(crate) async fn walk_ended(&self, walked: Walked) -> OrgWalk {
        let walk = walked.end().await;
        let _ = self.walk.set(walk.clone());
        walk
    }

    /// Ctrl-C and SIGTERM (and the deadline) listened for, until the guard is dropped.
    pub(crate) fn listen(&self) -> Listening {
        listen_for_interrupts(
            self.control.clone(),
            self.log.clone(),
            INTERRUPT_GRACE,
            self.deadline,
        )
    }

    /// The one-phase run (plan, audit, rollback): `step` over `items` into the report, then
    /// the end.
    pub(crate) async fn execute<S: RowStep>(
        &self,
        csv: CsvReport,
        items: Items<S::Item>,
        step: &S,
    ) -> RunOutcome {
        let (sinks, listening) = self
            .phase(self.meta.command.as_str(), Some(csv), false)
            .into_parts();
        let mut sinks = sinks.with_step_sink(step.sink());
        sinks.arriving(items.arrived());
        each_arriving(items.arriving, self.concurrency, &self.control, step, |o| {
            sinks.record(&o)
        })
        .await;
        if let Some(walked) = items.walked {
            sinks.walked(self.walk_ended(walked).await);
        }
        drop(listening);
        step.before_summary(self);
        sinks.finish(self.started.elapsed(), &self.control, step.change_title())
    }
}

/// Every target read and decided (plan, and apply's first phase).
pub(crate) struct Read<'a> {
    pub(crate) job: &'a Arc<Job>,
    pub(crate) session: &'a Session,
}

impl Step for Read<'_> {
    type Item = Target;
    type Done = Result<Planned, Box<Outcome>>;

    fn start(&self, t: Target) -> impl Future<Output = Self::Done> + Send + 'static {
        let checks = self.job.preflight.as_ref().map(|_| self.session.checks(&t));
        let client = self.session.client(&t);
        steps::read_and_decide(self.job.clone(), t, client, checks)
    }

    fn skipped(&self, t: Target, reason: StopReason) -> Self::Done {
        Err(Box::new(steps::skipped(self.job, &t, reason)))
    }

    fn abandoned(&self, t: &Target) -> Self::Done {
        Err(Box::new(steps::interrupted(self.job, t)))
    }

    fn decided(&self, _: Target, row: Outcome) -> Self::Done {
        Err(Box::new(row))
    }
}

/// `plan`: each target read and decided, its row what apply would do.
pub(crate) struct Plan<'a>(pub(crate) Read<'a>);

impl Step for Plan<'_> {
    type Item = Target;
    type Done = Outcome;

    fn start(&self, t: Target) -> impl Future<Output = Outcome> + Send + 'static {
        let job = self.0.job.clone();
        let read = self.0.start(t);
        async move {
            match read.await {
                Ok(p) => p.plan_outcome(&job),
                Err(failed) => *failed,
            }
        }
    }

    fn skipped(&self, t: Target, reason: StopReason) -> Outcome {
        steps::skipped(self.0.job, &t, reason)
    }

    fn abandoned(&self, t: &Target) -> Outcome {
        steps::interrupted(self.0.job, t)
    }

    fn decided(&self, _: Target, row: Outcome) -> Outcome {
        row
    }
}

impl RowStep for Plan<'_> {
    fn change_title(&self) -> Option<&'static str> {
        Some("changes")
    }

    /// `plan --waves`: which accounts each wave holds.
    fn before_summary(&self, run: &Run) {
        if let Some(plan) = &run.waves {
            run.printer.out(&wave_accounts(plan));
        }
    }
}

/// `audit`: each target read, read-only, and held to the preferences.
pub(crate) struct Audit<'a> {
    pub(crate) job: &'a Arc<Job>,
    pub(crate) session: &'a Session,
}

impl Step for Audit<'_> {
    type Item = Target;
    type Done = Outcome;

    fn start(&self, t: Target) -> impl Future<Output = Outcome> + Send + 'static {
        let (job, session) = (self.job, self.session);
        let checks = job.preflight.as_ref().map(|_| session.checks(&t));
        let trail = job.who.then(|| session.trail(&t));
        let hub = job.security_hub.as_ref().map(|_| session.hub(&t));
        let client = session.client(&t);
        let job = job.clone();
        async move {
            let audited = steps::audit(job.clone(), t, client, checks, trail).await;
            findings::send(&job, hub, audited).await
        }
    }

    fn skipped(&self, t: Target, reason: StopReason) -> Outcome {
        steps::skipped(self.job, &t, reason)
    }

    fn abandoned(&self, t: &Target) -> Outcome {
        steps::interrupted(self.job, t)
    }

    fn decided(&self, _: Target, row: Outcome) -> Outcome {
        row
    }
}

impl RowStep for Audit<'_> {
    fn change_title(&self) -> Option<&'static str> {
        Some("drift (found → desired)")
    }

    fn sink(&self) -> Option<Box<dyn Sink>> {
        let hub: Box<dyn Sink> = Box::new(SecurityHubSink);
        self.job.security_hub.as_ref().map(|_| hub)
    }
}

/// `rollback --from`: each target an apply created or updated, undone.
pub(crate) struct Rollback<'a> {
    pub(crate) session: &'a Session,
}

impl Step for Rollback<'_> {
    type Item = Undo;
    type Done = Outcome;

    fn start(&self, u: Undo) -> impl Future<Output = Outcome> + Send + 'static {
        let client = self.session.client(&u.target);
        steps::rollback(u, client)
    }

    fn skipped(&self, u: Undo, reason: StopReason) -> Outcome {
        u.stopped(reason, false)
    }

    fn abandoned(&self, u: &Undo) -> Outcome {
        u.stopped(StopReason::Interrupted, true)
    }

    fn decided(&self, _: Target, row: Outcome) -> Outcome {
        row
    }
}

impl RowStep for Rollback<'_> {}
