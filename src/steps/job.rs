//! What every target of a run shares (the job), and the rows of targets that never ran their
//! steps: skipped, abandoned, a region not enabled or not listable.

use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::aws::resources::CheckClients;
use crate::lifecycle::Existing;
use crate::model::{Findings, Outcome, Reason, ReportRow, Status, StopReason, TargetError};
use crate::preferences::Preferences;
use crate::preflight::Preflight;
use crate::settings::DocumentRules;
use crate::target::Target;

/// Content this tool serialized parses back: it is `to_content` of a JSON value.
pub(super) fn parse_own(content: &str) -> Value {
    serde_json::from_str(content).expect("content written by to_content is JSON")
}

/// What every target of a run shares.
pub(crate) struct Job {
    pub prefs: Preferences,
    pub document_name: String,
    /// `--existing`, `--owner-tag`, `--prune-versions`.
    pub document: DocumentRules,
    /// The checks, unless `--no-preflight`.
    pub preflight: Option<Preflight>,
    /// `audit --who`: CloudTrail names who last changed a target that is not compliant.
    pub who: bool,
    /// `audit --security-hub`: each target's verdict sent as a finding; how a finding names
    /// the command that fixes a target.
    pub security_hub: Option<FixCommand>,
    /// The changed inputs' names each planned target lists, held once per distinct list:
    /// apply keeps every target planned until its write, and most targets list the same.
    pub names: Interned,
}

/// Strings held once each, shared by whoever holds the same.
#[derive(Default)]
pub(crate) struct Interned(std::sync::Mutex<std::collections::HashSet<std::sync::Arc<str>>>);

impl Interned {
    pub(crate) fn get(&self, text: String) -> std::sync::Arc<str> {
        let mut set = self.0.lock().expect("not poisoned");
        match set.get(text.as_str()) {
            Some(held) => held.clone(),
            None => {
                let held: std::sync::Arc<str> = text.into();
                set.insert(held.clone());
                held
            }
        }
    }
}

/// The command a finding recommends: apply, as this run was given, for one target.
#[derive(Debug, Clone)]
pub(crate) struct FixCommand {
    /// `-p FILE`, where the accounts came from (`-i FILE`, `--org`), and the run's options
    /// that are not their defaults, `--existing` aside.
    pub flags: String,
    /// `--existing` as the audit ran: how the fix writes depends on the target.
    pub existing: Existing,
}

impl FixCommand {
    /// The apply that puts the preferences in `target`; `unmarked`: its document lacks the
    /// ownership tag (or its tags could not be read).
    pub(crate) fn for_target(&self, target: &Target, unmarked: bool) -> String {
        let existing = match self.existing {
            // Merge changes what the target should hold: the fix writes that.
            Existing::Merge => " --existing merge",
            // Refuse writes only where it sees the tag: it would block this fix.
            Existing::Refuse if unmarked => " --existing update",
            Existing::Refuse => " --existing refuse",
            // Keep writes no document that differs, so it fixes none.
            Existing::Update | Existing::Keep => "",
        };
        format!(
            "ssm-prefs apply {}{existing} -a {} -r {}",
            self.flags, target.account.id, target.region
        )
    }
}

impl Job {
    /// Preflight's findings for `target` holding `desired`, its nodes judged against
    /// `in_force` where given (audit); none without preflight.
    pub(super) async fn findings(
        &self,
        checks: Option<&CheckClients>,
        target: &Target,
        desired: &Value,
        in_force: Option<&Value>,
    ) -> Findings {
        match (&self.preflight, checks) {
            // Boxed: the checks' SDK futures run to kilobytes, and inline they would grow every
            // target's future (allocated and moved per target) even with --no-preflight.
            (Some(p), Some(c)) => Box::pin(p.check(c, target, desired, in_force)).await,
            _ => Findings::default(),
        }
    }
}

pub(super) fn base_row(
    job: &Job,
    target: &Target,
    started_at: SystemTime,
    started: Instant,
) -> ReportRow {
    ReportRow::new(&job.document_name, target, started_at, started)
}

pub(super) fn error_row(
    job: &Job,
    target: &Target,
    e: &TargetError,
    attempts: u32,
    started_at: SystemTime,
    started: Instant,
) -> ReportRow {
    ReportRow {
        attempts,
        ..base_row(job, target, started_at, started)
    }
    .with_error(Status::Failed, e)
}

/// A target that never started: the run stopped first.
pub(crate) fn skipped(job: &Job, target: &Target, reason: StopReason) -> Outcome {
    Outcome::skipped(
        base_row(job, target, SystemTime::now(), Instant::now()),
        reason,
    )
}

/// An explicitly named region the account has not enabled: nothing to do there, and no failure.
pub(crate) fn region_not_enabled(job: &Job, target: &Target) -> Outcome {
    let e = TargetError::new(
        Reason::RegionNotEnabled,
        format!(
            "region {} is not enabled in account {} (Account ListRegions): enable it, or leave it out",
            target.region, target.account.id
        ),
    );
    Outcome::of(
        base_row(job, target, SystemTime::now(), Instant::now()).with_error(Status::Skipped, &e),
    )
}

/// `--wait-ready`: an opt-in region that was still ENABLING when the wait ended.
pub(crate) fn region_not_ready(job: &Job, target: &Target, waited: std::time::Duration) -> Outcome {
    let e = TargetError::new(
        Reason::RegionNotReady,
        format!(
            "region {} of account {} was still ENABLING after waiting {} (--wait-ready): run again once it is ENABLED",
            target.region,
            target.account.id,
            crate::words::duration(waited.as_secs())
        ),
    );
    Outcome::of(
        base_row(job, target, SystemTime::now(), Instant::now()).with_error(Status::Failed, &e),
    )
}

/// The account's enabled regions could not be listed, so this target's fate is unknown.
pub(crate) fn regions_unknown(job: &Job, target: &Target, e: &TargetError) -> Outcome {
    let e = TargetError::new(
        e.reason.clone(),
        format!("cannot list the account's enabled regions: {}", e.message),
    );
    Outcome::of(
        base_row(job, target, SystemTime::now(), Instant::now()).with_error(Status::Failed, &e),
    )
}

/// A target abandoned in flight by a second Ctrl-C.
pub(crate) fn interrupted(job: &Job, target: &Target) -> Outcome {
    Outcome::interrupted(base_row(job, target, SystemTime::now(), Instant::now()))
}

/// Where the account's name is not known (an event that redacts it, and Organizations could
/// not be asked) and the preferences fill `{account_name}`, or its tags are not known and a tag
/// may fill a placeholder: the content would carry a guess, so the target is never written,
/// and audit cannot judge it.
pub(super) fn name_unknown(job: &Job, target: &Target) -> Option<TargetError> {
    let account = &target.account;
    if let Some(why) = &account.name_unknown
        && job.prefs.uses("account_name")
    {
        return Some(TargetError::new(
            Reason::AccountNameUnknown,
            format!(
                "the account's name is not known ({why}): the preferences fill {{account_name}} with it, and a guess is never written; name the account in an inventory (-i), or allow organizations:DescribeAccount to the caller"
            ),
        ));
    }
    let why = account.tags_unknown.as_ref()?;
    let filled = job.prefs.tag_placeholders();
    (!filled.is_empty()).then(|| {
        TargetError::new(
            Reason::AccountTagsUnknown,
            format!(
                "the account's Organizations tags are not known ({why}): a tag ssm-prefs:KEY fills {}, and a guess is never written; give the values in an inventory (-i), or allow organizations:ListTagsForResource to the caller",
                filled.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}
