//! Each subcommand end to end: parse, then validate the inputs (stopping before any AWS call
//! on a problem), then act, wiring the runner's results to the reporters.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::aws::regions;
use crate::aws::session::{Session, SessionOptions};
use crate::cli::{
    ApplyArgs, AwsArgs, DiscoverArgs, MaxFailures, OutputArgs, PrefsArgs, ReportCommand,
    RollbackArgs, RunArgs, SelectArgs, ValidateArgs,
};
use crate::discover;
use crate::error::{InputError, Problem, TargetError};
use crate::inventory::{self, Selection};
use crate::preferences::{self, BUILTIN_PLACEHOLDERS, Preferences};
use crate::report::csv::{
    self as report_csv, Action, CsvReport, ReportRow, Status, default_path, rfc3339,
};
use crate::report::html::{self, RunMeta};
use crate::report::progress::{Printer, Progress, Verbosity};
use crate::report::summary::{ChangeSummary, RunStats};
use crate::rollout::{self, Job, Outcome, Planned, Undo};
use crate::runner::{self, Control, StopReason};
use crate::target::{AccountId, Region, Target};

/// How a command ended, when its input was good.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every target succeeded (exit 0).
    Success,
    /// At least one target failed or was skipped, or the operator declined (exit 1).
    Failures,
    /// Ctrl-C (exit 130).
    Interrupted,
}

