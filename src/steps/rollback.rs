//! A target rolled back from an apply's row: its previous version made the default again and
//! the apply's version deleted (so the default and the latest are the same version, whichever
//! one Session Manager reads), or the document the apply created deleted, where nobody
//! changed it since.

use std::time::{Instant, SystemTime};

use crate::aws::document::{self, Current};
use crate::aws::session::TargetClient;
use crate::model::{Action, Outcome, Reason, ReportRow, Status, StopReason, TargetError};
use crate::target::Target;

/// One target to roll back: an `apply` report row that created or updated it.
pub(crate) struct Undo {
    pub target: Target,
    pub applied: ReportRow,
}

/// Restores what the apply changed — but only where the target still holds exactly what that
/// apply wrote (same default version, same content hash); otherwise it is skipped with why.
pub(crate) async fn rollback(undo: Undo, client: TargetClient) -> Outcome {
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
        Ok(RolledBack::AlreadyGone) => ReportRow {
            status: Status::Deleted,
            action: Action::None,
            error_message: "already rolled back: the document the apply created no longer exists"
                .into(),
            ..base
        },
        Ok(RolledBack::AlreadyRestored(current)) => ReportRow {
            status: Status::Restored,
            action: Action::None,
            document_version: current.version.clone(),
            content_sha256: current.sha256(),
            error_message: format!(
                "already rolled back: version {} is the default and the latest; nothing written",
                current.version
            ),
            ..base
        },
        Ok(RolledBack::Restored(current)) => ReportRow {
            status: Status::Restored,
            document_version: current.version.clone(),
            content_sha256: current.sha256(),
            // What went, for the record: the apply's version is deleted, its hash stays here.
            error_message: format!(
                "version {} (sha256 {}), the apply's, deleted: version {} is the default and the latest again",
                applied.document_version, applied.content_sha256, current.version
            ),
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
    pub(crate) fn stopped(&self, reason: StopReason, abandoned: bool) -> Outcome {
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
    /// A rollback of this report ran before: nothing left to do.
    AlreadyGone,
    AlreadyRestored(Current),
    Changed(String),
}

async fn rollback_steps(
    applied: &ReportRow,
    ssm: &TargetClient,
) -> Result<RolledBack, TargetError> {
    let name = &applied.document_name;
    let Some(versions) = document::versions(ssm, name).await? else {
        return Ok(if applied.status == Status::Created {
            RolledBack::AlreadyGone
        } else {
            RolledBack::Changed("the document no longer exists".into())
        });
    };
    // What a rollback of this report leaves: the previous version the default and the latest.
    if applied.status == Status::Updated
        && versions.default_version == applied.previous_version
        && versions.latest_version == applied.previous_version
    {
        let current = document::read_version(ssm, name, &versions.default_version).await?;
        return Ok(RolledBack::AlreadyRestored(current));
    }
    // A rollback that promoted the previous version but could not delete the apply's: finish
    // it, where the latest still holds exactly what the apply wrote.
    if applied.status == Status::Updated
        && versions.default_version == applied.previous_version
        && versions.latest_version == applied.document_version
    {
        let latest = document::read_version(ssm, name, &versions.latest_version).await?;
        if latest.sha256() == applied.content_sha256 {
            delete_applied(ssm, applied).await?;
            return Ok(RolledBack::Restored(
                document::read_version(ssm, name, &applied.previous_version).await?,
            ));
        }
    }
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
        document::delete(ssm, name, None).await?;
        return Ok(RolledBack::Deleted);
    }
    // Session Manager may read the default version or the latest: both must be the one
    // restored, so the apply's version goes once it is no longer the default. Not when a
    // version was added after it: deleting that is not this rollback's to do.
    if versions.latest_version != applied.document_version {
        // The apply reused an older version holding its content (DuplicateDocumentContent):
        // it added none. Where the previous default is also the latest, promoting it back
        // restores both.
        if versions.latest_version == applied.previous_version {
            document::promote(ssm, name, &applied.previous_version).await?;
            return Ok(RolledBack::Restored(
                document::read_version(ssm, name, &applied.previous_version).await?,
            ));
        }
        return Ok(RolledBack::Changed(format!(
            "version {} is the latest, not the apply's {}: with version {} restored as the default, the latest would still differ",
            versions.latest_version, applied.document_version, applied.previous_version
        )));
    }
    document::promote(ssm, name, &applied.previous_version).await?;
    delete_applied(ssm, applied).await?;
    Ok(RolledBack::Restored(
        document::read_version(ssm, name, &applied.previous_version).await?,
    ))
}

/// Deletes the apply's version once the previous one is the default again. A failure here
/// leaves the target half rolled back: never a clean skip, and a rollback run again finishes it.
async fn delete_applied(ssm: &TargetClient, applied: &ReportRow) -> Result<(), TargetError> {
    document::delete(
        ssm,
        &applied.document_name,
        Some(&applied.document_version),
    )
        .await
        .map_err(|e| {
            let e = e.after_a_write();
            TargetError::new(
                e.reason,
                format!(
                    "version {} is the default again, but the apply's version {} (still the latest) could not be deleted: {}",
                    applied.previous_version, applied.document_version, e.message
                ),
            )
        })
}
