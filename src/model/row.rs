//! The run's model: a target's report row, its status and action, what ended it, and the
//! rule that decides which rows make the exit code 1.

use std::sync::LazyLock;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};
use strum::{EnumIter, IntoStaticStr};

use super::change::Change;
use super::meta::Command;
use super::reason::{Findings, Reason, TargetError};
use crate::target::{AccountId, Region, Target};

/// What the run did (or would do) to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    None,
    /// rollback: make the recorded previous version the default again
    Restore,
    /// rollback: delete a document the apply created
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A target's final state. Apply, plan, audit and rollback each use their own subset.
// `EnumIter`: every status, for the renderers that list them all and the tests that loop over
// them, so a new status cannot be left out of either.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Status {
    Created,
    Updated,
    WouldCreate,
    WouldUpdate,
    Unchanged,
    Failed,
    Skipped,
    Compliant,
    Drifted,
    Missing,
    Restored,
    Deleted,
    /// plan and apply: a write was needed, but preflight found it would break sessions, or
    /// (`--existing refuse`) the document is not this tool's.
    Blocked,
    /// plan and apply with `--existing keep`: the document differs and is left as it is.
    Kept,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether this status can make the run's exit code 1 (see [`ReportRow::is_failure`]).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::Skipped | Status::Drifted | Status::Missing | Status::Blocked
        )
    }

    /// The commands whose reports can hold this status: a merge refuses reports of
    /// different kinds, and rollback refuses a report that is not an apply's.
    pub fn commands(self) -> &'static [Command] {
        use Command::{Apply, Audit, Plan, Rollback};
        match self {
            Status::Created | Status::Updated => &[Apply],
            Status::WouldCreate | Status::WouldUpdate => &[Plan],
            Status::Blocked | Status::Kept => &[Apply, Plan],
            Status::Unchanged => &[Apply, Plan],
            Status::Compliant | Status::Drifted | Status::Missing => &[Audit],
            Status::Restored | Status::Deleted => &[Rollback],
            Status::Failed | Status::Skipped => &[Apply, Plan, Audit, Rollback],
        }
    }
}

/// The report's header: [`ReportRow`]'s fields, in order, as serde names them. The csv crate
/// writes that header itself before the first struct it serializes; it is read back from there
/// once, so the names have one source, the struct.
pub static COLUMNS: LazyLock<&'static [&'static str]> = LazyLock::new(|| {
    let mut writer = csv::Writer::from_writer(vec![]);
    writer
        .serialize(ReportRow::empty())
        .expect("a row serializes");
    let written = writer.into_inner().expect("a Vec takes every byte");
    let mut reader = csv::Reader::from_reader(written.as_slice());
    let header = reader
        .headers()
        .expect("the csv crate reads its own header");
    // Built once, and kept for the life of the process.
    let names: Vec<&'static str> = header
        .iter()
        .map(|name| &*Box::leak(name.to_string().into_boxed_str()))
        .collect();
    Box::leak(names.into_boxed_slice())
});

/// One report row, and the report's columns: each field is a column, in this order (the
/// header is the field names, docs/report.md "The report"), written and read back through
/// serde as the cell's text (src/report/csv.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub account_id: AccountId,
    pub account_name: String,
    pub region: Region,
    pub document_name: String,
    pub action: Action,
    pub status: Status,
    pub previous_version: String,
    pub document_version: String,
    pub content_sha256: String,
    pub changed_inputs: String,
    pub error_code: Option<Reason>,
    pub error_message: String,
    pub attempts: u32,
    pub started_at: String,
    pub duration_ms: u64,
    /// Preflight's findings.
    pub findings: Findings,
    /// With `--waves`, the wave the target's account is in (from 1).
    pub wave: Option<usize>,
    /// audit: when the version in force (the default) was created, as SSM reports it.
    pub version_created_at: String,
    /// audit: who created it where SSM says, else `not reported`.
    pub version_author: String,
    /// apply with `--prune-versions`: old versions deleted to make room for this write.
    pub pruned_versions: Option<u32>,
    /// The command whose report this is: a merge refuses a mix, rollback anything but apply.
    pub command: Option<Command>,
    /// `audit --who`: who last changed the document of a target not compliant (CloudTrail).
    pub changed_by: String,
    /// `audit --who`: when (RFC 3339 UTC).
    pub changed_at: String,
    /// `audit --security-hub`: what became of the target's finding.
    pub security_hub: HubDelivery,
    /// The node check: online managed nodes seen (empty: not checked). Reports written
    /// before the column read back without it.
    #[serde(default)]
    pub nodes: Option<u32>,
    /// The node check: those that would lose sessions (audit: that cannot start one).
    #[serde(default)]
    pub nodes_at_risk: Option<u32>,
}

