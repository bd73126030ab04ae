//! A run over targets set up (plan, apply, audit): the inputs checked, the session built, the
//! report opened, each account's regions resolved and its role assumed ahead, and the read
//! phase plan and apply share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;

use super::engine::Run;
use super::fanout::{self, Control};
use super::inputs::{Inputs, retry_only, unique_accounts};
use super::sinks::{RunOutcome, ended_early, open_report};
use super::sources::{self, Sourced};
use crate::aws::regions;
use crate::aws::retry::{Stop, sleep_unless};
use crate::aws::session::{Prefetch, Session};
use crate::error::InputError;
use crate::model::{Command, Outcome, Reason, RunEvent, RunMeta, TargetError, rfc3339};
use crate::preferences::Preferences;
use crate::preflight::Preflight;
use crate::report::csv::CsvReport;
use crate::settings::{
    self, Caller, DEFAULT_DOCUMENT_NAME, DEFAULT_OWNER_TAG, DEFAULT_ROLE_NAME, Output,
};
use crate::steps::{self, FixCommand, Job};
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::events::EventLog;
use crate::terminal::printer::Printer;
use crate::waves::WavePlan;
use crate::words::count;

/// A run over targets (plan, apply, audit) set up: what every run shares, the job its targets
/// share and the targets, built after the inputs are checked.
pub(crate) struct Prepared {
    pub(crate) run: Run,
    pub(crate) job: Arc<Job>,
    /// The targets to run.
    pub(crate) targets: Vec<Target>,
    /// The accounts' roles assumed ahead of their targets, for as long as the run lasts.
    pub(crate) _prefetch: Prefetch,
}

/// A run set up, or how it ended before it started (nothing to do, or the organization could
/// not be read).
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start {
    Run(Prepared, CsvReport),
    Ended(RunOutcome),
}

impl Prepared {
    /// Checks the inputs, builds the session and opens the report — in that order, so a run
    /// that stops for bad input (exit 2) leaves no report behind.
    pub(crate) async fn start(
        printer: &Printer,
        args: &settings::RunSettings,
        command: Command,
        caller: &Caller,
    ) -> Result<Start, InputError> {
        let mut inputs = match sources::inputs(printer, args).await? {
            Sourced::Run(inputs) => inputs,
            Sourced::Ended(ended, why) => {
                let meta = RunMeta {
                    document_name: args.prefs.document_name.clone(),
                    input_path: args.prefs.path.display().to_string(),
                    ..RunMeta::new(command)
                };
                let outcome = ended_early(printer, &args.output, meta, ended, &why);
                return Ok(Start::Ended(outcome));
            }
        };
        narrow_to_retry(printer, args, &mut inputs)?;
        let mut accounts = unique_accounts(&inputs.targets);
        accounts.extend(inputs.all_regions.iter().cloned());
        let started = Instant::now();
        let started_at = rfc3339(SystemTime::now());
        let session = Session::new(&args.aws.session, &accounts).await;
        warn_missing_profiles(printer, &session);
        one_partition(&inputs.targets, &session)?;
        let waves = wave_plan(printer, args, &accounts)?;
        let csv = open_report(&args.output, command)?;
        say_header(printer, command, &inputs, accounts.len());
        let input = (
            inputs.prefs.path.display().to_string(),
            inputs.prefs.file_sha256.clone(),
        );
        let meta = run_meta(
            command,
            &args.output,
            caller.command_line.clone(),
            &session,
            started_at,
            input,
            &args.prefs.document_name,
        )
        .await;
        let job = Arc::new(job(args, inputs.prefs));
        let run = Run {
            deadline: args.deadline(),
            waves,
            walk: inputs.walk,
            ..Run::new(
                printer,
                meta,
                session,
                &args.output,
                args.aws.concurrency,
                started,
            )
        };
        let prepared = ready(run, job, inputs.targets, &inputs.all_regions, args).await;
        Ok(Start::Run(prepared, csv))
    }
}

