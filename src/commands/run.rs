//! `plan`, `apply` and `audit`: the run over targets — session, regions, the phases, the
//! confirmation prompt and Ctrl-C — wiring the runner's results to the reporters.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::inputs::{load_inputs, retry_only, unique_accounts};
use super::sinks::{Ended, Sinks, open_report};
use crate::aws::regions;
use crate::aws::session::{Prefetch, Session};
use crate::config::{self, Output};
use crate::error::InputError;
use crate::outcome::{Outcome, Reason, Status, StopReason, TargetError, rfc3339};
use crate::preflight::Preflight;
use crate::report::csv::CsvReport;
use crate::report::html::RunMeta;
use crate::report::printer::Printer;
use crate::rollout::{self, Job, Planned};
use crate::runner::{self, Control};
use crate::target::{Account, AccountId, Region, Target};
use crate::waves::WavePlan;
use crate::words::count;

/// Everything a run over targets needs, built after the inputs are checked.
pub(super) struct Run {
    /// The run's metadata, when --html, --junit or --summary-json asked for it.
    pub(super) meta: Option<RunMeta>,
    pub(super) job: Arc<Job>,
    /// The targets to run.
    pub(super) targets: Vec<Target>,
    /// Rows decided before the run (regions not enabled, or not listable).
    pub(super) pre: Vec<Outcome>,
    /// Every target that gets a row: `targets` and those of `pre`.
    pub(super) listed: Vec<Target>,
    pub(super) session: Session,
    pub(super) control: Arc<Control>,
    pub(super) started: Instant,
    pub(super) printer: Printer,
    /// With `--waves` or `--canary`: the accounts of each wave.
    pub(super) waves: Option<Arc<WavePlan>>,
    /// `-c`: targets in flight at once.
    pub(super) concurrency: usize,
    /// The accounts' roles assumed ahead of their targets, for as long as the run lasts.
    pub(super) _prefetch: Prefetch,
}

/// Checks the inputs, builds the session and opens the report — in that order, so a run
/// that stops for bad input (exit 2) leaves no report behind.
pub(super) async fn start_run(
    printer: &Printer,
    args: &config::Run,
    command: &str,
) -> Result<(Run, CsvReport), InputError> {
    let mut inputs = load_inputs(printer, &args.prefs, &args.inventory, &args.select)?;
    if let Some(report) = &args.retry_failed {
        // The report names concrete regions, so `-r all` accounts need no listing here.
        let mut candidates = std::mem::take(&mut inputs.targets);
        for account in std::mem::take(&mut inputs.all_regions) {
            candidates.extend(Region::all().map(|region| Target {
                account: account.clone(),
                region,
            }));
        }
        inputs.targets = retry_only(printer, report, candidates, &args.prefs.document_name)?;
    }
    let mut accounts = unique_accounts(&inputs.targets);
    accounts.extend(inputs.all_regions.iter().cloned());
    let started = Instant::now();
    let started_at = rfc3339(SystemTime::now());
    let session = Session::new(&args.aws.session, &accounts).await;
    // One set of credentials reaches one partition: refuse, before any call, a run that mixes.
    if let Some(t) = inputs
        .targets
        .iter()
        .find(|t| t.region.partition() != session.partition())
    {
        return Err(InputError::Usage(format!(
            "target {}/{} is in partition {}, but the base credentials' region is in {}: run each partition separately, with credentials (and AWS_REGION) for it",
            t.account.id,
            t.region,
            t.region.partition(),
            session.partition()
        )));
    }
    let waves = match &args.waves {
        Some(w) => {
            // A retry holds only what was left: canary accounts done before are not in it.
            let mut canary = w.canary.clone();
            if args.retry_failed.is_some() {
                canary.retain(|c| {
                    let kept = accounts.iter().any(|a| a.id.as_str() == c || a.name == *c);
                    if !kept {
                        printer.warn(&format!(
                            "--canary {c}: nothing of it to retry; the waves start with the rest"
                        ));
                    }
                    kept
                });
            }
            Some(Arc::new(
                WavePlan::new(&w.spec, &w.stages, &canary, &accounts).map_err(InputError::Usage)?,
            ))
        }
        None => None,
    };
    let csv = open_report(&args.output, command)?;
    printer.out(&format!(
        "{command}: {} in {}{}; preferences {} (sha256 {})\n",
        count(inputs.targets.len(), "target"),
        count(accounts.len(), "account"),
        if inputs.all_regions.is_empty() {
            ""
        } else {
            ", and the regions enabled in the accounts of -r all"
        },
        inputs.prefs.path.display(),
        inputs.prefs.file_sha256
    ));
    let meta = page_meta(
        &args.output,
        &session,
        started_at,
        (
            inputs.prefs.path.display().to_string(),
            inputs.prefs.file_sha256.clone(),
        ),
        &args.prefs.document_name,
    )
    .await;
    let job = Arc::new(Job {
        prefs: inputs.prefs,
        document_name: args.prefs.document_name.clone(),
        existing: args.existing,
        mark: args.mark.clone(),
        prune_versions: args.prune_versions,
        preflight: args.preflight.map(Preflight::new),
    });
    let (targets, pre) = resolve_regions(
        &session,
        &job,
        inputs.targets,
        &inputs.all_regions,
        args.aws.concurrency,
    )
    .await;
    // Targets stay account by account, as listed: the prefetch assumes the accounts' roles in
    // that order, so each role assumed lets all the account's regions start at once.
    let control = Arc::new(Control::default());
    let order: Vec<AccountId> = targets.iter().map(|t| t.account_id().clone()).collect();
    let stop = control.clone();
    let prefetch = session.prefetch(&order, (args.aws.concurrency / 4).clamp(4, 64), move || {
        stop.stopped().is_some()
    });
    let mut listed = targets.clone();
    listed.extend(pre.iter().map(|(t, _)| t.clone()));
    Ok((
        Run {
            meta,
            job,
            targets,
            pre: pre.into_iter().map(|(_, o)| o).collect(),
            listed,
            session,
            control,
            started,
            printer: printer.clone(),
            waves,
            concurrency: args.aws.concurrency,
            _prefetch: prefetch,
        },
        csv,
    ))
}

