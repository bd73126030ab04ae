//! The steps of one target: for `plan` and `apply`, read its default version, decide by
//! comparing parsed JSON and `--existing`, run preflight, and (apply) create or
//! update-and-promote; `audit` and `rollback`'s steps. Each target ends as one row.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::aws::document::{self, Current, UpdateOptions};
use crate::aws::resources::CheckClients;
use crate::aws::session::TargetClient;
use crate::lifecycle::{Existing, Mark};
use crate::outcome::{
    Action, Finding, Findings, Outcome, Reason, ReportRow, Severity, Status, StopReason,
    TargetError,
};
use crate::preferences::{Change, MAX_CONTENT_BYTES, Preferences, changed_keys, diff, to_content};
use crate::preflight::Preflight;
use crate::target::Target;

/// Content this tool serialized parses back: it is `to_content` of a JSON value.
fn parse_own(content: &str) -> Value {
    serde_json::from_str(content).expect("content written by to_content is JSON")
}

/// What every target of a run shares.
pub struct Job {
    pub prefs: Preferences,
    pub document_name: String,
    /// `--existing`: what to do where the document exists and differs.
    pub existing: Existing,
    /// `--owner-tag`: put on every document written; `refuse` writes only where it is.
    pub mark: Mark,
    /// `--prune-versions` (apply).
    pub prune_versions: Option<usize>,
    /// The checks, unless `--no-preflight`.
    pub preflight: Option<Preflight>,
}

impl Job {
    /// Preflight's findings for `target` holding `desired`; none without preflight.
    async fn findings(
        &self,
        checks: Option<&CheckClients>,
        target: &Target,
        desired: &Value,
    ) -> Findings {
        match (&self.preflight, checks) {
            // Boxed: the checks' SDK futures run to kilobytes, and inline they would grow every
            // target's future (allocated and moved per target) even with --no-preflight.
            (Some(p), Some(c)) => Box::pin(p.check(c, target, desired)).await,
            _ => Findings::default(),
        }
    }
}

/// A target read and decided, ready for its write.
pub struct Planned {
    pub target: Target,
    /// HTTP attempts so far; the client itself is not kept between the phases, so a large
    /// fleet's planned targets do not each hold one while waiting for their write.
    attempts: u32,
    /// The default version and content hash the read found (empty when missing): all a row
    /// needs of the read, so a large fleet's planned targets stay small until their write.
    found_version: String,
    found_sha: String,
    /// What to write, kept only where it depends on what the read found (`--merge`); else
    /// empty, and rendered again for the write: at 17,000 targets the rendered contents held
    /// between the phases were a tenth of apply's memory.
    content: String,
    /// The changed inputs' names, as the row lists them.
    changed_inputs: String,
    /// What preflight found (and `--existing refuse`'s verdict); a blocking finding stops
    /// the write.
    findings: Findings,
    /// `--existing keep`: the document differs and stays as it is.
    kept: bool,
    /// The document is known to carry the mark already (read for `--existing refuse`).
    marked: bool,
    /// Each change's values, kept only for an update: the change summary groups updates by
    /// them, while a create is summarized by its count. A new document's changes are every
    /// input, some kilobytes per target: at 17,000 targets they were most of apply's memory.
    pub changes: Vec<Change>,
    pub action: Action,
    started_at: SystemTime,
    started: Instant,
    /// How long the read took: an apply row's duration is read plus write, not the wait between.
    read_time: std::time::Duration,
}

