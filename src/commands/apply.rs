//! `apply`: every target read and decided (as `plan`), the plan shown and confirmed, then the
//! writes — at once, or wave by wave (src/run/executor.rs) — each target reported once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::error::InputError;
use crate::model::{Command, Outcome, RunEvent, StopReason};
use crate::report::csv::CsvReport;
use crate::run::executor;
use crate::run::{
    Listening, Prepared, Read, RunOutcome, Start, confirm_or_cancel, each, yes_or_terminal,
};
use crate::settings::{self, Caller};
use crate::steps::{self, Planned};
use crate::terminal::printer::Printer;
use crate::words::count;

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
    /// The run's time leaves out the operator's time at the prompt.
    elapsed: Duration,
}

/// Every target read and decided, the plan said (its counts, changes and findings); Ctrl-C
/// listened for until the returned guard is dropped.
async fn read_all(p: &Prepared) -> (Reads, Listening) {
    let run = &p.run;
    let mut phase = run.phase("reading", None, false);
    let (mut planned, mut failures) = (vec![], vec![]);
    let step = Read {
        job: &p.job,
        session: &run.session,
    };
    let preview = &mut phase.sinks;
    each(
        p.targets.clone(),
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
        elapsed,
    };
    (reads, listening)
}

/// Interrupted while reading: nothing was written. Every target is reported skipped.
fn interrupted_reading(p: &Prepared, csv: CsvReport, read: &Reads) -> RunOutcome {
    let mut phase = p.run.phase(Command::Apply.as_str(), Some(csv), true);
    // The targets that had failed or been skipped already got their line while reading.
    let shown: HashSet<_> = read
        .failures
        .iter()
        .map(|o| (o.row.account_id.clone(), o.row.region.clone()))
        .collect();
    for t in &p.targets {
        let o = steps::skipped(&p.job, t, StopReason::Interrupted);
        let seen = shown.contains(&(o.row.account_id.clone(), o.row.region.clone()));
        phase.sinks.record_as(&o, !seen);
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
    let mut phase = run.phase(Command::Apply.as_str(), Some(csv), true);
    let sinks = &mut phase.sinks;
    let total = run.listed.len();
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