/// With `--html`, `--junit` or `--summary-json`, the run's metadata: who runs what, since
/// when, on which input file (path and SHA-256) and document. Only the HTML page names the
/// caller, which costs an STS call.
pub(super) async fn page_meta(
    out: &Output,
    session: &Session,
    started_at: String,
    (input_path, input_sha256): (String, String),
    document_name: &str,
) -> Option<RunMeta> {
    if out.html.is_none() && out.junit.is_none() && out.summary_json.is_none() {
        return None;
    }
    Some(RunMeta {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        command: redacted_command_line(),
        caller_arn: match out.html {
            Some(_) => session.caller_arn().await,
            None => String::new(),
        },
        started_at,
        ended_at: String::new(),
        preferences_path: input_path,
        preferences_sha256: input_sha256,
        document_name: document_name.to_string(),
    })
}

/// Asks the accounts that need it which regions they have enabled: every `-r all` account,
/// and those with an opt-in region named explicitly. Returns the targets to run and the rows
/// of those that will not run (a region not enabled: skipped; a listing that failed: failed).
pub(super) async fn resolve_regions(
    session: &Session,
    job: &Job,
    targets: Vec<Target>,
    all: &[Arc<Account>],
    concurrency: usize,
) -> (Vec<Target>, Vec<(Target, Outcome)>) {
    let mut ask: Vec<Arc<Account>> = all.to_vec();
    ask.extend(unique_accounts(
        &targets
            .iter()
            .filter(|t| t.region.opt_in())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    if ask.is_empty() {
        return (targets, vec![]);
    }
    let mut enabled: HashMap<AccountId, Result<Vec<String>, TargetError>> = HashMap::new();
    let endpoint = session.endpoint("Account API", None);
    let not_asked = |a: &Arc<Account>| {
        (
            a.id.clone(),
            Err(TargetError::new(Reason::Interrupted, "not asked")),
        )
    };
    runner::run(
        ask,
        concurrency,
        &Control::default(),
        |a| {
            let client = session.account_client(&a.id);
            let endpoint = endpoint.clone();
            async move { (a.id.clone(), regions::enabled(&client, &endpoint).await) }
        },
        |a, _| not_asked(&a),
        not_asked,
        |(id, r)| {
            enabled.insert(id, r);
        },
    )
    .await;
    let mut run = vec![];
    let mut pre = vec![];
    for t in targets {
        match enabled.get(t.account_id()) {
            Some(Ok(list)) if !list.iter().any(|r| r == t.region.as_str()) => {
                let o = rollout::region_not_enabled(job, &t);
                pre.push((t, o));
            }
            Some(Err(e)) if t.region.opt_in() => {
                let o = rollout::regions_unknown(job, &t, e);
                pre.push((t, o));
            }
            _ => run.push(t),
        }
    }
    for account in all {
        match &enabled[&account.id] {
            Ok(list) => run.extend(
                Region::all()
                    .filter(|r| {
                        r.partition() == session.partition() && list.iter().any(|n| n == r.as_str())
                    })
                    .map(|region| Target {
                        account: account.clone(),
                        region,
                    }),
            ),
            // Without the list, the account's regions are unknown: a failed row for each region
            // every account has, so the gap shows in the report instead of vanishing.
            Err(e) => {
                for region in
                    Region::all().filter(|r| r.partition() == session.partition() && !r.opt_in())
                {
                    let t = Target {
                        account: account.clone(),
                        region,
                    };
                    let o = rollout::regions_unknown(job, &t, e);
                    pre.push((t, o));
                }
            }
        }
    }
    (run, pre)
}

impl Run {
    /// The reporters of a phase that writes the report, with the rows decided before the run
    /// already in it, and Ctrl-C listened for.
    /// `shown`: apply's reading phase already printed the rows decided before the run.
    pub(super) fn report_sinks(
        &self,
        label: &str,
        out: &Output,
        csv: CsvReport,
        shown: bool,
    ) -> (Sinks, tokio::task::JoinHandle<()>) {
        self.listening(
            Sinks::new(label, &self.listed, out, &self.printer, Some(csv))
                .with_files(out, self.meta.clone())
                .with_waves(self.waves.clone()),
            shown,
        )
    }

    /// `sinks` with the rows decided before the run already in them, and Ctrl-C listened for.
    fn listening(&self, mut sinks: Sinks, shown: bool) -> (Sinks, tokio::task::JoinHandle<()>) {
        for o in &self.pre {
            sinks.record_as(o, !shown);
        }
        let listener =
            listen_for_interrupts(self.control.clone(), self.printer.clone(), INTERRUPT_GRACE);
        (sinks, listener)
    }

    /// Phase of reads (plan, and apply's first phase): every target read and decided.
    pub(super) async fn reads(
        &self,
        concurrency: usize,
        on_done: impl FnMut(Result<Planned, Box<Outcome>>),
    ) {
        let job = &self.job;
        runner::run(
            self.targets.clone(),
            concurrency,
            &self.control,
            |t| {
                let checks = job.preflight.as_ref().map(|_| self.session.checks(&t));
                rollout::read_and_decide(job.clone(), t.clone(), self.session.client(&t), checks)
            },
            |t, reason| Err(Box::new(rollout::skipped(job, &t, reason))),
            |t| Err(Box::new(rollout::interrupted(job, t))),
            on_done,
        )
        .await;
    }
}

/// Ctrl-C: the first stops new targets and lets those in flight finish (for at most
/// `grace`); the second, or the end of the grace, abandons them.
pub(super) fn listen_for_interrupts(
    control: Arc<Control>,
    printer: Printer,
    grace: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // A CI job being cancelled sends SIGTERM: it gets the same orderly stop as Ctrl-C.
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        control.stop(StopReason::Interrupted);
        printer.say(&format!(
            "interrupted: no new target starts; waiting up to {}s for those in flight (Ctrl-C again to abandon them)",
            grace.as_secs()
        ));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => printer.say("interrupted again: abandoning the targets in flight"),
            _ = term.recv() => printer.say("terminated again: abandoning the targets in flight"),
            _ = tokio::time::sleep(grace) => printer.say("targets still in flight after the grace period: abandoning them"),
        }
        control.abandon();
    })
}

