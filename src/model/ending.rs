//! How a run ends and its exit code: a pure function of the run's stops, stats and problems
//! (docs/report.md "Exit codes").

use super::row::StopReason;
use super::stats::RunStats;
use crate::error::InputError;

/// How a command ended, when its input was good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every target succeeded (exit 0).
    Success,
    /// At least one target failed or was skipped, an output could not be written, or the
    /// operator declined (exit 1).
    Failures,
    /// Ctrl-C or SIGTERM (exit 130).
    Interrupted,
}

impl Ended {
    /// A run's end: interrupted wins, then any row that failed, any finding Security Hub did
    /// not take (a scheduled job must notice), or any output not written.
    pub(crate) fn of(stopped: Option<StopReason>, stats: &RunStats, problems: bool) -> Ended {
        match stopped {
            Some(StopReason::Interrupted) => Ended::Interrupted,
            _ if stats.any_failure() || stats.undelivered() > 0 || problems => Ended::Failures,
            _ => Ended::Success,
        }
    }

    /// The end once a later output failed too: a success becomes a failure.
    pub(crate) fn with_problem(self) -> Ended {
        match self {
            Ended::Success => Ended::Failures,
            other => other,
        }
    }

    /// The exit code of a run that ended this way: 0, 1 or 130.
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Success => 0,
            Ended::Failures => 1,
            Ended::Interrupted => 130,
        }
    }
}

/// The process's exit code for a command's result: bad input or setup (nothing sent to AWS,
/// no report) is 2.
pub fn exit_code(result: &Result<Ended, InputError>) -> u8 {
    match result {
        Ok(ended) => ended.exit_code(),
        Err(_) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HubDelivery, Reason, ReportRow, Status, TargetError};

    #[test]
    fn the_exit_code_follows_from_stops_stats_and_problems() {
        let mut stats = RunStats::new(2);
        let done = ReportRow {
            status: Status::Created,
            ..ReportRow::empty()
        };
        stats.record(&done);
        assert_eq!(Ended::of(None, &stats, false).exit_code(), 0);
        assert_eq!(Ended::of(None, &stats, true).exit_code(), 1);
        assert_eq!(
            Ended::of(Some(StopReason::MaxFailures), &stats, false).exit_code(),
            0
        );
        let mut hub = RunStats::new(1);
        hub.record(&ReportRow {
            status: Status::Compliant,
            security_hub: HubDelivery::NotDelivered(TargetError::new(
                Reason::SecurityHubNotEnabled,
                "not subscribed",
            )),
            ..ReportRow::empty()
        });
        assert_eq!(
            Ended::of(None, &hub, false),
            Ended::Failures,
            "a finding lost"
        );
        assert_eq!(
            hub.delivery_line().unwrap(),
            "findings delivered to 0 of 1 target (not delivered: SecurityHubNotEnabled 1)"
        );
        stats.record(&ReportRow::empty());
        assert_eq!(Ended::of(None, &stats, false), Ended::Failures);
        assert_eq!(
            Ended::of(Some(StopReason::Interrupted), &stats, false),
            Ended::Interrupted
        );
        assert_eq!(Ended::Success.with_problem(), Ended::Failures);
        assert_eq!(Ended::Interrupted.with_problem(), Ended::Interrupted);
        assert_eq!(exit_code(&Err(InputError::usage("x"))), 2);
    }

    /// The counts' side of the exit code: a skip the account excuses is done (0); drift or a
    /// blocking finding on a done-looking row is not (1).
    #[test]
    fn excused_skips_pass_and_quiet_blocks_fail() {
        use crate::model::reason::{Finding, Findings, Severity};
        let of = |rows: &[ReportRow]| {
            let mut stats = RunStats::new(rows.len());
            rows.iter().for_each(|r| stats.record(r));
            Ended::of(None, &stats, false).exit_code()
        };
        let row = |status| ReportRow {
            status,
            ..ReportRow::empty()
        };
        let excused = ReportRow {
            error_code: Some(Reason::DeniedByScp),
            ..row(Status::Skipped)
        };
        assert_eq!(of(&[row(Status::Unchanged), excused]), 0);
        assert_eq!(of(&[row(Status::Compliant), row(Status::Drifted)]), 1);
        let blocked = row(Status::Compliant).with_findings(Findings::of(vec![Finding {
            reason: Reason::LogGroupNotFound,
            severity: Severity::Blocking,
            subject: "/sessions".to_string(),
            message: "no group".to_string(),
            nodes: 0,
        }]));
        assert_eq!(of(&[blocked]), 1);
    }
}
