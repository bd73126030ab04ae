//! `apply`: every target read and decided (as `plan`), the plan shown and confirmed, then the
//! writes — at once, or wave by wave (src/run/executor.rs) — each target reported once.

use std::io::IsTerminal;
use std::time::Instant;

use crate::error::InputError;
use crate::model::{Command, Ended, RunEvent, Status, StopReason};
use crate::run::Sinks;
use crate::run::confirm_or_cancel;
use crate::run::executor;
use crate::run::{Start, prepare};
use crate::settings;
use crate::steps;
use crate::terminal::printer::Printer;
use crate::words::count;

pub(crate) async fn apply(printer: &Printer, args: &settings::Apply) -> Result<Ended, InputError> {
    let opts = &args.run;
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(InputError::usage(
            "apply needs --yes when stdin is not a terminal (nothing was sent to AWS)",
        ));
    }
    let (run, csv) = match prepare(printer, opts, Command::Apply).await? {
        Start::Run(run, csv) => (run, csv),
        Start::Ended(ended) => return Ok(ended),
    };
    let job = &run.job;

    // Phase 1: read every target and decide, as `plan` does.
    let mut planned = vec![];
    let mut read_failures = vec![];
    let (mut preview, listener) = run.listening(
        Sinks::new(
            "reading",
            &run.listed,
            &opts.output,
            printer,
            None,
            run.meta.clone(),
            run.log.clone(),
        ),
        false,
    );
    run.reads(opts.aws.concurrency, |r| match r {
        Ok(p) => {
            preview.record(&p.plan_outcome(job));
            planned.push(p);
        }
        Err(failed) => {
            preview.record(&failed);
            read_failures.push(*failed);
        }
    })
    .await;
    // The run's time leaves out the operator's time at the prompt.
    let read_elapsed = run.started.elapsed();
    let Sinks {
        stats: read_stats,
        progress,
        changes,
        findings,
        ..
    } = preview;
    progress.finish();
    if run.control.stopped().is_some() {
        // Interrupted while reading: nothing was written. Every target is reported skipped.
        let (mut sinks, listener) = run.report_sinks(&opts.output, csv, true);
        listener.abort();
        // The targets that had failed or been skipped already got their line while reading.
        let shown: std::collections::HashSet<_> = read_failures
            .iter()
            .map(|o| (o.row.account_id.clone(), o.row.region.clone()))
            .collect();
        for t in &run.targets {
            let o = steps::skipped(job, t, StopReason::Interrupted);
            let seen = shown.contains(&(o.row.account_id.clone(), o.row.region.clone()));
            sinks.record_as(&o, !seen);
        }
        return Ok(sinks.finish(read_elapsed, &run.control, None));
    }
    let to_write = planned.iter().filter(|p| p.writes()).count();
    printer.out(&format!(
        "plan: {}: {}\n",
        count(read_stats.finished, "target"),
        read_stats.counts_line()
    ));
    if !changes.is_empty() {
        printer.out(&format!("changes:\n{}", changes.render(12)));
    }
    // Before the question: the operator sees what will not be written, and why.
    if !findings.is_empty() {
        printer.out(&format!("{}:\n{}", findings.title(), findings.render(12)));
    }
    listener.abort();
    let csv = if to_write > 0 && !args.yes {
        // The failures held back must be somewhere to see before the answer.
        printer.held_back(
            "them with `ssm-prefs plan … -o FILE` (apply writes its report once you confirm)",
        );
        match confirm_or_cancel(
            printer,
            Command::Apply,
            "Write the preferences to",
            to_write,
            csv,
        )
        .await
        {
            Ok(csv) => csv,
            Err(ended) => return Ok(ended),
        }
    } else {
        csv
    };

    // Phase 2: write, and report every target, the unreadable ones first.
    let writes_started = Instant::now();
    let (mut sinks, listener) = run.report_sinks(&opts.output, csv, true);
    let total = run.listed.len();
    let max_failures = args.max_failures;
    // Failures so far (recorded, and in wave mode written but not yet read back).
    let check_tolerance = |failed: usize| {
        if max_failures.is_some_and(|m| m.exceeded(failed, total)) {
            run.control.stop(StopReason::MaxFailures);
        }
    };
    // Printed as they were read; recorded again for the report without a second line.
    for failed in &read_failures {
        sinks.record_as(failed, false);
    }
    check_tolerance(sinks.stats.count(Status::Failed));
    match run.waves.clone() {
        None => {
            executor::write(&run, planned, &mut sinks, &check_tolerance, false).await;
        }
        Some(plan) => {
            executor::waves(
                &run,
                args,
                &plan,
                planned,
                &read_failures,
                &mut sinks,
                &check_tolerance,
            )
            .await
        }
    }
    listener.abort();
    if let (Some(StopReason::MaxFailures), Some(max)) = (run.control.stopped(), max_failures) {
        sinks.event(RunEvent::MaxFailuresExceeded {
            max: max.to_string(),
        });
    }
    Ok(sinks.finish(read_elapsed + writes_started.elapsed(), &run.control, None))
}
