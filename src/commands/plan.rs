//! `plan`: every target read and decided, nothing written; with `--waves`, the accounts of
//! each wave.

use crate::error::InputError;
use crate::model::{Command, Ended};
use crate::run::{Start, prepare};
use crate::settings;
use crate::terminal::printer::{Printer, visible};
use crate::waves::WavePlan;
use crate::words::count;

pub(crate) async fn plan(
    printer: &Printer,
    args: &settings::RunSettings,
) -> Result<Ended, InputError> {
    let (run, csv) = match prepare(printer, args, Command::Plan).await? {
        Start::Run(run, csv) => (run, csv),
        Start::Ended(ended) => return Ok(ended),
    };
    let (mut sinks, listener) = run.report_sinks(&args.output, csv, false);
    let job = run.job.clone();
    run.reads(args.aws.concurrency, |r| {
        let outcome = match r {
            Ok(p) => p.plan_outcome(&job),
            Err(failed) => *failed,
        };
        sinks.record(&outcome)
    })
    .await;
    listener.abort();
    if let Some(plan) = &run.waves {
        printer.out(&wave_accounts(plan));
    }
    Ok(sinks.finish(run.started.elapsed(), &run.control, Some("changes")))
}

/// Which accounts each wave holds, for `plan --waves`: the first few names of each.
fn wave_accounts(plan: &WavePlan) -> String {
    const NAMES: usize = 8;
    let n = plan.waves.len();
    let mut s = format!("the waves apply would write ({}):\n", plan.spec);
    for (i, wave) in plan.waves.iter().enumerate() {
        let names: Vec<String> = wave
            .iter()
            .take(NAMES)
            .map(|a| format!("{} ({})", visible(&a.name), a.id))
            .collect();
        let more = match wave.len().saturating_sub(NAMES) {
            0 => String::new(),
            m => format!(", … and {m} more"),
        };
        s.push_str(&format!(
            "  wave {} of {n}, {}: {}{more}\n",
            i + 1,
            count(wave.len(), "account"),
            names.join(", ")
        ));
    }
    s
}
