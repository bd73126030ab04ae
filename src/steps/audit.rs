//! A target audited: does its default version hold the preferences; an unpromoted latest
//! version, the ownership tag and the version's author noted.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::job::*;
use super::read::*;
use crate::aws::cloudtrail::{self, TrailClient};
use crate::aws::document::{self, Current};
use crate::aws::resources::CheckClients;
use crate::aws::session::TargetClient;
use crate::model::{Action, Change, Findings, Outcome, Reason, ReportRow, Status, TargetError};
use crate::preferences::{changed_keys, diff};
use crate::target::Target;

/// Audits one target: is its default version the desired content? Also notices a latest
/// version that was never promoted to default.
/// Preflight checks the preferences the target should hold, so a compliant target whose
/// bucket was deleted carries the finding (and counts as not done).
pub(crate) async fn audit(
    job: Arc<Job>,
    target: Target,
    client: TargetClient,
    checks: Option<CheckClients>,
    trail: Option<TrailClient>,
) -> Audited {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let result = audit_steps(&job, &target, &client, checks.as_ref()).await;
    let base = base_row(&job, &target, started_at, started);
    // The fix a finding recommends takes over a document without the tag: refuse would not.
    // Seen without the tag: a takeover is the fix. Tags that could not be read say nothing of
    // whose it is, and a finding never recommends taking over what may be another team's.
    let unmarked = matches!(&result, Ok((Some(found), _))
        if found.unmanaged.as_ref().is_some_and(|e| e.reason == Reason::UnmanagedDocument));
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
    let mut row = ReportRow {
        attempts: client.attempts(),
        ..row
    };
    // `--who`: who last changed a target that is not compliant. A lookup that fails leaves
    // the verdict as it is and says why.
    if let Some(trail) = trail.filter(|_| row.status != Status::Compliant) {
        match cloudtrail::last_change(&trail, &job.document_name).await {
            Ok(Some(change)) => {
                row.changed_by = change.by;
                row.changed_at = change.at;
            }
            Ok(None) => row.changed_by = "unknown (no event in 90 days)".into(),
            Err(e) => {
                row.changed_by =
                    format!("unknown (LookupEvents failed: {}: {})", e.reason, e.message)
            }
        }
    }
    // `--security-hub`: the command the target's finding recommends (the engine sends the
    // finding, src/run/findings.rs). A skipped target (a region a service control policy
    // closes) gets none: nothing there to protect, and the same policy would refuse it.
    let fix = job
        .security_hub
        .as_ref()
        .filter(|_| row.status != Status::Skipped)
        .map(|fix| fix.for_target(&target, unmarked));
    Audited {
        outcome: Outcome {
            row,
            changes,
            reused_version: false,
        },
        fix,
    }
}

/// An audited target, and with `--security-hub` the command its finding recommends: only
/// the audit knows whether the document lacks the ownership tag, which changes that command.
pub(crate) struct Audited {
    pub(crate) outcome: Outcome,
    pub(crate) fix: Option<String>,
}

/// `version_author` where SSM does not say who created the version.
pub(crate) const NOT_REPORTED: &str = "not reported";

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
    if let Some(e) = name_unknown(job, target) {
        return Err(e);
    }
    let desired = |current: Option<&Value>| {
        job.prefs
            .desired(target, current, job.document.existing.merges())
            .map_err(|m| TargetError::new(Reason::InvalidContent, m))
    };
    let Some(versions) = document::versions(ssm, name).await? else {
        let desired = desired(None)?;
        // No document: Session Manager's defaults are in force, which ask nothing of a node.
        let findings = job
            .findings(checks, target, &desired, Some(&Value::Null))
            .await;
        return Ok((None, findings));
    };
    let current = document::read_version(ssm, name, &versions.default_version).await?;
    let desired = desired(current.value.as_ref())?;
    let (_, changes) = decide(&desired, Some(&current));
    // The nodes are judged against what the target holds: can they start a session now?
    let in_force = current.value.clone().unwrap_or(Value::Null);
    let findings = job
        .findings(checks, target, &desired, Some(&in_force))
        .await;
    let mut unpromoted = None;
    // Whichever version Session Manager reads must hold the preferences: a latest version
    // whose content differs from the default's makes the target drifted, with its inputs.
    let mut latest_changes = vec![];
    if versions.latest_version != versions.default_version {
        let latest = document::read_version(ssm, name, &versions.latest_version).await?;
        if latest.sha256() != current.sha256() {
            latest_changes = match latest.value.as_ref() {
                Some(v) => diff(&desired, v),
                // Not JSON (saved as YAML): it differs, as a default version in YAML does.
                None => vec![Change::shown("content", None, Some(desired.clone()))],
            };
        }
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
    let unmanaged = match document::is_marked(ssm, name, &job.document.mark, &versions.tags).await {
        Ok(true) => None,
        Ok(false) => Some(TargetError::new(
            Reason::UnmanagedDocument,
            format!(
                "the document does not carry the tag {}: ssm-prefs did not write it (or wrote it before it tagged)",
                job.document.mark
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
    // The default's own differences first; the latest's add what the default lacks.
    let mut changes = changes;
    for c in latest_changes {
        if !changes.iter().any(|d| d.key == c.key) {
            changes.push(c);
        }
    }
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
