//! Apply's write phase: every planned target written at once, or (`--waves`) wave by wave,
//! each wave read back before the next, halting on a failed wave.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::engine::{Step, each};
use super::prompt::{Confirmed, confirm};
use super::setup::Prepared;
use super::sinks::Sinks;
use crate::aws::retry::{Stop, sleep_unless};
use crate::aws::session::Session;
use crate::model::{Outcome, RunEvent, Status, StopReason};
use crate::settings;
use crate::steps::{self, Job, Planned};
use crate::target::{Region, Target};
use crate::waves::WavePlan;

/// Apply's write of one target planned.
struct Write<'a> {
    job: &'a Arc<Job>,
    session: &'a Session,
}

impl Step for Write<'_> {
    type Item = Planned;
    type Done = (Target, Outcome);

    fn start(&self, p: Planned) -> impl Future<Output = Self::Done> + Send + 'static {
        let client = p.writes().then(|| self.session.client(&p.target));
        let target = p.target.clone();
        let write = p.apply(self.job.clone(), client);
        async move { (target, write.await) }
    }

    fn skipped(&self, p: Planned, reason: StopReason) -> Self::Done {
        (p.target.clone(), p.skipped(self.job, reason))
    }

    fn abandoned(&self, p: &Planned) -> Self::Done {
        (p.target.clone(), p.interrupted(self.job))
    }

    fn decided(&self, target: Target, row: Outcome) -> Self::Done {
        (target, row)
    }
}

/// `--waves`: a target written, read back.
struct Verify<'a> {
    job: &'a Arc<Job>,
    session: &'a Session,
}

impl Step for Verify<'_> {
    type Item = (Target, Outcome);
    type Done = Outcome;

    fn start(&self, (target, o): Self::Item) -> impl Future<Output = Outcome> + Send + 'static {
        let client = self.session.client(&target);
        let job = self.job.clone();
        async move { steps::verify(&job, o, client).await }
    }

    fn skipped(&self, (_, o): Self::Item, _: StopReason) -> Outcome {
        o
    }

    fn abandoned(&self, (_, o): &Self::Item) -> Outcome {
        o.clone()
    }

    fn decided(&self, _: Target, row: Outcome) -> Outcome {
        row
    }
}

/// Writes these targets and records each (with `verify`, once read back); returns how many
/// of them failed.
pub(crate) async fn write(
    p: &Prepared,
    planned: Vec<Planned>,
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
    verify: bool,
) -> usize {
    let run = &p.run;
    let (job, session) = (&p.job, &run.session);
    let mut written = vec![];
    let mut failed = 0;
    each(
        planned,
        run.concurrency,
        &run.control,
        &Write { job, session },
        |(target, o)| {
            failed += usize::from(o.row.status == Status::Failed);
            if verify {
                // Its row waits for the read-back; its failure counts for the tolerance now.
                check_tolerance(sinks.failed() + failed);
                written.push((target, o));
            } else {
                sinks.record(&o);
                check_tolerance(sinks.failed());
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
    each(
        written,
        run.concurrency,
        &readback,
        &Verify { job, session },
        |o| {
            failed += usize::from(o.row.status == Status::Failed);
            sinks.record(&o);
            check_tolerance(sinks.failed());
        },
    )
    .await;
    failed
}

/// `--waves`: the plan of the waves and the policy between them.
pub(crate) struct Waves<'a> {
    plan: &'a WavePlan,
    policy: WavePolicy,
    /// `--region-order`.
    region_order: &'a [Region],
}

impl<'a> Waves<'a> {
    pub(crate) fn of(args: &'a settings::Apply, plan: &'a WavePlan) -> Waves<'a> {
        Waves {
            plan,
            policy: WavePolicy {
                waves: plan.waves.len(),
                tolerant: args.max_failures.is_some(),
                wave_wait: args.wave_wait,
                pause: args.pause,
            },
            region_order: &args.region_order,
        }
    }
}

/// When the waves go on, decided from counts alone (no prompt, no sleep, no event): the
/// executor acts on its answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WavePolicy {
    /// How many waves there are.
    waves: usize,
    /// `--max-failures` given: a failed wave does not halt the next (the tolerance does).
    tolerant: bool,
    /// `--wave-wait`.
    wave_wait: Option<Duration>,
    /// `--pause`.
    pause: bool,
}

/// What follows a verified wave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AfterWave {
    /// The last wave, or the run already stopped: nothing more to decide.
    Over,
    /// The wave failed: the later waves are not started.
    Halt,
    /// The next wave starts, after the bake time, and once the operator says so.
    Next { bake: Option<Duration>, ask: bool },
}

impl WavePolicy {
    /// Before a region of a wave: whether the wave's failures so far halt the run.
    pub(crate) fn halts_before_region(&self, failed: usize) -> bool {
        failed > 0 && !self.tolerant
    }

    /// After wave `number` (from 1), with `failed` targets failed and the run `stopped` or not.
    pub(crate) fn after_wave(&self, number: usize, failed: usize, stopped: bool) -> AfterWave {
        if number == self.waves || stopped {
            AfterWave::Over
        } else if failed > 0 && !self.tolerant {
            AfterWave::Halt
        } else {
            AfterWave::Next {
                bake: self.wave_wait,
                ask: self.pause,
            }
        }
    }
}

