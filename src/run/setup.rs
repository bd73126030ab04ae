//! A run over targets set up (plan, apply, audit): the inputs checked, the session built, the
//! report opened, each account's regions resolved and its role assumed ahead, and the read
//! phase plan and apply share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;

use super::fanout::{self, Control};
use super::inputs::{retry_only, unique_accounts};
use super::interrupt::{INTERRUPT_GRACE, listen_for_interrupts};
use super::sinks::{Sinks, ended_early, open_report};
use super::sources::{self, Sourced};
use crate::aws::regions;
use crate::aws::retry::{Stop, sleep_unless};
use crate::aws::session::{Prefetch, Session};
use crate::cli::{DEFAULT_DOCUMENT_NAME, DEFAULT_OWNER_TAG, DEFAULT_ROLE_NAME};
use crate::error::InputError;
use crate::model::{
    Command, Ended, OrgWalk, Outcome, Reason, RunEvent, RunMeta, TargetError, rfc3339,
};
use crate::preflight::Preflight;
use crate::report::csv::CsvReport;
use crate::settings::{self, Output};
use crate::steps::{self, FixCommand, Job, Planned};
use crate::target::{Account, AccountId, Region, Target};
use crate::terminal::events::EventLog;
use crate::terminal::printer::Printer;
use crate::waves::WavePlan;
use crate::words::count;

/// Everything a run over targets needs, built after the inputs are checked.
pub(crate) struct Prepared {
    /// What the run is, for the report's renderers.
    pub(crate) meta: RunMeta,
    /// The run's events, kept across its phases.
    pub(crate) log: EventLog,
    pub(crate) job: Arc<Job>,
    /// The targets to run.
    pub(crate) targets: Vec<Target>,
    /// Rows decided before the run (regions not enabled, or not listable).
    pub(crate) pre: Vec<Outcome>,
    /// Every target that gets a row: `targets` and those of `pre`.
    pub(crate) listed: Vec<Target>,
    pub(crate) session: Session,
    pub(crate) control: Arc<Control>,
    pub(crate) started: Instant,
    pub(crate) printer: Printer,
    /// With `--waves` or `--canary`: the accounts of each wave.
    pub(crate) waves: Option<Arc<WavePlan>>,
    /// `-c`: targets in flight at once.
    pub(crate) concurrency: usize,
    /// Lambda mode or `--deadline`: when the run stops, so that its reports are stored in time.
    pub(crate) deadline: Option<crate::settings::Deadline>,
    /// `--org`: how the walk of the organization went, for the summary.
    pub(crate) walk: Option<OrgWalk>,
    /// The accounts' roles assumed ahead of their targets, for as long as the run lasts.
    pub(crate) _prefetch: Prefetch,
}

/// A run set up, or why it ends before it starts (nothing to do, or the organization could
/// not be read).
// One per run, moved once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start {
    Run(Prepared, CsvReport),
    Ended(Ended),
}

