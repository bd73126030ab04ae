//! A target read and decided (plan, and apply's first phase): its default version read,
//! compared as parsed JSON under `--existing`, and preflight run on what it would hold.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::job::*;
use crate::aws::document::{self, Current};
use crate::aws::resources::CheckClients;
use crate::aws::session::TargetClient;
use crate::lifecycle::Existing;
use crate::model::{
    Action, Change, Finding, Findings, Outcome, Reason, ReportRow, Severity, Status, StopReason,
    TargetError,
};
use crate::preferences::{MAX_CONTENT_BYTES, changed_keys, diff, to_content};
use crate::target::Target;

/// A target read and decided, ready for its write.
pub(crate) struct Planned {
    pub target: Target,
    /// HTTP attempts so far; the client itself is not kept between the phases, so a large
    /// fleet's planned targets do not each hold one while waiting for their write.
    pub(super) attempts: u32,
    /// The default version and content hash the read found (empty when missing): all a row
    /// needs of the read, so a large fleet's planned targets stay small until their write.
    pub(super) found_version: String,
    pub(super) found_sha: String,
    /// What to write, kept only where it depends on what the read found (`--merge`); else
    /// empty, and rendered again for the write: at 17,000 targets the rendered contents held
    /// between the phases were a tenth of apply's memory.
    pub(super) content: String,
    /// The changed inputs' names, as the row lists them.
    pub(super) changed_inputs: Arc<str>,
    /// What preflight found (and `--existing refuse`'s verdict); a blocking finding stops
    /// the write.
    pub(super) findings: Findings,
    /// `--existing keep`: the document differs and stays as it is.
    pub(super) kept: bool,
    /// The document is known to carry the mark already (read for `--existing refuse`).
    pub(super) marked: bool,
    /// The latest version, not the default, where only it differs from the preferences:
    /// what the row's note names.
    pub(super) unpromoted: Option<String>,
    /// Each change's values, kept only for an update: the change summary groups updates by
    /// them, while a create is summarized by its count. A new document's changes are every
    /// input, some kilobytes per target: at 17,000 targets they were most of apply's memory.
    pub changes: Vec<Change>,
    pub action: Action,
    pub(super) started_at: SystemTime,
    pub(super) started: Instant,
    /// How long the read took: an apply row's duration is read plus write, not the wait between.
    pub(super) read_time: std::time::Duration,
}

