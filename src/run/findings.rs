//! `audit --security-hub`, a sink of its own: an audited target's verdict sent as its finding, built by src/report/asff.rs and sent by src/aws/securityhub.rs; what became of it is the row's `security_hub` cell, and the findings not delivered a problem of the run.

use std::time::SystemTime;

use super::sinks::{End, Sink};
use crate::aws::securityhub::{self, HubClient};
use crate::model::{HubDelivery, Outcome, rfc3339};
use crate::report::asff::{self, Context};
use crate::steps::{Audited, Job};

/// `audit --security-hub` among the run's sinks. Unlike the others it takes each row on the
/// target's own task, before the row is recorded ([`send`]): a finding goes to the target's
/// account and region, at the run's concurrency, and what became of it is a cell of that row.
/// At the end, findings Security Hub did not take are a problem of the run (exit code 1).
pub(crate) struct SecurityHubSink;

impl Sink for SecurityHubSink {
    fn finish(self: Box<Self>, end: &End<'_>) -> Result<(), String> {
        match (end.stats.undelivered(), end.stats.delivery_line()) {
            (1.., Some(line)) => Err(line),
            _ => Ok(()),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{Command, Ended, Reason, ReportRow, RunMeta, Status, TargetError};
    use crate::run::fanout::Control;
    use crate::run::sinks::Sinks;
    use crate::settings::{Output, Verbosity};
    use crate::terminal::events::EventLog;
    use crate::terminal::printer::Printer;

    /// An audit's sinks with the Security Hub sink, fed a compliant row per delivery; its
    /// end.
    fn audit(deliveries: Vec<HubDelivery>) -> (Ended, String) {
        let printer = Printer::new(Verbosity::Quiet);
        let out = Output {
            report: None,
            html: None,
            junit: None,
            summary_json: None,
            no_progress: true,
            stored_at: None,
        };
        let meta = (RunMeta::new(Command::Audit), EventLog::new(&printer));
        let mut sinks = Sinks::new("audit", &[], &out, &printer, None, meta)
            .with_step_sink(Some(Box::new(SecurityHubSink)));
        for security_hub in deliveries {
            sinks.record(&Outcome {
                row: ReportRow {
                    status: Status::Compliant,
                    security_hub,
                    ..ReportRow::empty()
                },
                changes: vec![],
                reused_version: false,
            });
        }
        let outcome = sinks.finish(Duration::ZERO, &Control::default(), None);
        (outcome.ended, outcome.summary.expect("a run's summary").why)
    }

    #[test]
    fn a_finding_not_delivered_is_a_problem_the_summary_names() {
        let lost = TargetError::new(Reason::SecurityHubNotEnabled, "not subscribed");
        let (ended, why) = audit(vec![
            HubDelivery::Delivered,
            HubDelivery::NotDelivered(lost),
        ]);
        assert_eq!(
            ended,
            Ended::Failures,
            "every target compliant, a finding lost"
        );
        assert_eq!(
            why,
            "findings delivered to 1 of 2 targets (not delivered: SecurityHubNotEnabled 1)"
        );
    }

    #[test]
    fn findings_all_delivered_or_none_sent_leave_the_run_a_success() {
        for deliveries in [
            vec![HubDelivery::Delivered, HubDelivery::Delivered],
            vec![HubDelivery::NotSent],
        ] {
            let (ended, why) = audit(deliveries);
            assert_eq!(
                (ended, why.as_str()),
                (Ended::Success, "every target succeeded")
            );
        }
    }
}
