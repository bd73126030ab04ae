//! `apply`: every target read and decided (as `plan`), the plan shown and confirmed, then the
//! writes — at once, or wave by wave (src/run/executor.rs) — each target reported once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::error::InputError;
use crate::model::{Command, Outcome, RunEvent, StopReason};
use crate::report::csv::CsvReport;
use crate::run::executor;
use crate::run::{
    Arrival, Listening, Phase, Prepared, Read, RunOutcome, Start, confirm_or_cancel, each_arriving,
    yes_or_terminal,
};
use crate::settings::{self, Caller};
use crate::steps::{self, Planned};
use crate::target::Target;
use crate::terminal::printer::Printer;
use crate::words::count;
use futures::StreamExt;

pub(crate) async fn apply(
    printer: &Printer,
    args: &settings::Apply,
    caller: &Caller,
) -> Result<RunOutcome, InputError> {
    yes_or_terminal(Command::Apply, args.yes, caller)?;
    let (p, csv) = match Prepared::start(printer, &args.run, Command::Apply, caller).await? {
        Start::Run(p, csv) => (p, csv),
        Start::Ended(outcome) => return Ok(outcome),
    };
    // Phase 1: read every target and decide, as `plan` does.
    let (read, listening) = read_all(&p).await;
    if p.run.control.stopped().is_some() {
        return Ok(interrupted_reading(&p, csv, &read));
    }
    let to_write = read.planned.iter().filter(|p| p.writes()).count();
    drop(listening);
    let csv = if to_write > 0 && !args.yes {
        // The failures held back must be somewhere to see before the answer.
        printer.held_back(
            "them with `ssm-prefs plan … -o FILE` (apply writes its report once you confirm)",
        );
        let what = "Write the preferences to";
        match confirm_or_cancel(printer, Command::Apply, what, to_write, csv).await {
            Ok(csv) => csv,
            Err(ended) => return Ok(RunOutcome::bare(ended)),
        }
    } else {
        csv
    };
    // Phase 2: write, and report every target, the unreadable ones first.
    Ok(write_all(&p, args, csv, read).await)
}

/// What the reading phase found: the targets planned, those whose read failed, and its time.
struct Reads {
    planned: Vec<Planned>,
    failures: Vec<Outcome>,
    /// Every target the phase went over: listed, or as they arrived from `--org`'s walk.
    arrived: Vec<Target>,
    /// Those whose row was decided before they could run, as they arrived from the walk
    /// (listed, such rows are the run's `pre`).
    decided: Vec<Outcome>,
    /// Whether the targets arrived from `--org`'s walk rather than listed.
    streamed: bool,
    /// The run's time leaves out the operator's time at the prompt.
    elapsed: Duration,
}

/// Every target read and decided, the plan said (its counts, changes and findings); Ctrl-C
/// listened for until the returned guard is dropped.
async fn read_all(p: &Prepared) -> (Reads, Listening) {
    let run = &p.run;
    let mut phase = run.phase("reading", None, false);
    let (mut planned, mut failures, mut arrived, mut decided) = (vec![], vec![], vec![], vec![]);
    let step = Read {
        job: &p.job,
        session: &run.session,
    };
    let items = p.items();
    phase.sinks.arriving(items.arrived());
    let preview = &mut phase.sinks;
    let streamed = items.walked.is_some();
    let arriving = items.arriving.inspect(|item| match item {
        Arrival::Run(t) => arrived.push(t.clone()),
        Arrival::Decided(t, row) => {
            arrived.push(t.clone());
            decided.push((**row).clone());
        }
    });
    each_arriving(
        arriving,
        run.concurrency,
        &run.control,
        &step,
        |r| match r {
            Ok(planned_one) => {
                preview.record(&planned_one.plan_outcome(&p.job));
                planned.push(planned_one);
            }
            Err(failed) => {
                preview.record(&failed);
                failures.push(*failed);
            }
        },
    )
    .await;
    if let Some(walked) = items.walked {
        preview.walked(run.walk_ended(walked).await);
    }
    let elapsed = run.started.elapsed();
    let (sinks, listening) = phase.into_parts();
    let preview = sinks.preview();
    if run.control.stopped().is_none() {
        let printer = &run.printer;
        printer.out(&format!(
            "plan: {}: {}\n",
            count(preview.stats.finished, "target"),
            preview.stats.counts_line()
        ));
        if !preview.changes.is_empty() {
            printer.out(&format!("changes:\n{}", preview.changes.render(12)));
        }
        // Before the question: the operator sees what will not be written, and why.
        if !preview.findings.is_empty() {
            let findings = &preview.findings;
            printer.out(&format!("{}:\n{}", findings.title(), findings.render(12)));
        }
    }
    let reads = Reads {
        planned,
        failures,
        arrived,
        decided,
        streamed,
        elapsed,
    };
    (reads, listening)
}

