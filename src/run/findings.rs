//! `audit --security-hub`: an audited target's verdict sent as its finding, built by src/report/asff.rs and sent by src/aws/securityhub.rs; what became of it is the row's `security_hub` cell.

use std::time::SystemTime;

use crate::aws::securityhub::{self, HubClient};
use crate::model::{HubDelivery, Outcome, rfc3339};
use crate::report::asff::{self, Context};
use crate::steps::{Audited, Job};

/// The audited target's outcome, its finding sent where the audit named a fix for it. One
/// that is not delivered leaves the verdict as it is and says why.
pub(crate) async fn send(job: &Job, hub: Option<HubClient>, audited: Audited) -> Outcome {
    let Audited { mut outcome, fix } = audited;
    let (Some(hub), Some(fix)) = (hub, fix) else {
        return outcome;
    };
    let row = &outcome.row;
    let now = rfc3339(SystemTime::now());
    let id = asff::finding_id(row, hub.partition);
    let build = |there: Option<&_>| {
        let (first_seen, now) = asff::times(row, &now, there);
        asff::finding(
            row,
            &Context {
                partition: hub.partition,
                now: &now,
                first_seen: &first_seen,
                fix: &fix,
                preferences_sha256: &job.prefs.file_sha256,
                changes: &outcome.changes,
            },
        )
    };
    // Boxed: the finding's SDK types are large, and inline they would grow every audited
    // target's future, with --security-hub or without.
    let sent = Box::pin(securityhub::deliver(&hub, &id, build)).await;
    outcome.row.security_hub = match sent {
        Ok(()) => HubDelivery::Delivered,
        Err(e) => HubDelivery::NotDelivered(e),
    };
    outcome
}
