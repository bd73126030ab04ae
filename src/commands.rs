//! Each subcommand end to end: parse, then validate the inputs (stopping before any AWS call
//! on a problem), then act, wiring the runner's results to the reporters.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::aws::session::{Session, SessionOptions};
use crate::cli::{ApplyArgs, AwsArgs, OutputArgs, PrefsArgs, RunArgs, SelectArgs, ValidateArgs};
use crate::error::{InputError, Problem};
use crate::inventory::{self, Selection};
use crate::preferences::{self, BUILTIN_PLACEHOLDERS, Preferences};
use crate::report::csv::{Action, CsvReport, default_path};
use crate::report::progress::{Progress, Verbosity};
use crate::report::summary::{ChangeSummary, RunStats};
use crate::rollout::{self, Job, Outcome, Planned};
use crate::runner;
use crate::target::Target;

/// How a command ended, when its input was good.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every target succeeded (exit 0).
    Success,
    /// At least one target failed or was skipped, or the operator declined (exit 1).
    Failures,
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
    };
    let targets = inventory::select(&inv, &selection)?;
    let unfillable = prefs.unfillable(&targets);
    if !unfillable.is_empty() {
        return Err(InputError::Problems(unfillable));
    }
    Ok(Inputs {
        prefs,
        targets,
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
        }
    }

    fn record(&mut self, o: &Outcome) {
        self.stats.record(&o.row);
        match o.row.action {
            Action::Create if !o.row.status.is_failure() => self.changes.add_create(),
            Action::Update if !o.row.status.is_failure() => self.changes.add_update(&o.changes),
            _ => {}
        }
        if let Some(csv) = self.csv.as_mut() {
            if let Err(e) = csv.write(&o.row) {
                if self.write_error.is_none() {
                    self.progress.println(&format!(
                        "error: cannot write the report {}: {e}",
                        csv.path().display()
                    ));
                }
                self.write_error.get_or_insert(e);
            }
        }
        self.progress.finished(&o.row, &self.stats);
    }
}

async fn run_reads(
    job: &Arc<Job>,
    session: &Session,
    targets: Vec<Target>,
    concurrency: u32,
    mut on_done: impl FnMut(Result<Planned, Outcome>),
) {
    runner::run(
        targets,
        concurrency as usize,
        |t| {
            let client = session.client(&t);
            rollout::read_and_decide(job.clone(), t, client)
        },
        |r| on_done(r),
    )
    .await;
}

fn make_job(inputs: Inputs, prefs: &PrefsArgs) -> (Arc<Job>, Vec<Target>) {
    let job = Job {
        prefs: inputs.prefs,
        document_name: prefs.document_name.clone(),
        merge: prefs.merge,
    };
    (Arc::new(job), inputs.targets)
}

pub async fn plan(args: &RunArgs) -> Result<Ended, InputError> {
    let inputs = load_inputs(&args.prefs, &args.inventory, &args.select)?;
    let csv = open_report(&args.output, "plan")?;
    let started = Instant::now();
    let accounts: Vec<_> = unique_accounts(&inputs.targets);
    let session = Session::new(&session_options(&args.aws), &accounts).await;
    let (job, targets) = make_job(inputs, &args.prefs);
    let mut sinks = Sinks::new("plan", &targets, &args.output, Some(csv));
    run_reads(&job, &session, targets, args.aws.concurrency, |r| {
        let outcome = match r {
            Ok(p) => p.plan_outcome(&job),
            Err(failed) => failed,
        };
        sinks.record(&outcome)
    })
    .await;
    finish(sinks, "plan", started)
}

fn unique_accounts(targets: &[Target]) -> Vec<Arc<inventory::Account>> {
    let mut seen = std::collections::HashSet::new();
    targets
        .iter()
        .filter(|t| seen.insert(t.account_id().clone()))
        .map(|t| t.account.clone())
        .collect()
}

fn finish(sinks: Sinks, command: &str, started: Instant) -> Result<Ended, InputError> {
    let Sinks {
        stats,
        progress,
        changes,
        write_error,
        csv,
    } = sinks;
    let report = csv
        .as_ref()
        .map(|c| c.path().to_path_buf())
        .unwrap_or_default();
    let report = report.as_path();
    progress.finish();
    if !changes.is_empty() && command == "plan" {
        print!("changes:\n{}", changes.render(12));
    }
    print!("{}", stats.render(command, report, started.elapsed()));
    let _ = std::io::stdout().flush();
    if let Some(e) = write_error {
        eprintln!("error: the report {} is incomplete: {e}", report.display());
        return Ok(Ended::Failures);
    }
    Ok(if stats.any_failure() {
        Ended::Failures
    } else {
        Ended::Success
    })
}

pub async fn apply(args: &ApplyArgs) -> Result<Ended, InputError> {
    let run = &args.run;
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(InputError::Usage(
            "apply needs --yes when stdin is not a terminal (nothing was sent to AWS)".into(),
        ));
    }
    let inputs = load_inputs(&run.prefs, &run.inventory, &run.select)?;
    let csv = open_report(&run.output, "apply")?;
    let started = Instant::now();
    let accounts = unique_accounts(&inputs.targets);
    let session = Session::new(&session_options(&run.aws), &accounts).await;
    let (job, targets) = make_job(inputs, &run.prefs);

    // Phase 1: read every target and decide, as `plan` does.
    let mut planned = vec![];
    let mut read_failures = vec![];
    let mut preview = Sinks::new("reading", &targets, &run.output, None);
    run_reads(
        &job,
        &session,
        targets.clone(),
        run.aws.concurrency,
        |r| match r {
            Ok(p) => {
                preview.record(&p.plan_outcome(&job));
                planned.push(p);
            }
            Err(failed) => {
                preview.record(&failed);
                read_failures.push(failed);
            }
        },
    )
    .await;
    let Sinks {
        stats: read_stats,
        progress,
        changes,
        ..
    } = preview;
    progress.finish();
    let to_write = planned.iter().filter(|p| p.action != Action::None).count();
    println!(
        "plan: {} targets: {}",
        read_stats.finished,
        read_stats.counts_line()
    );
    if !changes.is_empty() {
        print!("changes:\n{}", changes.render(12));
    }
    if to_write > 0 && !args.yes && !confirm(to_write)? {
        let path = csv.path().to_path_buf();
        drop(csv);
        let _ = std::fs::remove_file(path);
        eprintln!("apply cancelled: nothing was written");
        return Ok(Ended::Failures);
    }

    // Phase 2: write, and report every target, the unreadable ones first.
    let mut sinks = Sinks::new("apply", &targets, &run.output, Some(csv));
    for failed in &read_failures {
        sinks.record(failed);
    }
    let apply_job = job.clone();
    runner::run(
        planned,
        run.aws.concurrency as usize,
        |p| p.apply(apply_job.clone()),
        |o| sinks.record(&o),
    )
    .await;
    finish(sinks, "apply", started)
}

/// Asks on the terminal; anything but y/yes declines.
fn confirm(n: usize) -> Result<bool, InputError> {
    eprint!(
        "Write the preferences to {n} target{}? [y/N] ",
        if n == 1 { "" } else { "s" }
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| InputError::Usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