/// `--retry-failed`: only the targets the report says failed, were skipped or blocked.
fn narrow_to_retry(
    printer: &Printer,
    args: &settings::RunSettings,
    inputs: &mut Inputs,
) -> Result<(), InputError> {
    if let (Some(report), Some(rows)) = (&args.retry_failed, inputs.retry.take()) {
        // The report names concrete regions, so `-r all` accounts need no listing here.
        let mut candidates = std::mem::take(&mut inputs.targets);
        for account in std::mem::take(&mut inputs.all_regions) {
            candidates.extend(Region::all().map(|region| Target {
                account: account.clone(),
                region,
            }));
        }
        inputs.targets = retry_only(printer, report, &rows, candidates)?;
    }
    Ok(())
}

/// One set of credentials reaches one partition: a run that mixes is refused before any call.
fn one_partition(targets: &[Target], session: &Session) -> Result<(), InputError> {
    match targets
        .iter()
        .find(|t| t.region.partition() != session.partition())
    {
        Some(t) => Err(InputError::usage(format!(
            "target {}/{} is in partition {}, but the base credentials' region is in {}: run each partition separately, with credentials (and AWS_REGION) for it",
            t.account.id,
            t.region,
            t.region.partition(),
            session.partition()
        ))),
        None => Ok(()),
    }
}

/// `--waves` / `--canary`: the accounts of each wave.
fn wave_plan(
    printer: &Printer,
    args: &settings::RunSettings,
    accounts: &[Arc<Account>],
) -> Result<Option<Arc<WavePlan>>, InputError> {
    let Some(w) = &args.waves else {
        return Ok(None);
    };
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
    let plan = WavePlan::new(&w.spec, &w.stages, &canary, accounts).map_err(InputError::usage)?;
    Ok(Some(Arc::new(plan)))
}

/// The run's first line: how many targets, in how many accounts, with which preferences.
fn say_header(printer: &Printer, command: Command, inputs: &Inputs, accounts: usize) {
    printer.out(&format!(
        "{command}: {} in {}{}; preferences {} (sha256 {})\n",
        count(inputs.targets.len(), "target"),
        count(accounts, "account"),
        if inputs.all_regions.is_empty() {
            ""
        } else {
            ", and the regions enabled in the accounts of -r all"
        },
        inputs.prefs.path.display(),
        inputs.prefs.file_sha256
    ));
}

/// What every target of the run shares: the preferences and the flags its steps follow.
fn job(args: &settings::RunSettings, prefs: Preferences) -> Job {
    let fix = args
        .security_hub
        .then(|| fix_command(args, &prefs.sensitive_placeholders()));
    Job {
        prefs,
        document_name: args.prefs.document_name.clone(),
        existing: args.existing,
        mark: args.mark.clone(),
        prune_versions: args.prune_versions,
        who: args.who,
        security_hub: fix,
        preflight: args.preflight.clone().map(Preflight::new),
        names: Default::default(),
    }
}

/// `--wait-ready`, then each account's regions resolved; the roles then assumed ahead.
async fn ready(
    mut run: Run,
    job: Arc<Job>,
    targets: Vec<Target>,
    all_regions: &[Arc<Account>],
    args: &settings::RunSettings,
) -> Prepared {
    // Set when the run starts: the wait covers roles and regions together. Ctrl-C (or SIGTERM)
    // ends it: the run then reports every target as interrupted.
    let now = Instant::now();
    let ready = (!args.wait_ready.is_zero()).then(|| Ready {
        until: now + args.wait_ready,
        since: now,
        log: &run.log,
        control: &run.control,
    });
    // Roles are assumed this many at a time, waited for or fetched ahead.
    let in_flight = (args.aws.concurrency / 4).clamp(4, 64);
    let listening = ready.as_ref().map(|_| run.listen());
    if let Some(ready) = &ready {
        let mut order = unique_accounts(&targets);
        order.extend(all_regions.iter().cloned());
        wait_for_roles(&run, ready, &order, in_flight).await;
    }
    let (targets, pre) = resolve_regions(
        &run.session,
        &job,
        targets,
        all_regions,
        args.aws.concurrency,
        ready.as_ref(),
    )
    .await;
    drop(listening);
    // The node check simulates a role once per account, for all its regions at once.
    if let Some(p) = &job.preflight {
        p.plan(&targets);
    }
    // Targets stay account by account, as listed: the prefetch assumes the accounts' roles in
    // that order, so each role assumed lets all the account's regions start at once.
    let order: Vec<AccountId> = targets.iter().map(|t| t.account_id().clone()).collect();
    let stop = run.control.clone();
    let prefetch = run
        .session
        .prefetch(&order, in_flight, move || stop.stopped().is_some());
    run.listed = targets.clone();
    run.listed.extend(pre.iter().map(|(t, _)| t.clone()));
    run.pre = pre.into_iter().map(|(_, o)| o).collect();
    Prepared {
        run,
        job,
        targets,
        _prefetch: prefetch,
    }
}

