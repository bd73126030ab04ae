//! The run's statistics: the one source of counts for the progress bar, the summary, the
//! summary JSON and the exit code.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::reason::Reason;
use super::row::{HubDelivery, ReportRow, Status};
use crate::words::count;

/// `--org`: the walk of the organization before the run, as the summary states it: what it
/// found, the calls it made and those tried again after a throttle, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgWalk {
    /// ACTIVE accounts found (before the selection), the management account among them.
    pub accounts: usize,
    pub suspended: usize,
    /// OUs (roots included) whose every page was read.
    pub ous_walked: usize,
    /// OUs found but not (wholly) read: the stop time came first.
    pub ous_left: usize,
    /// Accounts found whose tags were needed but not read by the stop time: left out.
    pub accounts_left: usize,
    /// Whether each account's tags were read (only where the preferences or `-t` need them).
    pub tags_read: bool,
    /// Accounts whose tags came from the tags cache (`--org-tags-cache`), with no call.
    pub tags_cached: usize,
    /// Organizations calls, every attempt.
    pub calls: u64,
    /// Attempts tried again: throttled (`TooManyRequestsException`) or failing in a way that
    /// may pass.
    pub retries: u64,
    pub duration_ms: u64,
    /// Every OU and every needed tag read.
    pub complete: bool,
    /// Whether each account's targets started as the walk found it (src/run/walking.rs),
    /// rather than after the walk's end.
    #[serde(default)]
    pub streamed: bool,
}

/// The node check's totals over the targets it looked at (docs/report.md "Nodes").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTotals {
    /// Targets whose nodes were counted.
    pub targets_checked: usize,
    /// Online managed nodes seen.
    pub online: u64,
    /// Those that would lose sessions (audit: that cannot start one).
    pub at_risk: u64,
    /// Targets with a node at risk.
    pub targets_at_risk: usize,
}

#[derive(Debug, Default)]
pub struct RunStats {
    pub total: usize,
    /// Rows that make the exit code 1.
    failures: usize,
    /// Those rows, by status (a done-looking status counts here when its preflight found
    /// something blocking).
    not_done: BTreeMap<Status, usize>,
    /// Rows whose status alone reads as done but whose preflight found something blocking
    /// (an audit's compliant target whose bucket is gone).
    pub(crate) blocked_quietly: usize,
    pub finished: usize,
    pub by_status: BTreeMap<Status, usize>,
    pub by_region: BTreeMap<String, BTreeMap<Status, usize>>,
    /// error code → (count, first message seen)
    pub errors: HashMap<Reason, (usize, String)>,
    /// `audit --security-hub`: the targets a finding was sent for.
    pub findings_sent: usize,
    /// Those whose finding Security Hub took.
    pub findings_delivered: usize,
    /// Why the others' were not: code → (count, first message seen).
    pub undelivered: BTreeMap<String, (usize, String)>,
    /// `--org`: how the walk of the organization went.
    pub walk: Option<OrgWalk>,
    /// The node check's totals.
    pub nodes: NodeTotals,
}

impl RunStats {
    pub fn new(total: usize) -> Self {
        Self {
            total,
            ..Default::default()
        }
    }

    pub fn record(&mut self, row: &ReportRow) {
        self.finished += 1;
        if row.is_failure() {
            self.failures += 1;
            *self.not_done.entry(row.status).or_default() += 1;
        }
        if row.findings.blocking() && !row.status.is_failure() {
            self.blocked_quietly += 1;
        }
        if let Some(seen) = row.nodes {
            let at_risk = row.nodes_at_risk.unwrap_or(0);
            self.nodes.targets_checked += 1;
            self.nodes.online += u64::from(seen);
            self.nodes.at_risk += u64::from(at_risk);
            self.nodes.targets_at_risk += usize::from(at_risk > 0);
        }
        *self.by_status.entry(row.status).or_default() += 1;
        *self
            .by_region
            .entry(row.region.to_string())
            .or_default()
            .entry(row.status)
            .or_default() += 1;
        match &row.security_hub {
            HubDelivery::NotSent => {}
            HubDelivery::Delivered => {
                self.findings_sent += 1;
                self.findings_delivered += 1;
            }
            HubDelivery::NotDelivered(e) => {
                self.findings_sent += 1;
                self.undelivered
                    .entry(e.reason.to_string())
                    .or_insert((0, e.message.clone()))
                    .0 += 1;
            }
        }
        if let Some(code) = &row.error_code {
            let e = self
                .errors
                .entry(code.clone())
                .or_insert((0, row.error_message.clone()));
            e.0 += 1;
        }
    }

    pub fn count(&self, status: Status) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Whether any target failed or was skipped: exit code 1.
    pub fn any_failure(&self) -> bool {
        self.failures > 0
    }