fn warn_all(warnings: &[Problem]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// The checked inputs of a run: preferences, and the targets the selection resolves to.
struct Inputs {
    prefs: Preferences,
    targets: Vec<Target>,
    /// `-r all`: accounts whose regions are listed when the run starts.
    all_regions: Vec<Arc<inventory::Account>>,
    inventory_path: PathBuf,
}

fn load_inputs(
    prefs: &PrefsArgs,
    inventory: &Path,
    select: &SelectArgs,
) -> Result<Inputs, InputError> {
    // Both files are checked before either error is reported, so one run shows every problem.
    let prefs = preferences::load(&prefs.preferences);
    let inv = inventory::load(inventory);
    let (prefs, inv) = match (prefs, inv) {
        (Ok(p), Ok(i)) => (p, i),
        (Err(InputError::Problems(mut a)), Err(InputError::Problems(b))) => {
            a.extend(b);
            return Err(InputError::Problems(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    warn_all(&prefs.warnings);
    warn_all(&inv.warnings);
    let selection = Selection {
        accounts: select.accounts.clone(),
        not_accounts: select.not_accounts.clone(),
        tags: select.tags.clone(),
        regions: select.regions.clone(),
        shard: select.shard,
    };
    let selected = inventory::select(&inv, &selection)?;
    // Placeholders depend on the account, not the region: an `-r all` account is checked
    // through a stand-in target.
    let mut check = selected.targets.clone();
    let stand_in = Region::parse("us-east-1").expect("a known region");
    check.extend(selected.all_regions.iter().map(|a| Target {
        account: a.clone(),
        region: stand_in.clone(),
    }));
    let unfillable = prefs.unfillable(&check);
    if !unfillable.is_empty() {
        return Err(InputError::Problems(unfillable));
    }
    Ok(Inputs {
        prefs,
        targets: selected.targets,
        all_regions: selected.all_regions,
        inventory_path: inv.path,
    })
}

pub fn validate(args: &ValidateArgs) -> Result<Ended, InputError> {
    let Some(inventory) = &args.inventory else {
        let prefs = preferences::load(&args.prefs.preferences)?;
        warn_all(&prefs.warnings);
        for (name, line) in &prefs.placeholders {
            if !BUILTIN_PLACEHOLDERS.contains(&name.as_str()) {
                eprintln!(
                    "warning: {}:{line}: placeholder {{{name}}} must come from inventory vars: pass -i to check every target has it",
                    prefs.path.display()
                );
            }
        }
        println!(
            "{}: valid ({} warnings)",
            prefs.path.display(),
            prefs.warnings.len()
        );
        return Ok(Ended::Success);
    };
    let inputs = load_inputs(&args.prefs, inventory, &args.select)?;
    let accounts: std::collections::BTreeSet<_> =
        inputs.targets.iter().map(|t| t.account_id()).collect();
    let regions = region_totals(&inputs.targets);
    println!(
        "{}: valid ({} warnings)",
        inputs.prefs.path.display(),
        inputs.prefs.warnings.len()
    );
    println!(
        "{}: {} accounts × {} regions = {} targets",
        inputs.inventory_path.display(),
        accounts.len(),
        regions.len(),
        inputs.targets.len()
    );
    for (region, n) in &regions {
        println!("  {region:<16} {n:>6} targets");
    }
    if !inputs.all_regions.is_empty() {
        println!(
            "  and {} accounts with -r all: their targets are the regions each has enabled, listed when a run starts",
            inputs.all_regions.len()
        );
    }
    Ok(Ended::Success)
}

fn region_totals(targets: &[Target]) -> BTreeMap<String, usize> {
    let mut totals = BTreeMap::new();
    for t in targets {
        *totals.entry(t.region.to_string()).or_insert(0) += 1;
    }
    totals
}

fn session_options(aws: &AwsArgs) -> SessionOptions {
    SessionOptions {
        role_name: aws.role_name.clone(),
        external_id: aws.external_id.clone(),
        session_name: aws.session_name.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        max_attempts: aws.max_attempts,
        operation_timeout: Duration::from_secs_f64(aws.operation_timeout.max(0.1)),
    }
}

fn verbosity(out: &OutputArgs) -> Verbosity {
    if out.quiet {
        Verbosity::Quiet
    } else if out.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

fn open_report(out: &OutputArgs, command: &str) -> Result<CsvReport, InputError> {
    let path = out.report.clone().unwrap_or_else(|| default_path(command));
    CsvReport::create(&path)
        .map_err(|e| InputError::Usage(format!("cannot create the report {}: {e}", path.display())))
}

/// The reporters of one phase: stats, CSV, progress and the change summary, fed per outcome.
struct Sinks {
    /// With --html: where, the run's metadata, and every row (the page needs them all).
    html: Option<(PathBuf, RunMeta, Vec<ReportRow>)>,
    stats: RunStats,
    progress: Progress,
    csv: Option<CsvReport>,
    changes: ChangeSummary,
    write_error: Option<std::io::Error>,
}

impl Sinks {
    fn new(label: &str, targets: &[Target], out: &OutputArgs, csv: Option<CsvReport>) -> Self {
        Self {
            stats: RunStats::new(targets.len()),
            progress: Progress::new(
                label,
                &region_totals(targets),
                targets.len(),
                verbosity(out),
                out.no_progress,
            ),
            csv,
            changes: ChangeSummary::default(),
            write_error: None,
            html: None,
        }
    }

    fn with_html(mut self, path: Option<&PathBuf>, meta: Option<RunMeta>) -> Self {
        if let (Some(path), Some(meta)) = (path, meta) {
            self.html = Some((path.clone(), meta, vec![]));
        }
        self
    }

    fn record(&mut self, o: &Outcome) {
        self.stats.record(&o.row);
        if let Some((_, _, rows)) = self.html.as_mut() {
            rows.push(o.row.clone());
        }
        match (o.row.action, o.row.status) {
            (_, Status::Failed | Status::Skipped) => {}
            (Action::Create, _) => self.changes.add_create(),
            (Action::Update, _) => self.changes.add_update(&o.changes),
            (Action::None | Action::Restore | Action::Delete, _) => {}
        }
        if let Some(csv) = self.csv.as_mut()
            && let Err(e) = csv.write(&o.row)
        {
            if self.write_error.is_none() {
                self.progress.println(&format!(
                    "error: cannot write the report {}: {e}",
                    csv.path().display()
                ));
            }
            self.write_error.get_or_insert(e);
        }
        self.progress.finished(&o.row, &self.stats);
    }

    /// Clears the bars and prints the summary; the outcome follows from the same stats.
    fn finish(
        self,
        command: &str,
        elapsed: Duration,
        control: &Control,
        change_title: Option<&str>,
    ) -> Ended {
        let Sinks {
            stats,
            progress,
            changes,
            write_error,
            csv,
            html,
        } = self;
        progress.finish();
        if let (Some(title), false) = (change_title, changes.is_empty()) {
            print!("{title}:\n{}", changes.render(12));
        }
        let report = csv
            .as_ref()
            .map(|c| c.path().to_path_buf())
            .unwrap_or_default();
        print!("{}", stats.render(command, &report, elapsed));
        let mut html_error = false;
        if let Some((path, mut meta, rows)) = html {
            meta.ended_at = rfc3339(SystemTime::now());
            match html::write(&path, &meta, &rows) {
                Ok(()) => println!("  html: {}", path.display()),
                Err(e) => {
                    eprintln!(
                        "error: cannot write the HTML report {}: {e}",
                        path.display()
                    );
                    html_error = true;
                }
            }
        }
        let _ = std::io::stdout().flush();
        if let Some(e) = &write_error {
            eprintln!("error: the report {} is incomplete: {e}", report.display());
        }
        match control.stopped() {
            Some(StopReason::Interrupted) => Ended::Interrupted,
            _ if stats.any_failure() || write_error.is_some() || html_error => Ended::Failures,
            _ => Ended::Success,
        }
    }
}

/// Everything a run over targets needs, built after the inputs are checked.
struct Run {
    /// The HTML report's header, when --html asked for one.
    meta: Option<RunMeta>,
    job: Arc<Job>,
    /// The targets to run.
    targets: Vec<Target>,
    /// Rows decided before the run (regions not enabled, or not listable).
    pre: Vec<Outcome>,
    /// Every target that gets a row: `targets` and those of `pre`.
    listed: Vec<Target>,
    session: Session,
    control: Arc<Control>,
    started: Instant,
}

async fn start_run(args: &RunArgs, command: &str) -> Result<(Run, CsvReport), InputError> {
    let mut inputs = load_inputs(&args.prefs, &args.inventory, &args.select)?;
    if let Some(report) = &args.retry_failed {
        // The report names concrete regions, so `-r all` accounts need no listing here.
        let mut candidates = std::mem::take(&mut inputs.targets);
        for account in std::mem::take(&mut inputs.all_regions) {
            candidates.extend(Region::all().map(|region| Target {
                account: account.clone(),
                region,
            }));
        }
        inputs.targets = retry_only(report, candidates, &args.prefs.document_name)?;
    }
    let csv = open_report(&args.output, command)?;
    let mut accounts = unique_accounts(&inputs.targets);
    accounts.extend(inputs.all_regions.iter().cloned());
    println!(
        "{command}: {} targets in {} accounts{}; preferences {} (sha256 {})",
        inputs.targets.len(),
        accounts.len(),
        if inputs.all_regions.is_empty() {
            ""
        } else {
            ", and the regions enabled in the accounts of -r all"
        },
        inputs.prefs.path.display(),
        inputs.prefs.file_sha256
    );
    let started = Instant::now();
    let started_at = rfc3339(SystemTime::now());
    let session = Session::new(&session_options(&args.aws), &accounts).await;
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
    let meta = match &args.output.html {
        Some(_) => Some(RunMeta {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            command: redacted_command_line(),
            caller_arn: session.caller_arn().await,
            started_at,
            ended_at: String::new(),
            preferences_path: inputs.prefs.path.display().to_string(),
            preferences_sha256: inputs.prefs.file_sha256.clone(),
            document_name: args.prefs.document_name.clone(),
        }),
        None => None,
    };
    let job = Arc::new(Job {
        prefs: inputs.prefs,
        document_name: args.prefs.document_name.clone(),
        merge: args.prefs.merge,
    });
    let (targets, pre) = resolve_regions(
        &session,
        &job,
        inputs.targets,
        &inputs.all_regions,
        args.aws.concurrency,
    )
    .await;
    let mut listed = targets.clone();
    listed.extend(pre.iter().map(|(t, _)| t.clone()));
    let control = Arc::new(Control::default());
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
        },
        csv,
    ))
}

/// Asks the accounts that need it which regions they have enabled: every `-r all` account,
/// and those with an opt-in region named explicitly. Returns the targets to run and the rows
/// of those that will not run (a region not enabled: skipped; a listing that failed: failed).
async fn resolve_regions(
    session: &Session,
    job: &Job,
    targets: Vec<Target>,
    all: &[Arc<inventory::Account>],
    concurrency: u32,
) -> (Vec<Target>, Vec<(Target, Outcome)>) {
    let mut ask: Vec<Arc<inventory::Account>> = all.to_vec();
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
    runner::run(
        ask,
        concurrency as usize,
        &Control::default(),
        |a| {
            let client = session.account_client(&a.id);
            async move { (a.id.clone(), regions::enabled(&client).await) }
        },
        |a, _| {
            (
                a.id.clone(),
                Err(TargetError::new("Interrupted", "not asked")),
            )
        },
        |a| {
            (
                a.id.clone(),
                Err(TargetError::new("Interrupted", "not asked")),
            )
        },
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
    fn report_sinks(
        &self,
        label: &str,
        out: &OutputArgs,
        csv: CsvReport,
    ) -> (Sinks, tokio::task::JoinHandle<()>) {
        let mut sinks = Sinks::new(label, &self.listed, out, Some(csv))
            .with_html(out.html.as_ref(), self.meta.clone());
        for o in &self.pre {
            sinks.record(o);
        }
        let listener = listen_for_interrupts(
            self.control.clone(),
            sinks.progress.printer(),
            INTERRUPT_GRACE,
        );
        (sinks, listener)
    }

    /// Phase of reads (plan, and apply's first phase): every target read and decided.
    async fn reads(&self, concurrency: u32, on_done: impl FnMut(Result<Planned, Box<Outcome>>)) {
        let job = &self.job;
        runner::run(
            self.targets.clone(),
            concurrency as usize,
            &self.control,
            |t| rollout::read_and_decide(job.clone(), t.clone(), self.session.client(&t)),
            |t, reason| Err(Box::new(rollout::skipped(job, &t, reason))),
            |t| Err(Box::new(rollout::interrupted(job, t))),
            on_done,
        )
        .await;
    }
}

/// Ctrl-C: the first stops new targets and lets those in flight finish (for at most
/// `grace`); the second, or the end of the grace, abandons them.
fn listen_for_interrupts(
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
        printer.println(&format!(
            "interrupted: no new target starts; waiting up to {}s for those in flight (Ctrl-C again to abandon them)",
            grace.as_secs()
        ));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => printer.println("interrupted again: abandoning the targets in flight"),
            _ = term.recv() => printer.println("terminated again: abandoning the targets in flight"),
            _ = tokio::time::sleep(grace) => printer.println("targets still in flight after the grace period: abandoning them"),
        }
        control.abandon();
    })
}

const INTERRUPT_GRACE: Duration = Duration::from_secs(30);

pub async fn plan(args: &RunArgs) -> Result<Ended, InputError> {
    let (run, csv) = start_run(args, "plan").await?;
    let (mut sinks, listener) = run.report_sinks("plan", &args.output, csv);
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
    Ok(sinks.finish("plan", run.started.elapsed(), &run.control, Some("changes")))
}

pub async fn audit(args: &RunArgs) -> Result<Ended, InputError> {
    let (run, csv) = start_run(args, "audit").await?;
    let (mut sinks, listener) = run.report_sinks("audit", &args.output, csv);
    let job = &run.job;
    runner::run(
        run.targets.clone(),
        args.aws.concurrency as usize,
        &run.control,
        |t| rollout::audit(job.clone(), t.clone(), run.session.client(&t)),
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

pub async fn apply(args: &ApplyArgs) -> Result<Ended, InputError> {
    let opts = &args.run;
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(InputError::Usage(
            "apply needs --yes when stdin is not a terminal (nothing was sent to AWS)".into(),
        ));
    }
    let (run, csv) = start_run(opts, "apply").await?;
    let job = &run.job;

    // Phase 1: read every target and decide, as `plan` does.
    let mut planned = vec![];
    let mut read_failures = vec![];
    let mut preview = Sinks::new("reading", &run.listed, &opts.output, None);
    for o in &run.pre {
        preview.record(o);
    }
    let listener = listen_for_interrupts(
        run.control.clone(),
        preview.progress.printer(),
        INTERRUPT_GRACE,
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
        ..
    } = preview;
    progress.finish();
    if run.control.stopped().is_some() {
        // Interrupted while reading: nothing was written. Every target is reported skipped.
        let (mut sinks, listener) = run.report_sinks("apply", &opts.output, csv);
        listener.abort();
        for t in &run.targets {
            sinks.record(&rollout::skipped(job, t, StopReason::Interrupted));
        }
        return Ok(sinks.finish("apply", read_elapsed, &run.control, None));
    }
    let to_write = planned.iter().filter(|p| p.action != Action::None).count();
    println!(
        "plan: {} targets: {}",
        read_stats.finished,
        read_stats.counts_line()
    );
    if !changes.is_empty() {
        print!("changes:\n{}", changes.render(12));
    }
    if to_write > 0 && !args.yes {
        listener.abort();
        match confirm("Write the preferences to", to_write).await {
            Confirmed::Yes => {}
            answer => {
                let path = csv.path().to_path_buf();
                drop(csv);
                let _ = std::fs::remove_file(path);
                eprintln!("apply cancelled: nothing was written");
                return Ok(if answer == Confirmed::Interrupted {
                    Ended::Interrupted
                } else {
                    Ended::Failures
                });
            }
        }
    } else {
        listener.abort();
    }

    // Phase 2: write, and report every target, the unreadable ones first.
    let writes_started = Instant::now();
    let (mut sinks, listener) = run.report_sinks("apply", &opts.output, csv);
    let total = run.listed.len();
    let max_failures = args.max_failures;
    let check_tolerance = |stats: &RunStats| {
        if max_failures.is_some_and(|m| m.exceeded(stats.count(Status::Failed), total)) {
            run.control.stop(StopReason::MaxFailures);
        }
    };
    for failed in &read_failures {
        sinks.record(failed);
    }
    check_tolerance(&sinks.stats);
    runner::run(
        planned,
        opts.aws.concurrency as usize,
        &run.control,
        |p| p.apply(job.clone()),
        |p, reason| p.skipped(job, reason),
        |p| p.interrupted(job),
        |o| {
            sinks.record(&o);
            check_tolerance(&sinks.stats);
        },
    )
    .await;
    listener.abort();
    if run.control.stopped() == Some(StopReason::MaxFailures) {
        sinks.progress.println(&format!(
            "stopped: more than {} targets failed; the targets not started are reported skipped",
            match max_failures {
                Some(MaxFailures::Count(n)) => n.to_string(),
                Some(MaxFailures::Percent(p)) => format!("{p}%"),
                None => String::new(),
            }
        ));
    }
    Ok(sinks.finish(
        "apply",
        read_elapsed + writes_started.elapsed(),
        &run.control,
        None,
    ))
}

#[derive(Debug, PartialEq, Eq)]
enum Confirmed {
    Yes,
    No,
    Interrupted,
}

/// Asks on the terminal; anything but y/yes declines, and Ctrl-C at the prompt interrupts.
async fn confirm(what: &str, n: usize) -> Confirmed {
    eprint!("{what} {n} target{}? [y/N] ", if n == 1 { "" } else { "s" });
    let _ = std::io::stderr().flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    tokio::select! {
        answer = read => match answer {
            Ok(Ok(a)) if matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Confirmed::Yes,
            _ => Confirmed::No,
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!();
            Confirmed::Interrupted
        }
    }
}

fn unique_accounts(targets: &[Target]) -> Vec<Arc<inventory::Account>> {
    let mut seen = std::collections::HashSet::new();
    targets
        .iter()
        .filter(|t| seen.insert(t.account_id().clone()))
        .map(|t| t.account.clone())
        .collect()
}

/// `--retry-failed`: keeps the targets whose status was failed or skipped in an earlier report.
fn retry_only(
    report: &Path,
    targets: Vec<Target>,
    document: &str,
) -> Result<Vec<Target>, InputError> {
    let rows = report_csv::read(report)?;
    if let Some(other) = rows.iter().find(|r| r.document_name != document) {
        return Err(InputError::one(
            report,
            None,
            format!(
                "the report is for document {:?}, not {document:?}: pass --document-name {}",
                other.document_name, other.document_name
            ),
        ));
    }
    let wanted: HashSet<(String, String)> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Skipped))
        .map(|r| (r.account_id.clone(), r.region.clone()))
        .collect();
    if wanted.is_empty() {
        return Err(InputError::one(
            report,
            None,
            "no target failed or was skipped in this report: nothing to retry",
        ));
    }
    let selected: Vec<Target> = targets
        .into_iter()
        .filter(|t| wanted.contains(&(t.account_id().to_string(), t.region.to_string())))
        .collect();
    if selected.len() < wanted.len() {
        eprintln!(
            "warning: {}: {} of its {} failed or skipped targets are outside the inventory and selection given",
            report.display(),
            wanted.len() - selected.len(),
            wanted.len()
        );
    }
    if selected.is_empty() {
        return Err(InputError::one(
            report,
            None,
            "none of its failed or skipped targets is in the inventory and selection given",
        ));
    }
    Ok(selected)
}