/// Reads the target and decides what it needs. A failure is already the target's final row
/// (boxed: a row is large beside the happy path's `Planned`).
pub async fn read_and_decide(
    job: Arc<Job>,
    target: Target,
    client: TargetClient,
    checks: Option<CheckClients>,
) -> Result<Planned, Box<Outcome>> {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let fail = |e: TargetError, client: &TargetClient| {
        Box::new(Outcome::of(error_row(
            &job,
            &target,
            &e,
            client.attempts(),
            started_at,
            started,
        )))
    };
    let current = match document::read(&client, &job.document_name).await {
        Ok(c) => c,
        Err(e) => return Err(fail(e, &client)),
    };
    let desired = match job.prefs.desired(
        &target,
        current.as_ref().and_then(|c| c.value.as_ref()),
        job.existing.merges(),
    ) {
        Ok(d) => d,
        Err(msg) => return Err(fail(TargetError::new(Reason::InvalidContent, msg), &client)),
    };
    let content = to_content(&desired);
    if content.len() > MAX_CONTENT_BYTES {
        let msg = format!(
            "rendered content is {} bytes, over SSM's {MAX_CONTENT_BYTES}",
            content.len()
        );
        return Err(fail(TargetError::new(Reason::InvalidContent, msg), &client));
    }
    let (mut action, mut changes) = decide(&desired, current.as_ref());
    let changed_inputs = changed_keys(&changes);
    let (mut kept, mut marked, mut refused) = (false, false, None);
    if action == Action::Update {
        match job.existing {
            Existing::Keep => {
                kept = true;
                action = Action::None;
            }
            Existing::Refuse => {
                match document::is_marked(&client, &job.document_name, &job.mark, &[]).await {
                    Ok(true) => marked = true,
                    Ok(false) => refused = Some(unmanaged(&job, None)),
                    // Whose it is cannot be told: refuse writes only where it sees the mark.
                    Err(e) => refused = Some(unmanaged(&job, Some(e))),
                }
            }
            Existing::Update | Existing::Merge => {}
        }
    }
    // Nothing is written where the document stays or is refused: nothing to check.
    let findings = match refused {
        Some(f) => Findings(vec![f]),
        None if kept => Findings::default(),
        None => job.findings(checks.as_ref(), &target, &desired).await,
    };
    if action == Action::Update {
        changes.shrink_to_fit();
    } else {
        changes = vec![];
    }
    let (found_version, found_sha) = match &current {
        Some(c) => (c.version.clone(), c.sha256()),
        None => (String::new(), String::new()),
    };
    Ok(Planned {
        target,
        found_version,
        found_sha,
        content: if action != Action::None && job.existing.merges() {
            content
        } else {
            String::new()
        },
        changed_inputs,
        findings,
        kept,
        marked,
        changes,
        action,
        started_at,
        started,
        read_time: started.elapsed(),
        attempts: client.attempts(),
    })
}

/// `--existing refuse`'s verdict on a document without the mark, or whose tags could not
/// be read (`unread`).
fn unmanaged(job: &Job, unread: Option<TargetError>) -> Finding {
    let message = match unread {
        None => format!(
            "{} exists without the tag {} (someone else made it, or an ssm-prefs older than the tag): --existing refuse leaves it; --existing update or merge takes it over",
            job.document_name, job.mark
        ),
        Some(e) => format!(
            "{} exists and its tags could not be read (ListTagsForResource: {}: {}): --existing refuse writes only where it sees the tag {}",
            job.document_name, e.reason, e.message, job.mark
        ),
    };
    Finding {
        reason: Reason::UnmanagedDocument,
        severity: Severity::Blocking,
        subject: job.document_name.clone(),
        message,
    }
}

fn decide(desired: &Value, current: Option<&Current>) -> (Action, Vec<Change>) {
    match current {
        None => {
            // A new document: every input it sets is a change; the fixed fields are not.
            let mut empty = desired.clone();
            if let Some(inputs) = empty.get_mut("inputs").and_then(Value::as_object_mut) {
                inputs.clear();
            }
            (Action::Create, diff(desired, &empty))
        }
        Some(Current { value: None, .. }) => (
            Action::Update,
            vec![Change::shown("content", None, Some(desired.clone()))],
        ),
        Some(Current { value: Some(v), .. }) => {
            let changes = diff(desired, v);
            (
                if changes.is_empty() {
                    Action::None
                } else {
                    Action::Update
                },
                changes,
            )
        }
    }
}

impl Planned {
    /// The default version and content hash the read found (empty when missing).
    fn found(&self) -> (String, String) {
        (self.found_version.clone(), self.found_sha.clone())
    }

    /// Whether apply writes to this target (and so needs a client): a change is needed and
    /// preflight found nothing that blocks it.
    pub fn writes(&self) -> bool {
        self.needs_write() && !self.findings.blocking()
    }

