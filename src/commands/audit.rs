//! `audit`: every target read, read-only, and held to the preferences.

use crate::error::InputError;
use crate::model::{Command, Ended};
use crate::run::fanout;
use crate::run::{Start, prepare};
use crate::settings;
use crate::steps;
use crate::terminal::printer::Printer;

pub(crate) async fn audit(
    printer: &Printer,
    args: &settings::RunSettings,
) -> Result<Ended, InputError> {
    let (run, csv) = match prepare(printer, args, Command::Audit).await? {
        Start::Run(run, csv) => (run, csv),
        Start::Ended(ended) => return Ok(ended),
    };
    let (mut sinks, listener) = run.report_sinks(&args.output, csv, false);
    let job = &run.job;
    fanout::run(
        run.targets.clone(),
        args.aws.concurrency,
        &run.control,
        |t| {
            let checks = job.preflight.as_ref().map(|_| run.session.checks(&t));
            let trail = job.who.then(|| run.session.trail(&t));
            let hub = job.security_hub.as_ref().map(|_| run.session.hub(&t));
            steps::audit(
                job.clone(),
                t.clone(),
                run.session.client(&t),
                checks,
                trail,
                hub,
            )
        },
        |t, reason| steps::skipped(job, &t, reason),
        |t| steps::interrupted(job, t),
        |o| sinks.record(&o),
    )
    .await;
    listener.abort();
    Ok(sinks.finish(
        run.started.elapsed(),
        &run.control,
        Some("drift (found → desired)"),
    ))
}