/// `rollback --from`: undo what an apply created or updated, where nobody changed it since.
pub async fn rollback(args: &RollbackArgs) -> Result<Ended, InputError> {
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(InputError::Usage(
            "rollback needs --yes when stdin is not a terminal (nothing was sent to AWS)".into(),
        ));
    }
    let rows = report_csv::read(&args.from)?;
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| {
        !matches!(
            r.status,
            Status::Created
                | Status::Updated
                | Status::Unchanged
                | Status::Failed
                | Status::Skipped
        )
    }) {
        return Err(InputError::one(
            &args.from,
            Some(i + 2),
            format!(
                "not an apply report: status {:?} comes from another command",
                r.status.as_str()
            ),
        ));
    }
    let inventory = args.inventory.as_deref().map(inventory::load).transpose()?;
    if let Some(inv) = &inventory {
        warn_all(&inv.warnings);
    }
    let mut accounts: HashMap<String, Arc<inventory::Account>> = HashMap::new();
    let mut undos = vec![];
    let mut problems = vec![];
    for (i, row) in rows.into_iter().enumerate() {
        if !matches!(row.status, Status::Created | Status::Updated) {
            continue;
        }
        let line = Some(i + 2);
        let account = match accounts.get(&row.account_id) {
            Some(a) => a.clone(),
            None => {
                let found = match &inventory {
                    Some(inv) => inv
                        .accounts
                        .iter()
                        .find(|a| a.id.as_str() == row.account_id)
                        .cloned()
                        .ok_or_else(|| {
                            format!(
                                "account {} is not in the inventory {}",
                                row.account_id,
                                inv.path.display()
                            )
                        }),
                    None => AccountId::parse(&row.account_id).map(|id| {
                        Arc::new(inventory::Account {
                            id,
                            name: row.account_name.clone(),
                            ..Default::default()
                        })
                    }),
                };
                match found {
                    Ok(a) => {
                        accounts.insert(row.account_id.clone(), a.clone());
                        a
                    }
                    Err(e) => {
                        problems.push(Problem::at(&args.from, line, e));
                        continue;
                    }
                }
            }
        };
        match Region::parse(&row.region) {
            Ok(region) => undos.push(Undo {
                target: Target { account, region },
                applied: row,
            }),
            Err(e) => problems.push(Problem::at(&args.from, line, e)),
        }
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    if undos.is_empty() {
        return Err(InputError::one(
            &args.from,
            None,
            "nothing to roll back: that apply created or updated no target",
        ));
    }
    let csv = open_report(&args.output, "rollback")?;
    let started = Instant::now();
    let session = Session::new(
        &session_options(&args.aws),
        &accounts.values().cloned().collect::<Vec<_>>(),
    )
    .await;
    let deletes = undos
        .iter()
        .filter(|u| u.applied.status == Status::Created)
        .count();
    println!(
        "rollback: {} targets: {} to restore their previous default version, {deletes} to delete (created by that apply)",
        undos.len(),
        undos.len() - deletes
    );
    if !args.yes {
        match confirm("Roll back", undos.len()).await {
            Confirmed::Yes => {}
            answer => {
                let path = csv.path().to_path_buf();
                drop(csv);
                let _ = std::fs::remove_file(path);
                eprintln!("rollback cancelled: nothing was written");
                return Ok(if answer == Confirmed::Interrupted {
                    Ended::Interrupted
                } else {
                    Ended::Failures
                });
            }
        }
    }
    let targets: Vec<Target> = undos.iter().map(|u| u.target.clone()).collect();
    let control = Arc::new(Control::default());
    let mut sinks = Sinks::new("rollback", &targets, &args.output, Some(csv));
    let listener =
        listen_for_interrupts(control.clone(), sinks.progress.printer(), INTERRUPT_GRACE);
    runner::run(
        undos,
        args.aws.concurrency as usize,
        &control,
        |u| {
            let client = session.client(&u.target);
            rollout::rollback(u, client)
        },
        |u, reason| u.stopped(reason, false),
        |u| u.stopped(StopReason::Interrupted, true),
        |o| sinks.record(&o),
    )
    .await;
    listener.abort();
    Ok(sinks.finish("rollback", started.elapsed(), &control, None))
}

