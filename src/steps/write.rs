//! A target written (apply's second phase): create, or update and promote, with the version
//! cap's pruning and the ownership tag; and `--waves`' read-back of what was written.

use std::sync::Arc;
use std::time::Instant;

use super::job::*;
use super::read::*;
use crate::aws::document::{self, UpdateOptions};
use crate::aws::session::TargetClient;
use crate::model::{Action, Outcome, Reason, ReportRow, Status, TargetError};
use crate::preferences::to_content;

impl Planned {
    /// Writes what the plan decided and returns the apply row.
    /// `client` is needed only by a target that writes (see [`Planned::writes`]).
    pub(crate) async fn apply(mut self, job: Arc<Job>, client: Option<TargetClient>) -> Outcome {
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
                document::create(&client, name, &content, &job.document.mark)
                    .await
                    .map(|w| (Status::Created, w))
            }
            Ok(content) => {
                let opts = UpdateOptions {
                    mark: (!self.marked).then_some(&job.document.mark),
                    prune: job.document.prune_versions,
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
                            job.document.mark, e.reason, e.message
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
                row.changed_inputs = self.changed_inputs.to_string();
                Outcome {
                    row: row.with_findings(self.findings),
                    changes: self.changes,
                    reused_version: false,
                }
            }
        }
    }

    pub(super) fn outcome(
        &self,
        job: &Job,
        status: Status,
        version: String,
        sha: String,
    ) -> Outcome {
        let row = ReportRow {
            action: self.action,
            status,
            previous_version: self.found_version.clone(),
            document_version: version,
            content_sha256: sha,
            changed_inputs: self.changed_inputs.to_string(),
            attempts: self.attempts,
            ..base_row(job, &self.target, self.started_at, self.started)
        }
        .with_findings(self.findings.clone());
        // Where the default held the preferences, why the target was (or would be) written.
        let row = match (&self.unpromoted, &row.error_code) {
            (Some(latest), None) => {
                let what = if status == Status::Kept {
                    "left as it is (--existing keep)"
                } else {
                    "the preferences go in again as a new version, made the default, so the version Session Manager reads holds them whichever it takes"
                };
                let note = TargetError::new(
                    Reason::UnpromotedVersion,
                    format!(
                        "the latest version {latest} differs from the preferences in {} and was never promoted; the default version {} holds them: {what}",
                        self.changed_inputs.replace(';', ", "),
                        self.found_version
                    ),
                );
                row.with_error(status, &note)
            }
            _ => row,
        };
        Outcome {
            row,
            changes: self.changes.clone(),
            reused_version: false,
        }
    }
}

/// `--waves`' read-back of a target its wave wrote: one DescribeDocument says whether the
/// default version is still the one written, the latest equals it, and its content is what
/// was written (SSM's SHA-256 of it; where SSM gives none, the content is read and hashed
/// here). A target that does not read back right fails with `VerifyFailed`.
pub(crate) async fn verify(job: &Job, o: Outcome, client: TargetClient) -> Outcome {
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