/// The report's phase, over every target: those listed, or those that arrived while reading
/// (`--org`'s walk streamed them, and the rows decided before they ran among them).
fn phase_of(p: &Prepared, csv: CsvReport, read: &Reads) -> Phase {
    let label = Command::Apply.as_str();
    match read.streamed {
        true => p.run.phase_over(label, Some(csv), true, &read.arrived),
        false => p.run.phase(label, Some(csv), true),
    }
}

/// Interrupted while reading: nothing was written. Every target is reported skipped, but those
/// whose row was decided before they could run, which keep it.
fn interrupted_reading(p: &Prepared, csv: CsvReport, read: &Reads) -> RunOutcome {
    let mut phase = phase_of(p, csv, read);
    let key = |o: &Outcome| (o.row.account_id.clone(), o.row.region.clone());
    // The targets that had failed or been skipped already got their line while reading.
    let shown: HashSet<_> = read.failures.iter().map(key).collect();
    let decided: HashSet<_> = read.decided.iter().map(key).collect();
    for o in &read.decided {
        phase.sinks.record_as(o, false);
    }
    for t in &read.arrived {
        let o = steps::skipped(&p.job, t, StopReason::Interrupted);
        if !decided.contains(&key(&o)) {
            phase.sinks.record_as(&o, !shown.contains(&key(&o)));
        }
    }
    phase.end(&p.run, read.elapsed, None)
}

/// The writes, at once or wave by wave, every target reported: the unreadable ones first.
async fn write_all(
    p: &Prepared,
    args: &settings::Apply,
    csv: CsvReport,
    read: Reads,
) -> RunOutcome {
    let run = &p.run;
    let writes_started = Instant::now();
    let mut phase = phase_of(p, csv, &read);
    let sinks = &mut phase.sinks;
    let total = read.arrived.len() + run.pre.len();
    let max_failures = args.max_failures;
    // Failures so far (recorded, and in wave mode written but not yet read back).
    let check_tolerance = |failed: usize| {
        if max_failures.is_some_and(|m| m.exceeded(failed, total)) {
            run.control.stop(StopReason::MaxFailures);
        }
    };
    // Printed as they were read; recorded again for the report without a second line.
    for failed in &read.failures {
        sinks.record_as(failed, false);
    }
    check_tolerance(sinks.failed());
    match run.waves.clone() {
        None => {
            executor::write(p, read.planned, sinks, &check_tolerance, false).await;
        }
        Some(plan) => {
            let waves = executor::Waves::of(args, &plan);
            executor::waves(
                p,
                waves,
                read.planned,
                &read.failures,
                sinks,
                &check_tolerance,
            )
            .await
        }
    }
    let (sinks, listening) = phase.into_parts();
    drop(listening);
    if let (Some(StopReason::MaxFailures), Some(max)) = (run.control.stopped(), max_failures) {
        sinks.event(RunEvent::MaxFailuresExceeded {
            max: max.to_string(),
        });
    }
    sinks.finish(read.elapsed + writes_started.elapsed(), &run.control, None)
}