/// The command line as typed, for the HTML report, with external ids replaced: they are
/// shared secrets between the hub and the member accounts.
fn redacted_command_line() -> String {
    let mut out = vec![];
    let mut hide_next = false;
    for arg in std::env::args() {
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

/// `discover`: the organization as an inventory file.
pub async fn discover(args: &DiscoverArgs) -> Result<Ended, InputError> {
    let mut regions = vec![];
    for name in &args.regions {
        regions.push(Region::parse(name).map_err(|e| InputError::Usage(format!("-r: {e}")))?);
    }
    if let Some(path) = &args.output {
        // Fail on an unwritable path before asking AWS anything.
        std::fs::write(path, "")
            .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let session = Session::new(&session_options(&args.aws), &[]).await;
    let found =
        match discover::walk(&session.organizations(), &args.ous, args.include_management).await {
            Ok(found) => found,
            Err(e) => {
                eprintln!(
                    "error: cannot read the organization: {}: {}",
                    e.code, e.message
                );
                return Ok(Ended::Failures);
            }
        };
    let source = if args.ous.is_empty() {
        "the whole organization".to_string()
    } else {
        format!("OUs {}", args.ous.join(", "))
    };
    let yaml = discover::to_yaml(
        &found,
        |id| {
            AccountId::parse(id)
                .map(|id| session.role_arn(&args.aws.role_name, &id))
                .unwrap_or_default()
        },
        &regions,
        &source,
    );
    match &args.output {
        Some(path) => {
            std::fs::write(path, yaml)
                .map_err(|e| InputError::Usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "discover: {} ACTIVE accounts written to {} ({} SUSPENDED left out)",
                found.accounts.len(),
                path.display(),
                found.suspended.len()
            );
        }
        None => print!("{yaml}"),
    }
    Ok(Ended::Success)
}

/// `report merge`: the shard reports as one.
pub fn report(cmd: &ReportCommand) -> Result<Ended, InputError> {
    let ReportCommand::Merge(args) = cmd;
    let rows = report_csv::merge(&args.reports)?;
    let mut out = CsvReport::create(&args.output)
        .map_err(|e| InputError::Usage(format!("cannot create {}: {e}", args.output.display())))?;
    for row in &rows {
        out.write(row).map_err(|e| {
            InputError::Usage(format!("cannot write {}: {e}", args.output.display()))
        })?;
    }
    println!(
        "merged {} reports: {} targets into {}",
        args.reports.len(),
        rows.len(),
        args.output.display()
    );
    Ok(Ended::Success)
}