    /// How many rows make the exit code 1 (the failure rule of `ReportRow::is_failure`).
    pub fn not_done(&self) -> usize {
        self.failures
    }

    /// Of those, the targets the run could not act on: failed, or skipped (not for a region
    /// the account never enabled): what running again may fix.
    pub fn failed(&self) -> usize {
        [Status::Failed, Status::Skipped]
            .iter()
            .filter_map(|s| self.not_done.get(s))
            .sum()
    }

    /// The rest of them: targets read and known not to hold the preferences (drifted, missing,
    /// blocked, or done-looking with a blocking preflight finding): running again changes
    /// nothing until someone acts.
    pub fn not_compliant(&self) -> usize {
        self.failures - self.failed()
    }

    /// Targets a blocking preflight finding kept from being written (or, in an audit, whose
    /// preferences cannot serve sessions).
    pub fn blocked(&self) -> usize {
        self.not_done.get(&Status::Blocked).copied().unwrap_or(0) + self.blocked_quietly
    }

    /// Why the run is not a success, from the rows alone: "3 targets not done: failed 1,
    /// drifted 1, compliant 1 with a blocking preflight finding"; `None` when every target is
    /// done.
    pub fn not_done_line(&self) -> Option<String> {
        if self.failures == 0 {
            return None;
        }
        let parts: Vec<String> = self
            .not_done
            .iter()
            .map(|(st, n)| {
                if st.is_failure() {
                    format!("{} {n}", st.as_str())
                } else {
                    format!("{} {n} with a blocking preflight finding", st.as_str())
                }
            })
            .collect();
        Some(format!(
            "{} not done: {}",
            count(self.failures, "target"),
            parts.join(", ")
        ))
    }

    /// Every error code (and note) with its count and the first message seen, most common
    /// first, ties by code.
    pub fn ranked_errors(&self) -> Vec<(&Reason, usize, &str)> {
        let mut errors: Vec<_> = self
            .errors
            .iter()
            .map(|(code, (n, msg))| (code, *n, msg.as_str()))
            .collect();
        errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        errors
    }

    /// Findings sent to Security Hub that it did not take: the run cannot be a success.
    pub fn undelivered(&self) -> usize {
        self.findings_sent - self.findings_delivered
    }

    /// "findings delivered to 9 of 10 targets (not delivered: SecurityHubNotEnabled 1)";
    /// `None` when no finding was sent.
    pub fn delivery_line(&self) -> Option<String> {
        if self.findings_sent == 0 {
            return None;
        }
        let mut line = format!(
            "findings delivered to {} of {}",
            self.findings_delivered,
            count(self.findings_sent, "target")
        );
        if !self.undelivered.is_empty() {
            let parts: Vec<String> = self
                .undelivered
                .iter()
                .map(|(code, (n, _))| format!("{code} {n}"))
                .collect();
            line.push_str(&format!(" (not delivered: {})", parts.join(", ")));
        }
        Some(line)
    }