    /// The row's status when nothing is written.
    fn status_unwritten(&self) -> Status {
        if self.kept {
            Status::Kept
        } else if self.needs_write() {
            Status::Blocked
        } else {
            Status::Unchanged
        }
    }

    fn needs_write(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }

    /// The plan's row: what apply would do.
    pub fn plan_outcome(&self, job: &Job) -> Outcome {
        let status = match self.action {
            _ if !self.writes() => self.status_unwritten(),
            Action::Create => Status::WouldCreate,
            _ => Status::WouldUpdate,
        };
        let (version, sha) = self.found();
        self.outcome(job, status, version, sha)
    }

    /// Writes what the plan decided and returns the apply row.
    /// `client` is needed only by a target that writes (see [`Planned::writes`]).
    pub async fn apply(mut self, job: Arc<Job>, client: Option<TargetClient>) -> Outcome {
        // The row's duration is the read's plus the write's, leaving out the time between the
        // phases (the operator's confirmation): count from a start moved up to now.
        self.started = Instant::now()
            .checked_sub(self.read_time)
            .unwrap_or_else(Instant::now);
        // Plan and apply decide only create, update or nothing (restore and delete are
        // rollback's): an unchanged or blocked target needs no client and no call.
        if !self.writes() {
            let (version, sha) = self.found();
            let status = self.status_unwritten();
            return self.outcome(&job, status, version, sha);
        }
        let client = client.expect("a client for every target that writes");
        let name = &job.document_name;
        // Without --merge the desired content depends on the target alone: it rendered at
        // the read, so it renders now.
        let content = if self.content.is_empty() {
            job.prefs
                .desired(&self.target, None, false)
                .map(|d| to_content(&d))
                .map_err(|m| TargetError::new(Reason::InvalidContent, m))
        } else {
            Ok(std::mem::take(&mut self.content))
        };
        // Writing means a create or an update (`writes`).
        let result = match content {
            Err(e) => Err(e),
            Ok(content) if self.action == Action::Create => {
                document::create(&client, name, &content, &job.mark)
                    .await
                    .map(|w| (Status::Created, w))
            }
            Ok(content) => {
                let opts = UpdateOptions {
                    mark: (!self.marked).then_some(&job.mark),
                    prune: job.prune_versions,
                };
                document::update(&client, name, &content, &parse_own(&content), opts)
                    .await
                    .map(|w| (Status::Updated, w))
            }
        };
        self.attempts += client.attempts();
        match result {
            Ok((status, written)) => {
                let mut o = self.outcome(&job, status, written.version, written.content_sha256);
                o.row.pruned_versions = (written.pruned > 0).then_some(written.pruned);
                // A note, as the content is in force: the document just lacks the mark.
                if let Some(e) = written.mark_error
                    && o.row.error_code.is_none()
                {
                    let note = TargetError::new(
                        Reason::UnmanagedDocument,
                        format!(
                            "written, but the tag {} could not be put on ({}: {}): --existing refuse will leave this document alone",
                            job.mark, e.reason, e.message
                        ),
                    );
                    o.row = o.row.with_error(status, &note);
                }
                Outcome {
                    reused_version: written.reused,
                    ..o
                }
            }
            Err(e) => {
                let mut row = error_row(
                    &job,
                    &self.target,
                    &e,
                    self.attempts,
                    self.started_at,
                    self.started,
                );
                row.action = self.action;
                row.previous_version = self.found_version.clone();
                row.changed_inputs = self.changed_inputs;
                Outcome {
                    row: row.with_findings(self.findings),
                    changes: self.changes,
                    reused_version: false,
                }
            }
        }
    }

    fn outcome(&self, job: &Job, status: Status, version: String, sha: String) -> Outcome {
        let row = ReportRow {
            action: self.action,
            status,
            previous_version: self.found_version.clone(),
            document_version: version,
            content_sha256: sha,
            changed_inputs: self.changed_inputs.clone(),
            attempts: self.attempts,
            ..base_row(job, &self.target, self.started_at, self.started)
        }
        .with_findings(self.findings.clone());
        Outcome {
            row,
            changes: self.changes.clone(),
            reused_version: false,
        }
    }
}

fn base_row(job: &Job, target: &Target, started_at: SystemTime, started: Instant) -> ReportRow {
    ReportRow::new(&job.document_name, target, started_at, started)
}