/// `--wait-ready`: each account's role waited for until it can be assumed.
async fn wait_for_roles(run: &Run, ready: &Ready<'_>, accounts: &[Arc<Account>], in_flight: usize) {
    let order: Vec<AccountId> = accounts.iter().map(|a| a.id.clone()).collect();
    let log = &run.log;
    run.session
        .wait_ready(
            &order,
            in_flight,
            ready.until,
            &*run.control,
            |id, left| {
                log.emit(RunEvent::Waiting {
                    account: id.to_string(),
                    waiting_for: "its role is not assumable yet (AccessDenied: a new account's role takes minutes to appear)".to_string(),
                    seconds: left.as_secs(),
                })
            },
            |id, waited| {
                log.emit(RunEvent::Ready {
                    account: id.to_string(),
                    seconds: waited.as_secs(),
                })
            },
        )
        .await;
}

/// `--security-hub`: the apply a finding recommends, with this run's preferences file, where
/// its accounts came from and its role (the account and region are added per target).
fn fix_command(args: &settings::RunSettings, sensitive: &BTreeSet<String>) -> FixCommand {
    let mut flags = format!("-p {}", shell_word(&args.prefs.path.to_string_lossy()));
    match (&args.source.inventory, &args.source.org) {
        (Some(path), _) => flags.push_str(&format!(" -i {}", shell_word(&path.to_string_lossy()))),
        (None, Some(ous)) if !ous.is_empty() => {
            flags.push_str(&format!(" --org --ou {}", ous.join(",")))
        }
        // The events name accounts of the organization: --org reaches them again.
        _ => flags.push_str(" --org"),
    }
    if args.prefs.document_name != DEFAULT_DOCUMENT_NAME {
        flags.push_str(&format!(" --document-name {}", args.prefs.document_name));
    }
    if args.aws.session.role_name != DEFAULT_ROLE_NAME {
        flags.push_str(&format!(" --role-name {}", args.aws.session.role_name));
    }
    // The fix writes the ownership tag this audit looked for (and --existing as the target
    // needs it: FixCommand::for_target).
    if args.mark.to_string() != DEFAULT_OWNER_TAG {
        flags.push_str(&format!(" --owner-tag {}", args.mark));
    }
    // The fix fills the placeholders as the audit did; a value that fills a sensitive input
    // (a shell profile's commands, a user) is never written into a finding.
    for (key, value) in &args.prefs.vars {
        let value = if sensitive.contains(key) {
            "VALUE-AS-THE-AUDIT-WAS-GIVEN".to_string()
        } else {
            shell_word(value)
        };
        flags.push_str(&format!(" --var {}={value}", shell_word(key)));
    }
    FixCommand {
        flags,
        existing: args.existing,
    }
}