/// `audit --security-hub`: what became of a target's finding. Its cell is empty (not sent),
/// `delivered`, or why not as `CODE: message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HubDelivery {
    /// No finding was sent: no `--security-hub`, or a skipped target.
    #[default]
    NotSent,
    /// Security Hub took the finding.
    Delivered,
    /// Security Hub did not take it, and why.
    NotDelivered(TargetError),
}

const DELIVERED: &str = "delivered";

impl Serialize for HubDelivery {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HubDelivery::NotSent => s.serialize_str(""),
            HubDelivery::Delivered => s.serialize_str(DELIVERED),
            HubDelivery::NotDelivered(e) => {
                s.collect_str(&format_args!("{}: {}", e.reason, e.message))
            }
        }
    }
}

impl<'de> Deserialize<'de> for HubDelivery {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.as_str() {
            "" => HubDelivery::NotSent,
            DELIVERED => HubDelivery::Delivered,
            _ => {
                let (code, message) = text.split_once(": ").unwrap_or((&text, ""));
                // As written: `TargetError::new` would shorten the message again.
                HubDelivery::NotDelivered(TargetError {
                    reason: Reason::from_code(code),
                    message: message.to_string(),
                })
            }
        })
    }
}

impl ReportRow {
    /// A row for `target` with nothing done yet, timed from `started`: every column a step
    /// fills starts empty.
    pub fn new(
        document_name: &str,
        target: &Target,
        started_at: SystemTime,
        started: Instant,
    ) -> Self {
        Self {
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            document_name: document_name.to_string(),
            action: Action::None,
            status: Status::Failed,
            previous_version: String::new(),
            document_version: String::new(),
            content_sha256: String::new(),
            changed_inputs: String::new(),
            error_code: None,
            error_message: String::new(),
            attempts: 0,
            started_at: rfc3339(started_at),
            duration_ms: started.elapsed().as_millis() as u64,
            findings: Findings::default(),
            wave: None,
            version_created_at: String::new(),
            version_author: String::new(),
            pruned_versions: None,
            command: None,
            changed_by: String::new(),
            changed_at: String::new(),
            security_hub: HubDelivery::NotSent,
            nodes: None,
            nodes_at_risk: None,
        }
    }

    /// A row for account 000000000000 in us-east-1 with nothing done: the row the header is
    /// read from ([`COLUMNS`]), and for tests to fill.
    pub fn empty() -> Self {
        let target = Target {
            account: std::sync::Arc::new(crate::target::Account::new(
                AccountId::parse("000000000000").expect("12 digits"),
                0,
            )),
            region: Region::parse("us-east-1").expect("a known region"),
        };
        Self {
            account_name: String::new(),
            started_at: String::new(),
            ..Self::new("", &target, SystemTime::UNIX_EPOCH, Instant::now())
        }
    }

    /// The row with `status` and the error's reason and message. A target a service control
    /// policy denies is skipped, not failed: the organization chose that nothing goes there.
    pub fn with_error(self, status: Status, e: &TargetError) -> Self {
        let status = match (status, &e.reason) {
            (Status::Failed, Reason::DeniedByScp) => Status::Skipped,
            (status, _) => status,
        };
        Self {
            status,
            error_code: Some(e.reason.clone()),
            error_message: e.message.clone(),
            ..self
        }
    }

    /// Whether this row makes the run's exit code 1: the one failure rule, used by the stats
    /// (so the summary and the exit code) and the progress log. A blocking finding is a
    /// target not done, whatever the document holds: sessions there would fail.
    pub fn is_failure(&self) -> bool {
        (self.status.is_failure() && !self.error_code.as_ref().is_some_and(Reason::excuses_skip))
            || self.findings.blocking()
    }

    /// Puts preflight's findings on the row; where the row has no error of its own, the
    /// worst finding is its `error_code` and every finding's message its `error_message`,
    /// the worst's first: the message opens with what its code names, not with a warning
    /// that happened to be checked before it.
    pub fn with_findings(mut self, findings: Findings) -> Self {
        if self.error_code.is_none()
            && let Some((at, worst)) = findings
                .0
                .iter()
                .enumerate()
                .min_by_key(|(_, f)| f.severity)
        {
            self.error_code = Some(worst.reason.clone());
            let others = findings.0.iter().enumerate().filter(|(i, _)| *i != at);
            let messages: Vec<&str> = std::iter::once(worst.message.as_str())
                .chain(others.map(|(_, f)| f.message.as_str()))
                .collect();
            self.error_message =
                TargetError::new(worst.reason.clone(), messages.join("; ")).message;
        }
        self.nodes = findings.1.seen;
        self.nodes_at_risk = findings.1.at_risk;
        self.findings = findings;
        self
    }