    /// "created 3 · unchanged 10 · failed 1"
    pub fn counts_line(&self) -> String {
        self.by_status
            .iter()
            .map(|(s, n)| format!("{} {n}", s.as_str()))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::reason::{Finding, Findings, Severity, TargetError};
    use crate::model::row::ReportRow;
    use crate::target::Region;

    fn row(status: Status) -> ReportRow {
        ReportRow {
            status,
            ..ReportRow::empty()
        }
    }

    fn failed(reason: Reason, message: &str) -> ReportRow {
        ReportRow {
            error_code: Some(reason),
            error_message: message.to_string(),
            ..row(Status::Failed)
        }
    }

    fn in_region(mut r: ReportRow, region: &str) -> ReportRow {
        r.region = Region::parse(region).unwrap();
        r
    }

    fn blocking(r: ReportRow) -> ReportRow {
        r.with_findings(Findings::of(vec![Finding {
            reason: Reason::LogGroupNotFound,
            severity: Severity::Blocking,
            subject: "/sessions".to_string(),
            message: "no group".to_string(),
            nodes: 0,
        }]))
    }

    fn stats_of(rows: &[ReportRow]) -> RunStats {
        let mut stats = RunStats::new(rows.len());
        rows.iter().for_each(|r| stats.record(r));
        stats
    }

    #[test]
    fn every_row_is_counted_by_status_and_region() {
        let stats = stats_of(&[
            row(Status::Created),
            in_region(row(Status::Created), "eu-west-1"),
            row(Status::Unchanged),
            in_region(failed(Reason::Http(503), "unavailable"), "eu-west-1"),
        ]);
        assert_eq!((stats.total, stats.finished), (4, 4));
        assert_eq!(stats.count(Status::Created), 2);
        assert_eq!(stats.count(Status::Updated), 0);
        assert_eq!(stats.counts_line(), "created 2 · unchanged 1 · failed 1");
        let region = |r: &str| stats.by_region[r].clone().into_iter().collect::<Vec<_>>();
        assert_eq!(
            region("us-east-1"),
            [(Status::Created, 1), (Status::Unchanged, 1)]
        );
        assert_eq!(
            region("eu-west-1"),
            [(Status::Created, 1), (Status::Failed, 1)]
        );
    }

    #[test]
    fn what_is_not_done_splits_into_failed_and_not_compliant() {
        let excused = ReportRow {
            error_code: Some(Reason::RegionNotEnabled),
            ..row(Status::Skipped)
        };
        let stats = stats_of(&[
            failed(Reason::Http(500), "boom"),
            ReportRow {
                error_code: Some(Reason::Interrupted),
                ..row(Status::Skipped)
            },
            excused,
            row(Status::Drifted),
            row(Status::Missing),
            blocking(row(Status::Blocked)),
            blocking(row(Status::Compliant)),
            row(Status::Compliant),
        ]);
        assert!(stats.any_failure());
        assert_eq!(
            stats.not_done(),
            6,
            "the excused skip and the compliant row are done"
        );
        assert_eq!(
            stats.failed(),
            2,
            "failed and the interrupted skip: worth running again"
        );
        assert_eq!(stats.not_compliant(), 4);
        assert_eq!(
            stats.blocked(),
            2,
            "blocked, and compliant with a blocking finding"
        );
        assert_eq!(stats.blocked_quietly, 1);
        assert_eq!(
            stats.not_done_line().unwrap(),
            "6 targets not done: failed 1, skipped 1, compliant 1 with a blocking preflight \
             finding, drifted 1, missing 1, blocked 1"
        );
    }

    #[test]
    fn a_run_with_every_target_done_has_no_failure_line() {
        let stats = stats_of(&[
            row(Status::Unchanged),
            ReportRow {
                error_code: Some(Reason::DeniedByScp),
                ..row(Status::Skipped)
            },
        ]);
        assert!(!stats.any_failure());
        assert_eq!(
            (stats.not_done(), stats.failed(), stats.not_compliant()),
            (0, 0, 0)
        );
        assert_eq!(stats.not_done_line(), None);
        assert_eq!(stats.delivery_line(), None, "no finding sent");
        assert_eq!(stats.undelivered(), 0);
        assert_eq!(RunStats::new(0).counts_line(), "");
    }

    #[test]
    fn errors_are_ranked_by_count_then_code_with_the_first_message() {
        let stats = stats_of(&[
            failed(Reason::Http(500), "first 500"),
            failed(Reason::InvalidContent, "too large"),
            failed(Reason::Http(500), "second 500"),
            failed(Reason::DocumentNotActive, "stuck"),
        ]);
        assert_eq!((stats.not_done(), stats.failed()), (4, 4));
        let ranked = stats.ranked_errors();
        assert_eq!(ranked[0], (&Reason::Http(500), 2, "first 500"));
        assert_eq!(ranked.len(), 3);
        assert!(ranked[1].0 < ranked[2].0, "ties by code: {ranked:?}");
        assert!(ranked[1..].iter().all(|(_, n, _)| *n == 1));
    }

    #[test]
    fn security_hub_deliveries_are_counted_and_a_lost_one_is_said() {
        let sent = |delivery| ReportRow {
            security_hub: delivery,
            ..row(Status::Compliant)
        };
        let lost =
            |m: &str| HubDelivery::NotDelivered(TargetError::new(Reason::SecurityHubNotEnabled, m));
        let stats = stats_of(&[
            sent(HubDelivery::Delivered),
            sent(HubDelivery::Delivered),
            sent(lost("not subscribed")),
            sent(lost("still not subscribed")),
            sent(HubDelivery::NotSent),
        ]);
        assert_eq!((stats.findings_sent, stats.findings_delivered), (4, 2));
        assert_eq!(stats.undelivered(), 2);
        assert_eq!(
            stats.undelivered["SecurityHubNotEnabled"],
            (2, "not subscribed".to_string())
        );
        assert_eq!(
            stats.delivery_line().unwrap(),
            "findings delivered to 2 of 4 targets (not delivered: SecurityHubNotEnabled 2)"
        );
        assert!(!stats.any_failure(), "the rows themselves are compliant");
        // A lost finding fails the run all the same: model/ending.rs reads `undelivered`.
        let all = stats_of(&[sent(HubDelivery::Delivered)]);
        assert_eq!((all.undelivered(), all.any_failure()), (0, false));
    }
}