fn error_row(
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

/// `--waves`' read-back of a target its wave wrote: one DescribeDocument says whether the
/// default version is still the one written, the latest equals it, and its content is what
/// was written (SSM's SHA-256 of it; where SSM gives none, the content is read and hashed
/// here). A target that does not read back right fails with `VerifyFailed`.
pub async fn verify(job: &Job, o: Outcome, client: TargetClient) -> Outcome {
    if !matches!(o.row.status, Status::Created | Status::Updated) {
        return o;
    }
    let written = &o.row;
    let name = &job.document_name;
    let differs: Result<Option<String>, TargetError> = async {
        let Some(v) = document::versions(&client, name).await? else {
            return Ok(Some("the document no longer exists".to_string()));
        };
        if v.default_version != written.document_version {
            return Ok(Some(format!(
                "the default version is {}, not {} as written",
                v.default_version, written.document_version
            )));
        }
        // After a reused older version, versions newer than it were there before the write.
        if v.latest_version != v.default_version && !o.reused_version {
            return Ok(Some(format!(
                "version {} was added after the write: the latest version is not the default {}",
                v.latest_version, v.default_version
            )));
        }
        let sha = if v.default_sha256.is_empty() {
            document::read_version(&client, name, &v.default_version)
                .await?
                .sha256()
        } else {
            v.default_sha256
        };
        Ok((sha != written.content_sha256).then(|| {
            format!(
                "version {}'s content (sha256 {sha}) is not what was written (sha256 {})",
                v.default_version, written.content_sha256
            )
        }))
    }
    .await;
    let attempts = o.row.attempts + client.attempts();
    let failure = match differs {
        Ok(None) => None,
        Ok(Some(what)) => Some(format!(
            "written, but it does not read back as written: {what}"
        )),
        Err(e) => Some(format!(
            "written, but the read-back failed: {}: {}",
            e.reason, e.message
        )),
    };
    let row = ReportRow { attempts, ..o.row };
    let row = match failure {
        None => row,
        Some(message) => ReportRow {
            error_code: None,
            ..row
        }
        .with_error(
            Status::Failed,
            &TargetError::new(Reason::VerifyFailed, message),
        ),
    };
    Outcome { row, ..o }
}

/// A target that never started: the run stopped first.
pub fn skipped(job: &Job, target: &Target, reason: StopReason) -> Outcome {
    Outcome::skipped(
        base_row(job, target, SystemTime::now(), Instant::now()),
        reason,
    )
}

/// An explicitly named region the account has not enabled: nothing to do there, and no failure.
pub fn region_not_enabled(job: &Job, target: &Target) -> Outcome {
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

/// The account's enabled regions could not be listed, so this target's fate is unknown.
pub fn regions_unknown(job: &Job, target: &Target, e: &TargetError) -> Outcome {
    let e = TargetError::new(
        e.reason.clone(),
        format!("cannot list the account's enabled regions: {}", e.message),
    );
    Outcome::of(
        base_row(job, target, SystemTime::now(), Instant::now()).with_error(Status::Failed, &e),
    )
}

/// A target abandoned in flight by a second Ctrl-C.
pub fn interrupted(job: &Job, target: &Target) -> Outcome {
    Outcome::interrupted(base_row(job, target, SystemTime::now(), Instant::now()))
}

impl Planned {
    /// The write never started: the row keeps what the plan found.
    pub fn skipped(self, job: &Job, reason: StopReason) -> Outcome {
        let mut o = skipped(job, &self.target, reason);
        self.annotate(&mut o.row);
        o
    }

    /// The write was abandoned in flight.
    pub fn interrupted(&self, job: &Job) -> Outcome {
        let mut o = interrupted(job, &self.target);
        self.annotate(&mut o.row);
        o
    }

    fn annotate(&self, row: &mut ReportRow) {
        row.action = self.action;
        row.previous_version = self.found_version.clone();
        row.changed_inputs = self.changed_inputs.clone();
        row.attempts = self.attempts;
        row.findings = self.findings.clone();
    }
}

/// Audits one target: is its default version the desired content? Also notices a latest
/// version that was never promoted to default.
/// Preflight checks the preferences the target should hold, so a compliant target whose
/// bucket was deleted carries the finding (and counts as not done).
pub async fn audit(
    job: Arc<Job>,
    target: Target,
    client: TargetClient,
    checks: Option<CheckClients>,
) -> Outcome {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let result = audit_steps(&job, &target, &client, checks.as_ref()).await;
    let base = base_row(&job, &target, started_at, started);
    let changes = result
        .as_ref()
        .ok()
        .and_then(|(found, _)| found.as_ref())
        .map(|f| f.changes.clone())
        .unwrap_or_default();
    let row = match result {
        Err(e) => base.with_error(Status::Failed, &e),
        Ok((None, findings)) => ReportRow {
            status: Status::Missing,
            action: Action::Create,
            ..base
        }
        .with_findings(findings),
        Ok((Some(found), findings)) => {
            let status = if found.changes.is_empty() {
                Status::Compliant
            } else {
                Status::Drifted
            };
            let action = if found.changes.is_empty() {
                Action::None
            } else {
                Action::Update
            };
            // Notes, not failures: the first gives the code, the message carries both.
            let notes: Vec<TargetError> = found
                .unpromoted
                .into_iter()
                .chain(found.unmanaged)
                .collect();
            let error_code = notes.first().map(|n| n.reason.clone());
            let error_message = match &error_code {
                // Joined, still one report cell of at most the usual length.
                Some(code) => {
                    let joined: Vec<&str> = notes.iter().map(|n| n.message.as_str()).collect();
                    TargetError::new(code.clone(), joined.join("; ")).message
                }
                None => String::new(),
            };
            ReportRow {
                status,
                action,
                // Audit changes nothing: the default before the run is the one found.
                previous_version: found.current.version.clone(),
                document_version: found.current.version.clone(),
                content_sha256: found.current.sha256(),
                changed_inputs: changed_keys(&found.changes),
                error_code,
                error_message,
                version_created_at: found.created_at,
                version_author: found.author.unwrap_or_else(|| NOT_REPORTED.into()),
                ..base
            }
            .with_findings(findings)
        }
    };
    let row = ReportRow {
        attempts: client.attempts(),
        ..row
    };
    Outcome {
        row,
        changes,
        reused_version: false,
    }
}

/// `version_author` where SSM does not say who created the version.
pub const NOT_REPORTED: &str = "not reported";

struct Found {
    current: Current,
    changes: Vec<Change>,
    /// A note when the latest version is not the default.
    unpromoted: Option<TargetError>,
    /// A note when the document lacks the mark.
    unmanaged: Option<TargetError>,
    /// When the version in force was created, and by whom (where SSM says).
    created_at: String,
    author: Option<String>,
}

async fn audit_steps(
    job: &Job,
    target: &Target,
    ssm: &TargetClient,
    checks: Option<&CheckClients>,
) -> Result<(Option<Found>, Findings), TargetError> {
    let name = &job.document_name;
    let desired = |current: Option<&Value>| {
        job.prefs
            .desired(target, current, job.existing.merges())
            .map_err(|m| TargetError::new(Reason::InvalidContent, m))
    };
    let Some(versions) = document::versions(ssm, name).await? else {
        let desired = desired(None)?;
        return Ok((None, job.findings(checks, target, &desired).await));
    };
    let current = document::read_version(ssm, name, &versions.default_version).await?;
    let desired = desired(current.value.as_ref())?;
    let (_, changes) = decide(&desired, Some(&current));
    let findings = job.findings(checks, target, &desired).await;
    let mut unpromoted = None;
    if versions.latest_version != versions.default_version {
        let latest = document::read_version(ssm, name, &versions.latest_version).await?;
        let holds_desired = latest
            .value
            .as_ref()
            .is_some_and(|v| diff(&desired, v).is_empty());
        let (d, l) = (&versions.default_version, &versions.latest_version);
        let message = if holds_desired {
            format!(
                "version {l} holds the desired preferences but was never made the default: sessions still use version {d}"
            )
        } else {
            format!(
                "the latest version {l} differs from the default version {d} and was never promoted"
            )
        };
        unpromoted = Some(TargetError::new(Reason::UnpromotedVersion, message));
    }
    // A note either way: what the document holds is the verdict, whoever wrote it.
    let unmanaged = match document::is_marked(ssm, name, &job.mark, &versions.tags).await {
        Ok(true) => None,
        Ok(false) => Some(TargetError::new(
            Reason::UnmanagedDocument,
            format!(
                "the document does not carry the tag {}: ssm-prefs did not write it (or wrote it before it tagged)",
                job.mark
            ),
        )),
        Err(e) => Some(TargetError::new(
            e.reason,
            format!(
                "ownership not checked: the document's tags could not be read (ListTagsForResource): {}",
                e.message
            ),
        )),
    };
    Ok((
        Some(Found {
            current,
            changes,
            unpromoted,
            unmanaged,
            created_at: versions.created_at,
            author: versions.author,
        }),
        findings,
    ))
}

/// One target to roll back: an `apply` report row that created or updated it.
pub struct Undo {
    pub target: Target,
    pub applied: ReportRow,
}

/// Restores what the apply changed — but only where the target still holds exactly what that
/// apply wrote (same default version, same content hash); otherwise it is skipped with why.
pub async fn rollback(undo: Undo, client: TargetClient) -> Outcome {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let applied = &undo.applied;
    let result = rollback_steps(applied, &client).await;
    let base = ReportRow {
        attempts: client.attempts(),
        ..undo.row(started_at, started)
    };
    let row = match result {
        Ok(RolledBack::Deleted) => ReportRow {
            status: Status::Deleted,
            ..base
        },
        Ok(RolledBack::Restored(current)) => ReportRow {
            status: Status::Restored,
            document_version: current.version.clone(),
            content_sha256: current.sha256(),
            ..base
        },
        Ok(RolledBack::Changed(why)) => base.with_error(
            Status::Skipped,
            &TargetError::new(Reason::ChangedSinceApply, why),
        ),
        Err(e) => base.with_error(Status::Failed, &e),
    };
    Outcome::of(row)
}

impl Undo {
    /// The row of this target's rollback before any step: the apply's version is the one
    /// it found, and the action undoes the apply's.
    fn row(&self, started_at: SystemTime, started: Instant) -> ReportRow {
        ReportRow {
            account_name: self.applied.account_name.clone(),
            action: if self.applied.status == Status::Created {
                Action::Delete
            } else {
                Action::Restore
            },
            previous_version: self.applied.document_version.clone(),
            ..ReportRow::new(
                &self.applied.document_name,
                &self.target,
                started_at,
                started,
            )
        }
    }

    /// Never started (`abandoned`: cut off in flight) — the row says so.
    pub fn stopped(&self, reason: StopReason, abandoned: bool) -> Outcome {
        let row = self.row(SystemTime::now(), Instant::now());
        if abandoned {
            Outcome::interrupted(row)
        } else {
            Outcome::skipped(row, reason)
        }
    }
}

enum RolledBack {
    Deleted,
    Restored(Current),
    Changed(String),
}

async fn rollback_steps(
    applied: &ReportRow,
    ssm: &TargetClient,
) -> Result<RolledBack, TargetError> {
    let name = &applied.document_name;
    let Some(versions) = document::versions(ssm, name).await? else {
        return Ok(RolledBack::Changed("the document no longer exists".into()));
    };
    if versions.default_version != applied.document_version {
        return Ok(RolledBack::Changed(format!(
            "the default version is now {}, not {} as the apply left it",
            versions.default_version, applied.document_version
        )));
    }
    let current = document::read_version(ssm, name, &versions.default_version).await?;
    if current.sha256() != applied.content_sha256 {
        return Ok(RolledBack::Changed(
            "the default version's content differs from what the apply wrote".into(),
        ));
    }
    if applied.status == Status::Created {
        // Deleting removes every version: not if someone added one after the apply.
        if versions.latest_version != applied.document_version {
            return Ok(RolledBack::Changed(format!(
                "version {} was added after the apply created the document",
                versions.latest_version
            )));
        }
        document::delete(ssm, name).await?;
        return Ok(RolledBack::Deleted);
    }
    document::promote(ssm, name, &applied.previous_version).await?;
    Ok(RolledBack::Restored(
        document::read_version(ssm, name, &applied.previous_version).await?,
    ))
}