    /// Whether the row's error is what decided its status: a failed, skipped or blocked
    /// target. Otherwise the status comes from what the target holds (drifted, missing, an
    /// update) and an error code beside it is a note or a preflight warning, which a line
    /// names after the status's own cause.
    pub fn error_decides(&self) -> bool {
        matches!(
            self.status,
            Status::Failed | Status::Skipped | Status::Blocked
        )
    }

    /// The row's `error_code` cell as text ("" when none).
    pub fn code(&self) -> String {
        self.error_code
            .as_ref()
            .map(Reason::to_string)
            .unwrap_or_default()
    }
}

/// Why a run stopped starting new targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    MaxFailures,
    Interrupted,
    /// `--waves`: a wave did not succeed, or the operator stopped at `--pause`.
    WaveHalted,
}

/// One finished target: its row, and the changes behind it for the change summary.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub row: ReportRow,
    pub changes: Vec<Change>,
    /// The write promoted an older version that already held the content (SSM's
    /// `DuplicateDocumentContent`): newer versions than the default may then exist.
    pub reused_version: bool,
}

impl Outcome {
    pub fn of(row: ReportRow) -> Self {
        Self {
            row,
            changes: vec![],
            reused_version: false,
        }
    }

    /// A target that never started: the run stopped first.
    pub fn skipped(row: ReportRow, reason: StopReason) -> Self {
        let e = match reason {
            StopReason::MaxFailures => TargetError::new(
                Reason::MaxFailuresExceeded,
                "not started: the run stopped after more failures than --max-failures allows",
            ),
            StopReason::Interrupted => {
                TargetError::new(Reason::Interrupted, "not started: the run was interrupted")
            }
            StopReason::WaveHalted => TargetError::new(
                Reason::WaveHalted,
                "not started: the rollout halted before this target's wave (an earlier wave did not succeed, or the operator stopped at --pause); --retry-failed on this report continues with it",
            ),
        };
        Self::of(row.with_error(Status::Skipped, &e))
    }

    /// A target abandoned in flight by a second Ctrl-C: what it did is unknown, so it failed.
    pub fn interrupted(row: ReportRow) -> Self {
        let e = TargetError::new(
            Reason::Interrupted,
            "abandoned in flight by a second interrupt: its state is unknown; run again to converge",
        );
        Self::of(row.with_error(Status::Failed, &e))
    }

    /// A target whose task panicked (a bug in this tool): what it did is unknown, so it failed,
    /// and the run goes on with the others.
    pub fn panicked(self, message: &str) -> Self {
        Self::of(
            self.row
                .with_error(Status::Failed, &TargetError::internal(message)),
        )
    }
}

/// RFC 3339 UTC, to the millisecond.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_not_enabled_is_no_failure() {
        let skipped = |reason: Reason| ReportRow {
            status: Status::Skipped,
            error_code: Some(reason),
            ..ReportRow::empty()
        };
        assert!(!skipped(Reason::RegionNotEnabled).is_failure());
        assert!(skipped(Reason::Interrupted).is_failure());
        let compliant_with_note = ReportRow {
            status: Status::Compliant,
            error_code: Some(Reason::UnpromotedVersion),
            ..ReportRow::empty()
        };
        assert!(!compliant_with_note.is_failure());
    }

    #[test]
    fn the_worst_findings_message_comes_first() {
        use super::super::reason::{Finding, Severity};
        let finding = |reason, severity, message: &str| Finding {
            reason,
            severity,
            subject: String::new(),
            message: message.into(),
            nodes: 0,
        };
        let row = ReportRow::empty().with_findings(Findings::of(vec![
            finding(Reason::BucketInOtherRegion, Severity::Warning, "bucket far"),
            finding(Reason::LogGroupNotFound, Severity::Blocking, "no group"),
        ]));
        assert_eq!(row.error_code, Some(Reason::LogGroupNotFound));
        assert_eq!(row.error_message, "no group; bucket far");
    }

    #[test]
    fn every_status_is_spelt_one_way_and_belongs_to_a_command() {
        use strum::IntoEnumIterator;
        for s in Status::iter() {
            // The report (serde) and every renderer (strum) spell it the same.
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            assert!(!s.commands().is_empty(), "{s:?}");
        }
    }
}