/// `--waves`: each wave written and read back; the next starts only after a wave with no
/// failed target (or within `--max-failures`), after `--wave-wait`, and with `--pause` once
/// the operator says so.
pub(crate) async fn waves(
    p: &Prepared,
    waves: Waves<'_>,
    planned: Vec<Planned>,
    read_failures: &[Outcome],
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
) {
    let plan = waves.plan;
    let n = plan.waves.len();
    let by_wave = by_wave(plan, planned, read_failures.iter().chain(&p.run.pre));
    let mut next_writes: Vec<usize> = by_wave
        .iter()
        .map(|w| w.planned.iter().filter(|p| p.writes()).count())
        .collect();
    next_writes.push(0);
    for (i, wave) in by_wave.into_iter().enumerate() {
        let number = i + 1;
        let control = &p.run.control;
        let started = control.stopped().is_none();
        if started {
            sinks.event(RunEvent::WaveStarted {
                number,
                of: n,
                accounts: plan.waves[i].len(),
                targets: wave.planned.len() + wave.decided,
            });
        }
        // A region of the wave halts the next only on its own writes' failures.
        let mut failed = 0;
        for (region, batch) in by_region(wave.planned, waves.region_order) {
            if waves.policy.halts_before_region(failed) && control.stopped().is_none() {
                control.stop(StopReason::WaveHalted);
                sinks.event(RunEvent::WaveHaltedBeforeRegion {
                    number,
                    failed,
                    region: region.clone(),
                });
            }
            failed += write(p, batch, sinks, check_tolerance, true).await;
        }
        failed += wave.read_failed;
        let result = sinks.wave_counts(number);
        if started {
            sinks.event(RunEvent::WaveVerified {
                number,
                of: n,
                counts: result.clone(),
            });
        }
        let after = waves
            .policy
            .after_wave(number, failed, control.stopped().is_some());
        between_waves(
            p,
            sinks,
            after,
            (number, n),
            &result,
            next_writes[i + 1],
            failed,
        )
        .await;
    }
}

/// Acts on the policy's answer after wave `number` of `n`: halts, or bakes and asks.
async fn between_waves(
    p: &Prepared,
    sinks: &Sinks,
    after: AfterWave,
    (number, n): (usize, usize),
    result: &str,
    next_writes: usize,
    failed: usize,
) {
    let control = &p.run.control;
    let (bake, ask) = match after {
        AfterWave::Over => return,
        AfterWave::Halt => {
            control.stop(StopReason::WaveHalted);
            sinks.event(RunEvent::WaveHalted { number, failed });
            return;
        }
        AfterWave::Next { bake, ask } => (bake, ask),
    };
    if let Some(wait) = bake {
        sinks.event(RunEvent::Baking {
            seconds: wait.as_secs(),
            next: number + 1,
        });
        sleep_unless(wait, control.until_stopped()).await;
    }
    if ask && control.stopped().is_none() {
        let question = format!(
            "wave {number} of {n}: {result}. Start wave {} of {n}: write",
            number + 1
        );
        match confirm(&p.run.printer, &question, next_writes).await {
            Confirmed::Yes => {}
            Confirmed::No => {
                control.stop(StopReason::WaveHalted);
                sinks.event(RunEvent::DeclinedBeforeWave { next: number + 1 });
            }
            Confirmed::Interrupted => control.stop(StopReason::Interrupted),
        }
    }
}

/// One wave's share of the run: its targets planned, the rows decided before the writes (for
/// its size) and how many of those failed (for its result).
struct Wave {
    planned: Vec<Planned>,
    decided: usize,
    read_failed: usize,
}

/// The planned targets by wave; what failed before any write (a read, a region list) counts
/// for its wave's result, and every row decided before the writes for its wave's size, as
/// the summary counts them.
fn by_wave<'o>(
    plan: &WavePlan,
    planned: Vec<Planned>,
    decided: impl Iterator<Item = &'o Outcome>,
) -> Vec<Wave> {
    let n = plan.waves.len();
    let wave_of = |account: &str| plan.wave_of(account).unwrap_or(n) - 1;
    let mut waves: Vec<Wave> = (0..n)
        .map(|_| Wave {
            planned: vec![],
            decided: 0,
            read_failed: 0,
        })
        .collect();
    for p in planned {
        waves[wave_of(p.target.account_id().as_str())]
            .planned
            .push(p);
    }
    for o in decided {
        let wave = &mut waves[wave_of(o.row.account_id.as_str())];
        wave.decided += 1;
        if o.row.status == Status::Failed {
            wave.read_failed += 1;
        }
    }
    waves
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(tolerant: bool, pause: bool) -> WavePolicy {
        WavePolicy {
            waves: 3,
            tolerant,
            wave_wait: Some(Duration::from_secs(60)),
            pause,
        }
    }

    #[test]
    fn a_failed_wave_halts_the_next_unless_a_tolerance_is_given() {
        assert_eq!(
            policy(false, false).after_wave(1, 1, false),
            AfterWave::Halt
        );
        assert_eq!(
            policy(true, false).after_wave(1, 1, false),
            AfterWave::Next {
                bake: Some(Duration::from_secs(60)),
                ask: false
            }
        );
        assert!(policy(false, false).halts_before_region(1));
        assert!(!policy(false, false).halts_before_region(0));
        assert!(!policy(true, false).halts_before_region(5));
    }

    #[test]
    fn the_last_wave_or_a_stopped_run_decides_nothing_more() {
        assert_eq!(policy(false, true).after_wave(3, 0, false), AfterWave::Over);
        assert_eq!(policy(false, true).after_wave(3, 2, false), AfterWave::Over);
        assert_eq!(policy(false, true).after_wave(1, 2, true), AfterWave::Over);
    }

    #[test]
    fn a_good_wave_bakes_then_asks_with_pause() {
        assert_eq!(
            policy(false, true).after_wave(2, 0, false),
            AfterWave::Next {
                bake: Some(Duration::from_secs(60)),
                ask: true
            }
        );
        let quick = WavePolicy {
            wave_wait: None,
            ..policy(false, false)
        };
        assert_eq!(
            quick.after_wave(1, 0, false),
            AfterWave::Next {
                bake: None,
                ask: false
            }
        );
    }
}
