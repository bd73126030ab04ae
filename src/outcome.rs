//! The run's model: a target's report row, its status and action, the typed reason behind
//! its `error_code`, and the rule that decides which rows make the exit code 1.

use std::fmt;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::preferences::Change;
use crate::target::Target;

/// What the run did (or would do) to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::None => "none",
            Action::Restore => "restore",
            Action::Delete => "delete",
        }
    }
}

/// A target's final state. Apply, plan, audit and rollback each use their own subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::WouldCreate => "would-create",
            Status::WouldUpdate => "would-update",
            Status::Unchanged => "unchanged",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Compliant => "compliant",
            Status::Drifted => "drifted",
            Status::Missing => "missing",
            Status::Restored => "restored",
            Status::Deleted => "deleted",
            Status::Blocked => "blocked",
            Status::Kept => "kept",
        }
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
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Status::Created | Status::Updated => &["apply"],
            Status::WouldCreate | Status::WouldUpdate => &["plan"],
            Status::Blocked | Status::Kept => &["apply", "plan"],
            Status::Unchanged => &["apply", "plan"],
            Status::Compliant | Status::Drifted | Status::Missing => &["audit"],
            Status::Restored | Status::Deleted => &["rollback"],
            Status::Failed | Status::Skipped => &["apply", "plan", "audit", "rollback"],
        }
    }
}

/// Why a row did not simply succeed, or what it notes: the report's `error_code`. The tool's
/// own reasons are variants; a code AWS answered with is kept as AWS spelled it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// An explicitly named opt-in region the account has not enabled (not a failure).
    RegionNotEnabled,
    /// Not started: more targets failed than `--max-failures` allows.
    MaxFailuresExceeded,
    /// Not started, or abandoned in flight, because the run was interrupted.
    Interrupted,
    /// rollback: the target no longer holds what the apply left.
    ChangedSinceApply,
    /// audit: the latest version is not the default version (a note, not a failure).
    UnpromotedVersion,
    /// The rendered preferences cannot be written (too large, or not mergeable).
    InvalidContent,
    /// A written version did not turn Active.
    DocumentNotActive,
    /// A call took longer than `--operation-timeout`.
    Timeout,
    /// The endpoint could not be reached (refused, reset, unresolvable).
    ConnectionError,
    /// The SDK could not send the request for another reason.
    DispatchFailure,
    /// The response could not be read.
    ResponseError,
    /// The SDK could not build the request.
    ConstructionFailure,
    /// STS failed without a code of its own.
    AssumeRoleFailed,
    /// A service error without a code.
    ServiceError,
    /// Preflight: the bucket does not exist, or this account cannot see it.
    BucketNotFound,
    /// Preflight: `s3EncryptionEnabled` is true but the bucket has no default encryption.
    BucketNotEncrypted,
    /// Preflight: the bucket is in another region than the target.
    BucketInOtherRegion,
    /// Preflight: the log group does not exist in the target's region.
    LogGroupNotFound,
    /// Preflight: `cloudWatchEncryptionEnabled` is true but the log group has no KMS key.
    LogGroupNotEncrypted,
    /// Preflight: no such KMS key (or alias) in the target's region.
    KmsKeyNotFound,
    /// Preflight: the key is disabled, pending deletion or otherwise unusable.
    KmsKeyNotEnabled,
    /// Preflight: not a symmetric encrypt/decrypt key.
    KmsKeyNotSymmetric,
    /// Preflight: the key is in another region than the target.
    KmsKeyInOtherRegion,
    /// Preflight: the member role could not run a check (AccessDenied, or another error).
    CheckUnverified,
    /// Waves: a written target did not read back as written.
    VerifyFailed,
    /// Waves: not started, an earlier wave failed (or the operator stopped at `--pause`).
    WaveHalted,
    /// The document does not carry this tool's mark (`--owner-tag`): `--existing refuse`
    /// blocks the write, audit notes it.
    UnmanagedDocument,
    /// A service error without a code, named by its HTTP status.
    Http(u16),
    /// The code AWS answered with: `AccessDenied`, `ThrottlingException`, `InvalidDocument`, …
    Aws(String),
}