pub(super) const INTERRUPT_GRACE: Duration = Duration::from_secs(30);

pub async fn plan(printer: &Printer, args: &config::Run) -> Result<Ended, InputError> {
    let (run, csv) = start_run(printer, args, "plan").await?;
    let (mut sinks, listener) = run.report_sinks("plan", &args.output, csv, false);
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
    Ok(sinks.finish("plan", run.started.elapsed(), &run.control, Some("changes")))
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
            .map(|a| format!("{} ({})", a.name, a.id))
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

pub async fn audit(printer: &Printer, args: &config::Run) -> Result<Ended, InputError> {
    let (run, csv) = start_run(printer, args, "audit").await?;
    let (mut sinks, listener) = run.report_sinks("audit", &args.output, csv, false);
    let job = &run.job;
    runner::run(
        run.targets.clone(),
        args.aws.concurrency,
        &run.control,
        |t| {
            let checks = job.preflight.as_ref().map(|_| run.session.checks(&t));
            rollout::audit(job.clone(), t.clone(), run.session.client(&t), checks)
        },
        |t, reason| rollout::skipped(job, &t, reason),
        |t| rollout::interrupted(job, t),
        |o| sinks.record(&o),
    )
    .await;
    listener.abort();
    Ok(sinks.finish(
        "audit",
        run.started.elapsed(),
        &run.control,
        Some("drift (found → desired)"),
    ))
}

pub async fn apply(printer: &Printer, args: &config::Apply) -> Result<Ended, InputError> {
    let opts = &args.run;
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(InputError::Usage(
            "apply needs --yes when stdin is not a terminal (nothing was sent to AWS)".into(),
        ));
    }
    let (run, csv) = start_run(printer, opts, "apply").await?;
    let job = &run.job;

    // Phase 1: read every target and decide, as `plan` does.
    let mut planned = vec![];
    let mut read_failures = vec![];
    let (mut preview, listener) = run.listening(
        Sinks::new("reading", &run.listed, &opts.output, printer, None),
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
        let (mut sinks, listener) = run.report_sinks("apply", &opts.output, csv, true);
        listener.abort();
        // The targets that had failed or been skipped already got their line while reading.
        let shown: std::collections::HashSet<(String, String)> = read_failures
            .iter()
            .map(|o| (o.row.account_id.clone(), o.row.region.clone()))
            .collect();
        for t in &run.targets {
            let o = rollout::skipped(job, t, StopReason::Interrupted);
            let seen = shown.contains(&(o.row.account_id.clone(), o.row.region.clone()));
            sinks.record_as(&o, !seen);
        }
        return Ok(sinks.finish("apply", read_elapsed, &run.control, None));
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
        match confirm_or_cancel(printer, "apply", "Write the preferences to", to_write, csv).await {
            Ok(csv) => csv,
            Err(ended) => return Ok(ended),
        }
    } else {
        csv
    };

    // Phase 2: write, and report every target, the unreadable ones first.
    let writes_started = Instant::now();
    let (mut sinks, listener) = run.report_sinks("apply", &opts.output, csv, true);
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
            write(&run, planned, &mut sinks, &check_tolerance, false).await;
        }
        Some(plan) => {
            waves(
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
        printer.say(&format!(
            "stopped: more than {max} targets failed; the targets not started are reported skipped"
        ));
    }
    Ok(sinks.finish(
        "apply",
        read_elapsed + writes_started.elapsed(),
        &run.control,
        None,
    ))
}