/// Reads the target and decides what it needs. A failure is already the target's final row
/// (boxed: a row is large beside the happy path's `Planned`).
pub(crate) async fn read_and_decide(
    job: Arc<Job>,
    target: Target,
    client: TargetClient,
    checks: Option<CheckClients>,
) -> Result<Planned, Box<Outcome>> {
    let started_at = SystemTime::now();
    let started = Instant::now();
    // Before any call: nothing this target's reads find could make its content right.
    if let Some(e) = name_unknown(&job, &target) {
        let row = base_row(&job, &target, started_at, started).with_error(Status::Blocked, &e);
        return Err(Box::new(Outcome::of(row)));
    }
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
        job.document.existing.merges(),
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
    // The default holds the preferences, but Session Manager may read the latest version
    // instead (audit judges both): a latest version that differs is written over as a
    // drifted default is, so the new default is also the latest and holds them.
    let mut unpromoted = None;
    if let (Action::None, Some(default)) = (action, &current) {
        match document::read_latest(&client, &job.document_name).await {
            Ok(Some(latest)) if latest.version != default.version => {
                let (latest_action, latest_changes) = decide(&desired, Some(&latest));
                if latest_action == Action::Update {
                    (action, changes) = (latest_action, latest_changes);
                    unpromoted = Some(latest.version);
                }
            }
            // Deleted between the two reads: the next run finds what is left.
            Ok(_) => {}
            Err(e) => return Err(fail(e, &client)),
        }
    }
    let changed_inputs = job.names.get(changed_keys(&changes));
    let (mut kept, mut marked, mut refused) = (false, false, None);
    // Another kind of document under this name (port forwarding, a Command document) is
    // never overwritten, whatever --existing says.
    let wrong_kind = current.as_ref().and_then(|c| wrong_kind(&job, c, &desired));
    if action == Action::Update && wrong_kind.is_some() {
        refused = wrong_kind;
    } else if action == Action::Update {
        match job.document.existing {
            Existing::Keep => {
                kept = true;
                action = Action::None;
            }
            Existing::Refuse => {
                match document::is_marked(&client, &job.document_name, &job.document.mark, &[])
                    .await
                {
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
        Some(f) => Findings::of(vec![f]),
        None if kept => Findings::default(),
        None => job.findings(checks.as_ref(), &target, &desired, None).await,
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
        content: if action != Action::None && job.document.existing.merges() {
            content
        } else {
            String::new()
        },
        changed_inputs,
        findings,
        kept,
        marked,
        unpromoted,
        changes,
        action,
        started_at,
        started,
        read_time: started.elapsed(),
        attempts: client.attempts(),
    })
}

/// The finding that blocks a write over a document of another kind: not a Session document,
/// or a Session document of another `sessionType` than the preferences'.
fn wrong_kind(job: &Job, current: &Current, desired: &Value) -> Option<Finding> {
    let session_type = |v: &Value| {
        v.get("sessionType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let wanted = session_type(desired);
    // Content that is not JSON (a document saved as YAML) cannot be read for its sessionType:
    // its kind alone decides.
    let found = current.value.as_ref().map(session_type);
    let what = if !current.document_type.is_empty() && current.document_type != "Session" {
        format!("a {} document", current.document_type)
    } else if let Some(found) = found.filter(|f| *f != wanted) {
        if found.is_empty() {
            "a Session document without a sessionType".to_string()
        } else {
            format!("a Session document of sessionType {found}")
        }
    } else {
        return None;
    };
    Some(Finding {
        reason: Reason::WrongDocumentKind,
        severity: Severity::Blocking,
        subject: job.document_name.clone(),
        message: format!(
            "{} is {what}, not the {wanted} preferences: never overwritten (check --document-name)",
            job.document_name
        ),
        nodes: 0,
    })
}

/// `--existing refuse`'s verdict on a document without the mark, or whose tags could not
/// be read (`unread`).
pub(super) fn unmanaged(job: &Job, unread: Option<TargetError>) -> Finding {
    let message = match unread {
        None => format!(
            "{} exists without the tag {} (someone else made it, or an ssm-prefs older than the tag): --existing refuse leaves it; --existing update or merge takes it over",
            job.document_name, job.document.mark
        ),
        Some(e) => format!(
            "{} exists and its tags could not be read (ListTagsForResource: {}: {}): --existing refuse writes only where it sees the tag {}",
            job.document_name, e.reason, e.message, job.document.mark
        ),
    };
    Finding {
        reason: Reason::UnmanagedDocument,
        severity: Severity::Blocking,
        subject: job.document_name.clone(),
        message,
        nodes: 0,
    }
}

pub(super) fn decide(desired: &Value, current: Option<&Current>) -> (Action, Vec<Change>) {
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
    pub(super) fn found(&self) -> (String, String) {
        (self.found_version.clone(), self.found_sha.clone())
    }

    /// Whether apply writes to this target (and so needs a client): a change is needed and
    /// preflight found nothing that blocks it.
    pub(crate) fn writes(&self) -> bool {
        self.needs_write() && !self.findings.blocking()
    }

    /// The row's status when nothing is written.
    pub(super) fn status_unwritten(&self) -> Status {
        if self.kept {
            Status::Kept
        } else if self.needs_write() {
            Status::Blocked
        } else {
            Status::Unchanged
        }
    }

    pub(super) fn needs_write(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }

    /// The plan's row: what apply would do.
    pub(crate) fn plan_outcome(&self, job: &Job) -> Outcome {
        let status = match self.action {
            _ if !self.writes() => self.status_unwritten(),
            Action::Create => Status::WouldCreate,
            _ => Status::WouldUpdate,
        };
        let (version, sha) = self.found();
        self.outcome(job, status, version, sha)
    }
}

impl Planned {
    /// The write never started: the row keeps what the plan found.
    pub(crate) fn skipped(self, job: &Job, reason: StopReason) -> Outcome {
        let mut o = skipped(job, &self.target, reason);
        self.annotate(&mut o.row);
        o
    }

    /// The write was abandoned in flight.
    pub(crate) fn interrupted(&self, job: &Job) -> Outcome {
        let mut o = interrupted(job, &self.target);
        self.annotate(&mut o.row);
        o
    }

    pub(super) fn annotate(&self, row: &mut ReportRow) {
        row.action = self.action;
        row.previous_version = self.found_version.clone();
        row.changed_inputs = self.changed_inputs.to_string();
        row.attempts = self.attempts;
        row.findings = self.findings.clone();
    }
}