/// A word as a POSIX shell reads it back: as it is where it is plain, else single-quoted.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+,=".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One line per account whose inventory `profile` the AWS config lacks: its targets will
/// fail, and each row alone would only say the credential provider "was not enabled".
pub(crate) fn warn_missing_profiles(printer: &Printer, session: &Session) {
    for (id, profile) in session.missing_profiles() {
        printer.warn(&format!(
            "account {id}: profile {profile:?} is not in the AWS config (~/.aws/config, ~/.aws/credentials, or the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name): its targets will fail"
        ));
    }
}

/// The run's metadata: who runs what, since when, on which input file (path and SHA-256) and
/// document. Only the HTML page names the caller, which costs an STS call.
pub(crate) async fn run_meta(
    command: Command,
    out: &Output,
    command_line: String,
    session: &Session,
    started_at: String,
    (input_path, input_sha256): (String, String),
    document_name: &str,
) -> RunMeta {
    RunMeta {
        command_line,
        caller_arn: match out.html {
            Some(_) => session.caller_arn().await,
            None => String::new(),
        },
        started_at,
        input_path,
        input_sha256,
        document_name: document_name.to_string(),
        ..RunMeta::new(command)
    }
}

/// Asks the accounts that need it which regions they have enabled: every `-r all` account,
/// and those with an opt-in region named explicitly. Returns the targets to run and the rows
/// of those that will not run (a region not enabled: skipped; a listing that failed: failed).
pub(crate) async fn resolve_regions(
    session: &Session,
    job: &Job,
    targets: Vec<Target>,
    all: &[Arc<Account>],
    concurrency: usize,
    ready: Option<&Ready<'_>>,
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
    let enabled = list_enabled(session, ask, concurrency).await;
    let mut run = vec![];
    let mut pre = vec![];
    let mut not_listed = vec![];
    for t in targets {
        match enabled.get(t.account_id()) {
            Some(Ok(list)) if !list.iter().any(|r| r == t.region.as_str()) => match ready {
                Some(_) => not_listed.push(t),
                None => {
                    let o = steps::region_not_enabled(job, &t);
                    pre.push((t, o));
                }
            },
            Some(Err(e)) if t.region.opt_in() => {
                let o = steps::regions_unknown(job, &t, e);
                pre.push((t, o));
            }
            _ => run.push(t),
        }
    }
    if let Some(ready) = ready {
        wait_for_regions(
            session,
            job,
            not_listed,
            concurrency,
            ready,
            (&mut run, &mut pre),
        )
        .await;
    }
    for account in all {
        all_regions_of(
            session,
            job,
            account,
            &enabled[&account.id],
            (&mut run, &mut pre),
        );
    }
    (run, pre)
}