/// Writes these targets and records each (with `verify`, once read back); returns how many
/// of them failed.
async fn write(
    run: &Run,
    planned: Vec<Planned>,
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
    verify: bool,
) -> usize {
    let job = &run.job;
    let mut written = vec![];
    let mut failed = 0;
    runner::run(
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
    runner::run(
        written,
        run.concurrency,
        &readback,
        |(target, o)| {
            let client = run.session.client(&target);
            let job = job.clone();
            async move { rollout::verify(&job, o, client).await }
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
async fn waves(
    run: &Run,
    args: &config::Apply,
    plan: &WavePlan,
    planned: Vec<Planned>,
    read_failures: &[Outcome],
    sinks: &mut Sinks,
    check_tolerance: &impl Fn(usize),
) {
    let printer = &run.printer;
    let n = plan.waves.len();
    let wave_of = |account: &str| plan.wave_of(account).unwrap_or(n);
    let mut by_wave: Vec<Vec<Planned>> = (0..n).map(|_| vec![]).collect();
    for p in planned {
        by_wave[wave_of(p.target.account_id().as_str()) - 1].push(p);
    }
    // What failed before any write (a read, a region list) counts for its wave's result.
    let mut read_failed = vec![0usize; n];
    for o in read_failures.iter().chain(&run.pre) {
        if o.row.status == Status::Failed {
            read_failed[wave_of(&o.row.account_id) - 1] += 1;
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
            printer.note(&format!(
                "wave {number} of {n}: {}, {}",
                count(plan.waves[i].len(), "account"),
                count(wave.len(), "target")
            ));
        }
        // A region of the wave halts the next only on its own writes' failures.
        let mut failed = 0;
        for (region, batch) in by_region(wave, &args.region_order) {
            let halted = failed > 0 && args.max_failures.is_none();
            if halted && run.control.stopped().is_none() {
                run.control.stop(StopReason::WaveHalted);
                printer.say(&format!(
                    "halted: {} in wave {number} failed before region {region}; the targets not started are skipped (WaveHalted)",
                    count(failed, "target")
                ));
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
            printer.note(&format!("wave {number} of {n} done: {result}"));
        }
        if number == n || run.control.stopped().is_some() {
            continue;
        }
        if failed > 0 && args.max_failures.is_none() {
            run.control.stop(StopReason::WaveHalted);
            printer.say(&format!(
                "halted: {} in wave {number} failed; the targets of the later waves are skipped (WaveHalted): fix the failures, then --retry-failed on the report",
                count(failed, "target")
            ));
            continue;
        }
        if let Some(wait) = args.wave_wait {
            printer.note(&format!(
                "baking: waiting {}s before wave {} (Ctrl-C stops the rollout)",
                wait.as_secs(),
                number + 1
            ));
            let until = Instant::now() + wait;
            while Instant::now() < until && run.control.stopped().is_none() {
                tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(100))).await;
            }
        }
        if args.pause && run.control.stopped().is_none() {
            let question = format!(
                "wave {number} of {n}: {result}. Start wave {} of {n}: write",
                number + 1
            );
            match confirm(printer, &question, next_writes[i + 1]).await {
                Confirmed::Yes => {}
                Confirmed::No => {
                    run.control.stop(StopReason::WaveHalted);
                    printer.say(&format!(
                        "stopped before wave {}: the targets of the later waves are skipped (WaveHalted)",
                        number + 1
                    ));
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

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Confirmed {
    Yes,
    No,
    Interrupted,
}

/// Asks before `command` writes; on any answer but yes, removes its report (no row was
/// written), says so and gives the run's end: declined (exit 1) or interrupted (130).
pub(super) async fn confirm_or_cancel(
    printer: &Printer,
    command: &str,
    what: &str,
    n: usize,
    csv: CsvReport,
) -> Result<CsvReport, Ended> {
    let answer = confirm(printer, what, n).await;
    if answer == Confirmed::Yes {
        return Ok(csv);
    }
    let path = csv.path().to_path_buf();
    drop(csv);
    let _ = std::fs::remove_file(path);
    printer.say(&format!("{command} cancelled: nothing was written"));
    Err(if answer == Confirmed::Interrupted {
        Ended::Interrupted
    } else {
        Ended::Failures
    })
}

/// Asks on the terminal; anything but y/yes declines, and Ctrl-C at the prompt interrupts.
pub(super) async fn confirm(printer: &Printer, what: &str, n: usize) -> Confirmed {
    printer.ask(&format!("{what} {}? [y/N] ", count(n, "target")));
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    // SIGTERM (a cancelled CI job, a `kill`) ends the question as Ctrl-C does: once the run
    // listens for it, its default action no longer ends the process.
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        answer = read => match answer {
            Ok(Ok(a)) if matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Confirmed::Yes,
            _ => Confirmed::No,
        },
        _ = tokio::signal::ctrl_c() => {
            printer.ask("\n");
            Confirmed::Interrupted
        }
        _ = term => {
            printer.ask("\n");
            Confirmed::Interrupted
        }
    }
}

/// The command line as typed, for the HTML report, with external ids replaced: they are
/// shared secrets between the hub and the member accounts.
pub(super) fn redacted_command_line() -> String {
    let mut out = vec![];
    let mut hide_next = false;
    // Lossy: a non-UTF-8 argument (a path) must not panic the page's header. The program is
    // named as a person types it, not by where this machine keeps it.
    for (i, arg) in std::env::args_os().enumerate() {
        let arg = match i {
            0 => std::path::Path::new(&arg)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "ssm-prefs".into()),
            _ => arg.to_string_lossy().into_owned(),
        };
        if hide_next {
            out.push("<redacted>".to_string());
            hide_next = false;
        } else if arg == "--external-id" {
            hide_next = true;
            out.push(arg);
        } else if arg.starts_with("--external-id=") {
            out.push("--external-id=<redacted>".into());
        } else {
            out.push(arg);
        }
    }
    out.join(" ")
}
