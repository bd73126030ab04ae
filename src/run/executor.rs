//! Apply's write phase: every planned target written at once, or (`--waves`) wave by wave,
//! each wave read back before the next, halting on a failed wave.

use super::fanout;
use super::prompt::{Confirmed, confirm};
use super::setup::Prepared;
use super::sinks::Sinks;
use crate::aws::retry::{Stop, sleep_unless};
use crate::model::{Outcome, RunEvent, Status, StopReason};
use crate::settings;
use crate::steps::{self, Planned};
use crate::target::Region;
use crate::waves::WavePlan;

/// Writes these targets and records each (with `verify`, once read back); returns how many
/// of them failed.
pub(crate) async fn write(
    run: &Prepared,
    planned: Vec<Planned>,
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
    verify: bool,
) -> usize {
    let job = &run.job;
    let mut written = vec![];
    let mut failed = 0;
    fanout::run(
        planned,
        run.concurrency,
        &run.control,
        |p| {
            let client = p.writes().then(|| run.session.client(&p.target));
            let target = p.target.clone();
            let write = p.apply(job.clone(), client);
            async move { (target, write.await) }
        },
        |p, reason| (p.target.clone(), p.skipped(job, reason)),
        |p| (p.target.clone(), p.interrupted(job)),
        |(target, o)| {
            failed += usize::from(o.row.status == Status::Failed);
            if verify {
                // Its row waits for the read-back; its failure counts for the tolerance now.
                check_tolerance(sinks.stats.count(Status::Failed) + failed);
                written.push((target, o));
            } else {
                sinks.record(&o);
                check_tolerance(sinks.stats.count(Status::Failed));
            }
        },
    )
    .await;
    if !verify {
        return failed;
    }
    // The read-back of what was written goes on whatever stopped new writes (a tolerance, a
    // halt): only the second Ctrl-C leaves a written target unverified, never unreported.
    let readback = run.control.follower();
    // Counted again as the read-backs end: a write that failed stays failed.
    failed = 0;
    fanout::run(
        written,
        run.concurrency,
        &readback,
        |(target, o)| {
            let client = run.session.client(&target);
            let job = job.clone();
            async move { steps::verify(&job, o, client).await }
        },
        |(_, o), _| o,
        |(_, o)| o.clone(),
        |o| {
            failed += usize::from(o.row.status == Status::Failed);
            sinks.record(&o);
            check_tolerance(sinks.stats.count(Status::Failed));
        },
    )
    .await;
    failed
}

/// `--waves`: each wave written and read back; the next starts only after a wave with no
/// failed target (or within `--max-failures`), after `--wave-wait`, and with `--pause` once
/// the operator says so.
pub(crate) async fn waves(
    run: &Prepared,
    args: &settings::Apply,
    plan: &WavePlan,
    planned: Vec<Planned>,
    read_failures: &[Outcome],
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
) {
    let n = plan.waves.len();
    let wave_of = |account: &str| plan.wave_of(account).unwrap_or(n);
    let mut by_wave: Vec<Vec<Planned>> = (0..n).map(|_| vec![]).collect();
    for p in planned {
        by_wave[wave_of(p.target.account_id().as_str()) - 1].push(p);
    }
    // What failed before any write (a read, a region list) counts for its wave's result, and
    // every row decided before the writes for its wave's size, as the summary counts them.
    let mut read_failed = vec![0usize; n];
    let mut decided = vec![0usize; n];
    for o in read_failures.iter().chain(&run.pre) {
        let i = wave_of(o.row.account_id.as_str()) - 1;
        decided[i] += 1;
        if o.row.status == Status::Failed {
            read_failed[i] += 1;
        }
    }
    let mut next_writes: Vec<usize> = by_wave
        .iter()
        .map(|w| w.iter().filter(|p| p.writes()).count())
        .collect();
    next_writes.push(0);
    for (i, wave) in by_wave.into_iter().enumerate() {
        let number = i + 1;
        let started = run.control.stopped().is_none();
        if started {
            sinks.event(RunEvent::WaveStarted {
                number,
                of: n,
                accounts: plan.waves[i].len(),
                targets: wave.len() + decided[i],
            });
        }
        // A region of the wave halts the next only on its own writes' failures.
        let mut failed = 0;
        for (region, batch) in by_region(wave, &args.region_order) {
            let halted = failed > 0 && args.max_failures.is_none();
            if halted && run.control.stopped().is_none() {
                run.control.stop(StopReason::WaveHalted);
                sinks.event(RunEvent::WaveHaltedBeforeRegion {
                    number,
                    failed,
                    region: region.clone(),
                });
            }
            failed += write(run, batch, sinks, check_tolerance, true).await;
        }
        failed += read_failed[i];
        let result = sinks
            .waves
            .as_ref()
            .map(|(_, s)| s.counts(number))
            .unwrap_or_default();
        if started {
            sinks.event(RunEvent::WaveVerified {
                number,
                of: n,
                counts: result.clone(),
            });
        }
        if number == n || run.control.stopped().is_some() {
            continue;
        }
        if failed > 0 && args.max_failures.is_none() {
            run.control.stop(StopReason::WaveHalted);
            sinks.event(RunEvent::WaveHalted { number, failed });
            continue;
        }
        if let Some(wait) = args.wave_wait {
            sinks.event(RunEvent::Baking {
                seconds: wait.as_secs(),
                next: number + 1,
            });
            sleep_unless(wait, run.control.until_stopped()).await;
        }
        if args.pause && run.control.stopped().is_none() {
            let question = format!(
                "wave {number} of {n}: {result}. Start wave {} of {n}: write",
                number + 1
            );
            match confirm(&run.printer, &question, next_writes[i + 1]).await {
                Confirmed::Yes => {}
                Confirmed::No => {
                    run.control.stop(StopReason::WaveHalted);
                    sinks.event(RunEvent::DeclinedBeforeWave { next: number + 1 });
                }
                Confirmed::Interrupted => run.control.stop(StopReason::Interrupted),
            }
        }
    }
}

/// A wave's targets as `--region-order` writes them: a batch per region named (in that
/// order), then one batch of every other region; without an order, the whole wave.
fn by_region(wave: Vec<Planned>, order: &[Region]) -> Vec<(String, Vec<Planned>)> {
    if order.is_empty() {
        return vec![("(all)".to_string(), wave)];
    }
    let mut batches: Vec<(String, Vec<Planned>)> =
        order.iter().map(|r| (r.to_string(), vec![])).collect();
    batches.push(("(the others)".to_string(), vec![]));
    for p in wave {
        let i = order
            .iter()
            .position(|r| *r == p.target.region)
            .unwrap_or(order.len());
        batches[i].1.push(p);
    }
    batches.retain(|(_, b)| !b.is_empty());
    batches
}
