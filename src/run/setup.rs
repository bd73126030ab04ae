//! A run over targets set up (plan, apply, audit): the inputs checked, the session built, the
//! report opened, each account's regions resolved and its role assumed ahead, and the read
//! phase plan and apply share.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use super::engine::Run;
use super::inputs::{Inputs, retry_only, unique_accounts};
use super::items::Items;
use super::regions::{Ready, resolve_regions};
use super::sinks::{RunOutcome, ended_early, open_report};
use super::sources::{self, Sourced};
use super::walking::{self, Streamed, Walking};
use crate::aws::session::{Prefetch, Session};
use crate::error::InputError;
use crate::model::{Command, RunEvent, RunMeta, rfc3339};
use crate::preferences::Preferences;
use crate::preflight::Preflight;
use crate::report::csv::CsvReport;
use crate::settings::{
    self, Caller, DEFAULT_DOCUMENT_NAME, DEFAULT_OWNER_TAG, DEFAULT_ROLE_NAME, Output,
};
use crate::steps::{FixCommand, Job};
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::printer::Printer;
use crate::waves::WavePlan;
use crate::words::count;

/// A run over targets (plan, apply, audit) set up: what every run shares, the job its targets
/// share and the targets, built after the inputs are checked.
pub(crate) struct Prepared {
    pub(crate) run: Run,
    pub(crate) job: Arc<Job>,
    /// The targets to run (none listed where `--org`'s walk streams them).
    pub(crate) targets: Vec<Target>,
    /// `--org`, streamed: the targets as the walk finds their accounts, taken by the first
    /// phase (src/run/walking.rs).
    streamed: Mutex<Option<Items<Target>>>,
    /// The accounts' roles assumed ahead of their targets, for as long as the run lasts.
    pub(crate) _prefetch: Option<Prefetch>,
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
    /// The targets of the run's first phase: listed, or arriving as the walk finds them.
    pub(crate) fn items(&self) -> Items<Target> {
        match self.streamed.lock().expect("streamed lock").take() {
            Some(items) => items,
            None => Items::listed(self.targets.clone()),
        }
    }