/// Each account's enabled regions, or why they could not be listed.
async fn list_enabled(
    session: &Session,
    ask: Vec<Arc<Account>>,
    concurrency: usize,
) -> HashMap<AccountId, Result<Vec<String>, TargetError>> {
    let mut enabled = HashMap::new();
    let endpoint = session.endpoint("Account API", None);
    let not_asked = |a: &Arc<Account>| {
        (
            a.id.clone(),
            Err(TargetError::new(Reason::Interrupted, "not asked")),
        )
    };
    fanout::run(
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
    enabled
}

/// `--wait-ready`: every region not listed yet asked at once (the wait is one wait, not one
/// per target), each then run or given its row.
async fn wait_for_regions(
    session: &Session,
    job: &Job,
    not_listed: Vec<Target>,
    concurrency: usize,
    ready: &Ready<'_>,
    (run, pre): (&mut Vec<Target>, &mut Vec<(Target, Outcome)>),
) {
    let asked = futures::stream::iter(not_listed)
        .map(|t| async move {
            let enabled = until_enabled(session, &t, ready).await;
            (t, enabled)
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    for (t, enabled) in asked {
        let o = match enabled {
            Enabled::Yes => {
                run.push(t);
                continue;
            }
            Enabled::No => steps::region_not_enabled(job, &t),
            Enabled::NotYet => steps::region_not_ready(job, &t, ready.since.elapsed()),
            Enabled::Unknown(e) => steps::regions_unknown(job, &t, &e),
        };
        pre.push((t, o));
    }
}

/// `-r all`: an account's targets are the regions it has enabled in the run's partition.
fn all_regions_of(
    session: &Session,
    job: &Job,
    account: &Arc<Account>,
    enabled: &Result<Vec<String>, TargetError>,
    (run, pre): (&mut Vec<Target>, &mut Vec<(Target, Outcome)>),
) {
    let partition = session.partition();
    match enabled {
        Ok(list) => run.extend(
            Region::all()
                .filter(|r| r.partition() == partition && list.iter().any(|n| n == r.as_str()))
                .map(|region| Target {
                    account: account.clone(),
                    region,
                }),
        ),
        // Without the list, the account's regions are unknown: a failed row for each region
        // every account has, so the gap shows in the report instead of vanishing.
        Err(e) => {
            for region in Region::all().filter(|r| r.partition() == partition && !r.opt_in()) {
                let t = Target {
                    account: account.clone(),
                    region,
                };
                let o = steps::regions_unknown(job, &t, e);
                pre.push((t, o));
            }
        }
    }
}

/// `--wait-ready`: until when new accounts are waited for, since when, where the waits are
/// said, and the run's stop switch (Ctrl-C ends the wait).
pub(crate) struct Ready<'a> {
    until: Instant,
    since: Instant,
    log: &'a EventLog,
    control: &'a Control,
}

/// Whether an opt-in region is enabled, waited for while it is ENABLING.
enum Enabled {
    Yes,
    No,
    /// Still ENABLING when the wait ran out (or was interrupted).
    NotYet,
    /// Its status could not be read.
    Unknown(TargetError),
}

/// `--wait-ready`: asks the region's opt-in status until it is no longer ENABLING (backoff
/// from 2 s to 30 s) or the wait ends.
async fn until_enabled(session: &Session, t: &Target, ready: &Ready<'_>) -> Enabled {
    use aws_sdk_account::types::RegionOptStatus as S;
    let client = session.account_client(t.account_id());
    let endpoint = session.endpoint("Account API", None);
    let mut pause = std::time::Duration::from_secs(2);
    let mut told = false;
    loop {
        let left = ready.until.saturating_duration_since(Instant::now());
        match regions::status(&client, &endpoint, t.region.as_str()).await {
            Ok(S::Enabled | S::EnabledByDefault) => return Enabled::Yes,
            Ok(S::Enabling) if !left.is_zero() && ready.control.stopped().is_none() => {
                if !told {
                    told = true;
                    ready.log.emit(RunEvent::Waiting {
                        account: t.account.id.to_string(),
                        waiting_for: format!("region {} is still ENABLING", t.region),
                        seconds: left.as_secs(),
                    });
                }
                sleep_unless(pause.min(left), ready.control.until_stopped()).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(30));
            }
            Ok(S::Enabling) => return Enabled::NotYet,
            Ok(_) => return Enabled::No,
            Err(e) => return Enabled::Unknown(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Settings, from_args};

    fn fix_for(args: &[&str], sensitive: &[&str]) -> String {
        let line: Vec<&str> = ["audit", "--security-hub"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let Ok(Settings::Audit(fleet)) = from_args(&line) else {
            panic!("an audit's settings");
        };
        let sensitive = sensitive.iter().map(|s| s.to_string()).collect();
        fix_command(&fleet, &sensitive).flags
    }

    #[test]
    fn the_fix_fills_placeholders_as_the_audit_did_never_a_sensitive_value() {
        let flags = fix_for(
            &[
                "-p",
                "my prefs.json",
                "--org",
                "-r",
                "all",
                "--var",
                "log_bucket=org-session-logs",
                "--var",
                "profile=echo 'hi'",
            ],
            &["profile"],
        );
        assert_eq!(
            flags,
            "-p 'my prefs.json' --org --var log_bucket=org-session-logs --var profile=VALUE-AS-THE-AUDIT-WAS-GIVEN"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