impl Reason {
    /// The tool's own reasons, for reading a code back.
    const OWN: [Reason; 27] = [
        Reason::RegionNotEnabled,
        Reason::MaxFailuresExceeded,
        Reason::Interrupted,
        Reason::ChangedSinceApply,
        Reason::UnpromotedVersion,
        Reason::InvalidContent,
        Reason::DocumentNotActive,
        Reason::Timeout,
        Reason::ConnectionError,
        Reason::DispatchFailure,
        Reason::ResponseError,
        Reason::ConstructionFailure,
        Reason::AssumeRoleFailed,
        Reason::ServiceError,
        Reason::BucketNotFound,
        Reason::BucketNotEncrypted,
        Reason::BucketInOtherRegion,
        Reason::LogGroupNotFound,
        Reason::LogGroupNotEncrypted,
        Reason::KmsKeyNotFound,
        Reason::KmsKeyNotEnabled,
        Reason::KmsKeyNotSymmetric,
        Reason::KmsKeyInOtherRegion,
        Reason::CheckUnverified,
        Reason::VerifyFailed,
        Reason::WaveHalted,
        Reason::UnmanagedDocument,
    ];

    /// A code as written in a report or sent by AWS: the tool's own names become their
    /// variant, so a report read back compares equal to the run that wrote it.
    pub fn from_code(code: &str) -> Reason {
        if let Some(r) = Self::OWN.iter().find(|r| r.to_string() == code) {
            return r.clone();
        }
        // Only the form this tool writes (`HTTP503`), so every code reads back as written.
        match code
            .strip_prefix("HTTP")
            .and_then(|n| n.parse::<u16>().ok())
        {
            Some(status) if code == format!("HTTP{status}") => Reason::Http(status),
            _ => Reason::Aws(code.to_string()),
        }
    }

    /// Whether a skipped row with this reason still counts as done: a region the account
    /// never enabled holds nothing to protect.
    fn excuses_skip(&self) -> bool {
        *self == Reason::RegionNotEnabled
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Exhaustive: a new reason cannot be written as an empty code.
        let name = match self {
            Reason::Http(status) => return write!(f, "HTTP{status}"),
            Reason::Aws(code) => return f.write_str(code),
            Reason::RegionNotEnabled => "RegionNotEnabled",
            Reason::MaxFailuresExceeded => "MaxFailuresExceeded",
            Reason::Interrupted => "Interrupted",
            Reason::ChangedSinceApply => "ChangedSinceApply",
            Reason::UnpromotedVersion => "UnpromotedVersion",
            Reason::InvalidContent => "InvalidContent",
            Reason::DocumentNotActive => "DocumentNotActive",
            Reason::Timeout => "Timeout",
            Reason::ConnectionError => "ConnectionError",
            Reason::DispatchFailure => "DispatchFailure",
            Reason::ResponseError => "ResponseError",
            Reason::ConstructionFailure => "ConstructionFailure",
            Reason::AssumeRoleFailed => "AssumeRoleFailed",
            Reason::ServiceError => "ServiceError",
            Reason::BucketNotFound => "BucketNotFound",
            Reason::BucketNotEncrypted => "BucketNotEncrypted",
            Reason::BucketInOtherRegion => "BucketInOtherRegion",
            Reason::LogGroupNotFound => "LogGroupNotFound",
            Reason::LogGroupNotEncrypted => "LogGroupNotEncrypted",
            Reason::KmsKeyNotFound => "KmsKeyNotFound",
            Reason::KmsKeyNotEnabled => "KmsKeyNotEnabled",
            Reason::KmsKeyNotSymmetric => "KmsKeyNotSymmetric",
            Reason::KmsKeyInOtherRegion => "KmsKeyInOtherRegion",
            Reason::CheckUnverified => "CheckUnverified",
            Reason::VerifyFailed => "VerifyFailed",
            Reason::WaveHalted => "WaveHalted",
            Reason::UnmanagedDocument => "UnmanagedDocument",
        };
        f.write_str(name)
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Ok(Reason::from_code(&code))
    }
}

/// Why one target did not succeed: becomes `error_code` and `error_message` in its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub reason: Reason,
    pub message: String,
}

impl TargetError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: one_line(&message.into()),
        }
    }
}

/// Report cells and log lines are single-line, and short enough to read.
fn one_line(s: &str) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

const MAX_MESSAGE_CHARS: usize = 400;

/// How bad a preflight finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Sessions would fail: never written (status `blocked`).
    Blocking,
    /// Works in some network setups, not others.
    Warning,
    /// The member role could not check it.
    Unverified,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
            Severity::Unverified => "unverified",
        }
    }

    fn parse(s: &str) -> Option<Severity> {
        [Severity::Blocking, Severity::Warning, Severity::Unverified]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What preflight found wrong with one thing the preferences name (a bucket, a log group, a
/// key) as seen from one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub reason: Reason,
    pub severity: Severity,
    /// The bucket, log group or key it is about.
    pub subject: String,
    /// What is wrong and how to fix it (in the row's `error_message`, not in `findings`).
    pub message: String,
}

/// A row's findings: in the CSV, `Code(severity) subject` joined by `; `.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn blocking(&self) -> bool {
        self.0.iter().any(|f| f.severity == Severity::Blocking)
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, finding) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{}({}) {}",
                finding.reason,
                finding.severity.as_str(),
                finding.subject
            )?;
        }
        Ok(())
    }
}