/// Checks the inputs, builds the session and opens the report — in that order, so a run
/// that stops for bad input (exit 2) leaves no report behind.
pub(crate) async fn prepare(
    printer: &Printer,
    args: &settings::RunSettings,
    command: Command,
) -> Result<Start, InputError> {
    let mut inputs = match sources::inputs(printer, args).await? {
        Sourced::Run(inputs) => inputs,
        Sourced::Ended(ended, why) => {
            let meta = RunMeta {
                document_name: args.prefs.document_name.clone(),
                input_path: args.prefs.path.display().to_string(),
                ..RunMeta::new(command)
            };
            return Ok(Start::Ended(ended_early(
                printer,
                &args.output,
                meta,
                ended,
                &why,
            )));
        }
    };
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
    let mut accounts = unique_accounts(&inputs.targets);
    accounts.extend(inputs.all_regions.iter().cloned());
    let started = Instant::now();
    let started_at = rfc3339(SystemTime::now());
    let session = Session::new(&args.aws.session, &accounts).await;
    warn_missing_profiles(printer, &session);
    // One set of credentials reaches one partition: refuse, before any call, a run that mixes.
    if let Some(t) = inputs
        .targets
        .iter()
        .find(|t| t.region.partition() != session.partition())
    {
        return Err(InputError::usage(format!(
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
                WavePlan::new(&w.spec, &w.stages, &canary, &accounts).map_err(InputError::usage)?,
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
    // Lambda mode: the command line the invocation stands for; the process has none.
    let command_line = match &args.invoked {
        Some(invoked) => invoked.command_line.clone(),
        None => redacted_command_line(std::env::args_os()),
    };
    let meta = run_meta(
        command,
        &args.output,
        command_line,
        &session,
        started_at,
        (
            inputs.prefs.path.display().to_string(),
            inputs.prefs.file_sha256.clone(),
        ),
        &args.prefs.document_name,
    )
    .await;
    let fix = args
        .security_hub
        .then(|| fix_command(args, &inputs.prefs.sensitive_placeholders()));
    let job = Arc::new(Job {
        prefs: inputs.prefs,
        document_name: args.prefs.document_name.clone(),
        existing: args.existing,
        mark: args.mark.clone(),
        prune_versions: args.prune_versions,
        who: args.who,
        security_hub: fix,
        preflight: args.preflight.clone().map(Preflight::new),
        names: Default::default(),
    });
    let log = EventLog::new(printer);
    let control = Arc::new(Control::default());
    // Set when the run starts: the wait covers roles and regions together. Ctrl-C (or SIGTERM)
    // ends it: the run then reports every target as interrupted.
    let now = Instant::now();
    let ready = (!args.wait_ready.is_zero()).then(|| Ready {
        until: now + args.wait_ready,
        since: now,
        log: &log,
        control: &control,
    });
    // Roles are assumed this many at a time, waited for or fetched ahead.
    let in_flight = (args.aws.concurrency / 4).clamp(4, 64);
    let deadline = args.deadline();
    let listener = ready
        .as_ref()
        .map(|_| listen_for_interrupts(control.clone(), log.clone(), INTERRUPT_GRACE, deadline));
    if let Some(ready) = &ready {
        let order: Vec<AccountId> = accounts.iter().map(|a| a.id.clone()).collect();
        session
            .wait_ready(
                &order,
                in_flight,
                ready.until,
                &*control,
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
    let (targets, pre) = resolve_regions(
        &session,
        &job,
        inputs.targets,
        &inputs.all_regions,
        args.aws.concurrency,
        ready.as_ref(),
    )
    .await;
    if let Some(listener) = listener {
        listener.abort();
    }
    // Targets stay account by account, as listed: the prefetch assumes the accounts' roles in
    // that order, so each role assumed lets all the account's regions start at once.
    let order: Vec<AccountId> = targets.iter().map(|t| t.account_id().clone()).collect();
    let stop = control.clone();
    let prefetch = session.prefetch(&order, in_flight, move || stop.stopped().is_some());
    let mut listed = targets.clone();
    listed.extend(pre.iter().map(|(t, _)| t.clone()));
    Ok(Start::Run(
        Prepared {
            meta,
            log,
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
            deadline,
            walk: inputs.walk,
            _prefetch: prefetch,
        },
        csv,
    ))
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
    let mut enabled: HashMap<AccountId, Result<Vec<String>, TargetError>> = HashMap::new();
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
        // Every region not listed yet is asked at once: the wait is one wait, not one per target.
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
                    let o = steps::regions_unknown(job, &t, e);
                    pre.push((t, o));
                }
            }
        }
    }
    (run, pre)
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

impl Prepared {
    /// The reporters of a phase that writes the report, with the rows decided before the run
    /// already in it, and Ctrl-C listened for.
    /// `shown`: apply's reading phase already printed the rows decided before the run.
    pub(crate) fn report_sinks(
        &self,
        out: &Output,
        csv: CsvReport,
        shown: bool,
    ) -> (Sinks, tokio::task::JoinHandle<()>) {
        let label = self.meta.command.as_str();
        self.listening(
            Sinks::new(
                label,
                &self.listed,
                out,
                &self.printer,
                Some(csv),
                self.meta.clone(),
                self.log.clone(),
            )
            .with_files(out)
            .with_waves(self.waves.clone()),
            shown,
        )
    }

    /// `sinks` with the rows decided before the run already in them, and Ctrl-C listened for.
    pub(crate) fn listening(
        &self,
        mut sinks: Sinks,
        shown: bool,
    ) -> (Sinks, tokio::task::JoinHandle<()>) {
        sinks.stats.walk = self.walk.clone();
        for o in &self.pre {
            sinks.record_as(o, !shown);
        }
        let listener = listen_for_interrupts(
            self.control.clone(),
            self.log.clone(),
            INTERRUPT_GRACE,
            self.deadline,
        );
        (sinks, listener)
    }

    /// Phase of reads (plan, and apply's first phase): every target read and decided.
    pub(crate) async fn reads(
        &self,
        concurrency: usize,
        on_done: impl FnMut(Result<Planned, Box<Outcome>>),
    ) {
        let job = &self.job;
        fanout::run(
            self.targets.clone(),
            concurrency,
            &self.control,
            |t| {
                let checks = job.preflight.as_ref().map(|_| self.session.checks(&t));
                steps::read_and_decide(job.clone(), t.clone(), self.session.client(&t), checks)
            },
            |t, reason| Err(Box::new(steps::skipped(job, &t, reason))),
            |t| Err(Box::new(steps::interrupted(job, t))),
            on_done,
        )
        .await;
    }
}

/// The command line as typed, for the HTML report, with external ids replaced: they are
/// shared secrets between the hub and the member accounts.
pub(crate) fn redacted_command_line(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
) -> String {
    let mut out = vec![];
    let mut hide_next = false;
    // Lossy: a non-UTF-8 argument (a path) must not panic the page's header. The program is
    // named as a person types it, not by where this machine keeps it.
    for (i, arg) in args.into_iter().map(Into::into).enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::settings::Settings;
    use clap::Parser;

    fn fix_for(args: &[&str], sensitive: &[&str]) -> String {
        let cli = Cli::try_parse_from(["ssm-prefs", "audit", "--security-hub"].iter().chain(args))
            .expect("parses");
        let Ok(Settings::Audit(fleet)) = Settings::from_cli(&cli) else {
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