    /// Checks the inputs, builds the session and opens the report — in that order, so a run
    /// that stops for bad input (exit 2) leaves no report behind.
    pub(crate) async fn start(
        printer: &Printer,
        args: &settings::RunSettings,
        command: Command,
        caller: &Caller,
    ) -> Result<Start, InputError> {
        let (mut inputs, walking) = match sources::inputs(printer, args).await? {
            Sourced::Run(inputs) => (inputs, None),
            Sourced::Walking(inputs, walking) => (inputs, Some(walking)),
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
        let given = walking.as_ref().map(|w| w.session.clone());
        let start = Starting::now(printer, &args.aws, &args.output, &accounts, given).await;
        one_partition(&inputs.targets, &start.session)?;
        let waves = wave_plan(printer, args, &accounts)?;
        let csv = open_report(&args.output, command)?;
        match &walking {
            None => say_header(printer, command, &inputs, accounts.len()),
            Some(w) => say_streaming(printer, command, &inputs, &w.found_by.place),
        }
        let input = (
            inputs.prefs.path.display().to_string(),
            inputs.prefs.file_sha256.clone(),
        );
        let run = Run {
            deadline: args.deadline(),
            waves,
            walk: inputs.walk.map(OnceLock::from).unwrap_or_default(),
            ..start
                .run(command, caller, input, &args.prefs.document_name)
                .await
        };
        let job = Arc::new(job(args, inputs.prefs));
        let prepared = match walking {
            None => ready(run, job, inputs.targets, &inputs.all_regions, args).await,
            Some(walking) => streaming(run, job, walking, args),
        };
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

/// The streamed run's first line: the organization's accounts, as the walk finds them.
fn say_streaming(printer: &Printer, command: Command, inputs: &Inputs, place: &str) {
    printer.out(&format!(
        "{command}: the targets of each account of {place} as the walk finds it; preferences {} (sha256 {})\n",
        inputs.prefs.path.display(),
        inputs.prefs.file_sha256
    ));
}

/// `--org`, streamed: each account's targets run as the walk finds the account.
fn streaming(run: Run, job: Arc<Job>, walking: Walking, args: &settings::RunSettings) -> Prepared {
    let how = Streamed {
        job: job.clone(),
        regions: args.select.regions.clone(),
        printer: run.printer.clone(),
        control: run.control.clone(),
        in_flight: (args.aws.concurrency / 4).clamp(4, 64),
    };
    let items = walking::stream(walking, how);
    Prepared {
        run,
        job,
        targets: vec![],
        streamed: Mutex::new(Some(items)),
        _prefetch: None,
    }
}

/// What every target of the run shares: the preferences and the flags its steps follow.
fn job(args: &settings::RunSettings, prefs: Preferences) -> Job {
    let fix = args
        .security_hub
        .then(|| fix_command(args, &prefs.sensitive_placeholders()));
    Job {
        prefs,
        document_name: args.prefs.document_name.clone(),
        document: args.document.clone(),
        who: args.who,
        security_hub: fix,
        preflight: args.preflight.clone().map(Preflight::new),
        names: Default::default(),
    }
}

/// Under a deadline, the time `--wait-ready` leaves the targets before the run's stop, at most.
const LAST_TRY: std::time::Duration = std::time::Duration::from_secs(2);

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
    // Under a deadline the wait ends before the run's stop, by a quarter of what is left (at
    // most 2 s), so that the targets still make their call and their rows say why (a role
    // not assumable yet) rather than only that the run stopped: the wait was set before the
    // run's inputs were read, which takes longer on a loaded machine.
    let until = match run.deadline {
        Some(d) => {
            let left = d.stop_at.saturating_duration_since(now);
            (now + args.wait_ready).min(now + left - (left / 4).min(LAST_TRY))
        }
        None => now + args.wait_ready,
    };
    let ready = (!args.wait_ready.is_zero()).then(|| Ready {
        until,
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
        streamed: Mutex::new(None),
        _prefetch: Some(prefetch),
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
    if args.document.mark.to_string() != DEFAULT_OWNER_TAG {
        flags.push_str(&format!(" --owner-tag {}", args.document.mark));
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
        existing: args.document.existing,
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
fn warn_missing_profiles(printer: &Printer, session: &Session) {
    for (id, profile) in session.missing_profiles() {
        printer.warn(&format!(
            "account {id}: profile {profile:?} is not in the AWS config (~/.aws/config, ~/.aws/credentials, or the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name): its targets will fail"
        ));
    }
}

/// A run's start: its clock, and the session its targets are reached through (the profiles
/// the AWS config lacks warned of); the run itself once its input is known.
pub(crate) struct Starting {
    started: Instant,
    started_at: String,
    pub(crate) session: Arc<Session>,
    printer: Printer,
    output: Output,
    concurrency: usize,
}

impl Starting {
    /// Now, for a run over `accounts` with these settings, on the `given` session (`--org`'s
    /// walk, streamed, started it) or a new one.
    pub(crate) async fn now(
        printer: &Printer,
        aws: &settings::Aws,
        output: &Output,
        accounts: &[Arc<Account>],
        given: Option<Arc<Session>>,
    ) -> Starting {
        let started = Instant::now();
        let started_at = rfc3339(SystemTime::now());
        let session = match given {
            Some(session) => session,
            None => Arc::new(Session::new(&aws.session, accounts).await),
        };
        warn_missing_profiles(printer, &session);
        Starting {
            started,
            started_at,
            session,
            printer: printer.clone(),
            output: output.clone(),
            concurrency: aws.concurrency,
        }
    }

    /// The run, with its metadata: who runs what, since when, on which input file (path and
    /// SHA-256) and document. Only the HTML page names the caller, which costs an STS call.
    pub(crate) async fn run(
        self,
        command: Command,
        caller: &Caller,
        (input_path, input_sha256): (String, String),
        document_name: &str,
    ) -> Run {
        let meta = RunMeta {
            command_line: caller.command_line.clone(),
            caller_arn: match self.output.html {
                Some(_) => self.session.caller_arn().await,
                None => String::new(),
            },
            started_at: self.started_at,
            input_path,
            input_sha256,
            document_name: document_name.to_string(),
            ..RunMeta::new(command)
        };
        Run::new(
            &self.printer,
            meta,
            self.session,
            &self.output,
            self.concurrency,
            self.started,
        )
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