impl Serialize for Findings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Findings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = vec![];
        for item in text.split("; ").filter(|i| !i.is_empty()) {
            let parsed = item.split_once('(').and_then(|(code, rest)| {
                let (severity, subject) = rest.split_once(") ")?;
                Some(Finding {
                    reason: Reason::from_code(code),
                    severity: Severity::parse(severity)?,
                    subject: subject.to_string(),
                    message: String::new(),
                })
            });
            match parsed {
                Some(f) => out.push(f),
                None => {
                    return Err(serde::de::Error::custom(format!(
                        "findings {item:?} is not `Code(severity) subject`"
                    )));
                }
            }
        }
        Ok(Findings(out))
    }
}

/// One report row; field order is the column order of the README's "Report" section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
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
    /// Preflight's findings; absent from reports written before preflight existed.
    #[serde(default)]
    pub findings: Findings,
    /// With `--waves`, the wave the target's account is in (from 1); absent before waves.
    #[serde(default)]
    pub wave: Option<usize>,
    /// audit: when the version in force (the default) was created, as SSM reports it.
    #[serde(default)]
    pub version_created_at: String,
    /// audit: who created it where SSM says, else `not reported`.
    #[serde(default)]
    pub version_author: String,
    /// apply with `--prune-versions`: old versions deleted to make room for this write.
    #[serde(default)]
    pub pruned_versions: Option<u32>,
}

impl ReportRow {
    /// A row for `target` with nothing done yet, timed from `started`.
    pub fn new(
        document_name: &str,
        target: &Target,
        started_at: SystemTime,
        started: Instant,
    ) -> Self {
        Self {
            account_id: target.account.id.to_string(),
            account_name: target.account.name.clone(),
            region: target.region.to_string(),
            document_name: document_name.to_string(),
            started_at: rfc3339(started_at),
            duration_ms: started.elapsed().as_millis() as u64,
            ..Self::empty()
        }
    }

    /// A row with every cell empty, for the steps to fill.
    pub fn empty() -> Self {
        Self {
            account_id: String::new(),
            account_name: String::new(),
            region: String::new(),
            document_name: String::new(),
            action: Action::None,
            status: Status::Failed,
            previous_version: String::new(),
            document_version: String::new(),
            content_sha256: String::new(),
            changed_inputs: String::new(),
            error_code: None,
            error_message: String::new(),
            attempts: 0,
            started_at: String::new(),
            duration_ms: 0,
            findings: Findings::default(),
            wave: None,
            version_created_at: String::new(),
            version_author: String::new(),
            pruned_versions: None,
        }
    }

    /// The row with `status` and the error's reason and message.
    pub fn with_error(self, status: Status, e: &TargetError) -> Self {
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
    /// worst finding is its `error_code` and every finding's message its `error_message`.
    pub fn with_findings(mut self, findings: Findings) -> Self {
        if self.error_code.is_none()
            && let Some(worst) = findings.0.iter().min_by_key(|f| f.severity)
        {
            self.error_code = Some(worst.reason.clone());
            let messages: Vec<&str> = findings.0.iter().map(|f| f.message.as_str()).collect();
            self.error_message =
                TargetError::new(worst.reason.clone(), messages.join("; ")).message;
        }
        self.findings = findings;
        self
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
}

/// RFC 3339 UTC, to the millisecond.
pub fn rfc3339(t: SystemTime) -> String {
    let dt = aws_sdk_ssm::primitives::DateTime::from(t);
    let whole = aws_sdk_ssm::primitives::DateTime::from_secs(dt.secs())
        .fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    format!(
        "{}.{:03}Z",
        whole.trim_end_matches('Z'),
        dt.subsec_nanos() / 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_back_as_written() {
        for r in Reason::OWN.iter() {
            assert_eq!(Reason::from_code(&r.to_string()), *r);
        }
        assert_eq!(
            Reason::from_code("HTTP0503"),
            Reason::Aws("HTTP0503".into())
        );
        assert_eq!(Reason::from_code("HTTP503"), Reason::Http(503));
        assert_eq!(Reason::Http(503).to_string(), "HTTP503");
        assert_eq!(
            Reason::from_code("AccessDenied"),
            Reason::Aws("AccessDenied".into())
        );
    }

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
    fn messages_are_one_short_line() {
        let e = TargetError::new(Reason::Timeout, "a\n  b\tc");
        assert_eq!(e.message, "a b c");
        let long = TargetError::new(Reason::Timeout, "x".repeat(1000));
        assert_eq!(long.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
