//! Why a row did not simply succeed: the typed reason behind its `error_code`, the one-line
//! message beside it, and preflight's findings with their severity.

use std::fmt;

use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator, IntoStaticStr};

/// Why a row did not simply succeed, or what it notes: the report's `error_code`. The tool's
/// own reasons are variants; a code AWS answered with is kept as AWS spelled it.
// The variants' names are the codes written (strum): a new reason cannot be written as an
// empty code, and `own()` lists it for reading back.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    IntoStaticStr,
    Serialize,
    Deserialize,
)]
#[serde(into = "String", from = "String")]
pub enum Reason {
    /// An explicitly named opt-in region the account has not enabled (not a failure).
    RegionNotEnabled,
    /// `audit --security-hub`: Security Hub is not enabled in the target's account and region,
    /// so its finding was not delivered (a note on the row; the run exits 1).
    SecurityHubNotEnabled,
    /// `--wait-ready`: an opt-in region still ENABLING when the wait ran out.
    RegionNotReady,
    /// AccessDenied by an explicit deny in a service control policy: the organization forbids
    /// the call there (a region it does not use, say). Skipped, not a failure.
    DeniedByScp,
    /// Not started: more targets failed than `--max-failures` allows.
    MaxFailuresExceeded,
    /// Not started, or abandoned in flight, because the run was interrupted.
    Interrupted,
    /// plan, apply, audit: the account's name is not known (an event redacts it, and
    /// Organizations could not be asked) and the preferences fill `{account_name}`.
    AccountNameUnknown,
    /// plan, apply, audit: `--event` alone, the account's Organizations tags could not be
    /// read, and the preferences hold a placeholder a tag may fill.
    AccountTagsUnknown,
    /// A bug in this tool: the target's task panicked, so what it did is unknown.
    InternalError,
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
    /// Node check: a node's role may not do what the preferences require (IAM's simulation).
    NodeRoleDenied,
    /// Node check: the KMS key's policy neither delegates to IAM nor grants the node's role.
    NodeKeyPolicyDenied,
    /// Node check: a node's SSM Agent is older than a feature the preferences turn on needs.
    NodeAgentTooOld,
    /// Node check: managed nodes that are not online (counted apart; a warning).
    NodesOffline,
    /// Waves: a written target did not read back as written.
    VerifyFailed,
    /// Waves: not started, an earlier wave failed (or the operator stopped at `--pause`).
    WaveHalted,
    /// The document does not carry this tool's mark (`--owner-tag`): `--existing refuse`
    /// blocks the write, audit notes it.
    UnmanagedDocument,
    /// plan and apply: the document of that name is not a Session document of the
    /// preferences' `sessionType` (a port-forwarding or Command document): never written.
    WrongDocumentKind,
    /// A service error without a code, named by its HTTP status.
    Http(u16),
    /// The code AWS answered with: `AccessDenied`, `ThrottlingException`, `InvalidDocument`, …
    Aws(String),
}

impl Reason {
    /// The tool's own reasons (every variant but AWS's codes), for reading a code back.
    pub fn own() -> impl Iterator<Item = Reason> {
        Reason::iter().filter(|r| !matches!(r, Reason::Http(_) | Reason::Aws(_)))
    }

    /// A code as written in a report or sent by AWS: the tool's own names become their
    /// variant, so a report read back compares equal to the run that wrote it.
    pub fn from_code(code: &str) -> Reason {
        if let Some(r) = Self::own().find(|r| <&str>::from(r) == code) {
            return r;
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
    /// never enabled, or one a service control policy closes, holds nothing to protect.
    pub(crate) fn excuses_skip(&self) -> bool {
        matches!(self, Reason::RegionNotEnabled | Reason::DeniedByScp)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Http(status) => write!(f, "HTTP{status}"),
            Reason::Aws(code) => f.write_str(code),
            own => f.write_str(own.into()),
        }
    }
}

/// Written as its code (serde), as the report's `error_code` cell.
impl From<Reason> for String {
    fn from(reason: Reason) -> String {
        reason.to_string()
    }
}

/// Read back from its code.
impl From<String> for Reason {
    fn from(code: String) -> Reason {
        Reason::from_code(&code)
    }
}

/// Why one target did not succeed: becomes `error_code` and `error_message` in its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetError {
    pub reason: Reason,
    pub message: String,
}

impl TargetError {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: one_line(&message.into()),
        }
    }

    /// A target's task panicked: a bug in this tool, and what the target holds is unknown.
    pub(crate) fn internal(panic: &str) -> Self {
        Self::new(
            Reason::InternalError,
            format!(
                "a bug in ssm-prefs stopped this target ({panic}): its state is unknown; run again to converge, and report the bug"
            ),
        )
    }

    /// The error of a call made after something was already written: a service control
    /// policy's denial there leaves the target half changed, a failure, not a skip.
    pub(crate) fn after_a_write(self) -> Self {
        match self.reason {
            Reason::DeniedByScp => Self {
                reason: Reason::Aws("AccessDenied".into()),
                ..self
            },
            _ => self,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
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
        self.into()
    }

    fn parse(s: &str) -> Option<Severity> {
        Severity::iter().find(|v| v.as_str() == s)
    }
}

/// What preflight found wrong with one thing the preferences name (a bucket, a log group, a
/// key) as seen from one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub reason: Reason,
    pub severity: Severity,
    /// The bucket, log group or key it is about.
    pub subject: String,
    /// What is wrong and how to fix it (in the row's `error_message`, not in `findings`).
    pub message: String,
    /// The node check: how many of the target's managed nodes it is about (0 for the others).
    pub nodes: u32,
}

/// A row's findings: in the CSV, `Code(severity) subject` joined by `; `. The node check's
/// counts ride along to the row's own columns (`nodes`, `nodes_at_risk`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub(crate) struct Findings(pub Vec<Finding>, pub NodeCounts);

/// What the node check counted in a target; `None` where it did not look (nothing the
/// preferences turn on asks anything of a node, or the nodes could not be listed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NodeCounts {
    /// Online managed nodes seen.
    pub seen: Option<u32>,
    /// Those that would lose sessions (audit: that cannot start one).
    pub at_risk: Option<u32>,
}

impl Findings {
    /// Findings with no node counts.
    pub(crate) fn of(found: Vec<Finding>) -> Self {
        Findings(found, NodeCounts::default())
    }

    pub(crate) fn blocking(&self) -> bool {
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

impl From<Findings> for String {
    fn from(findings: Findings) -> String {
        findings.to_string()
    }
}

/// Read back from the CSV's `Code(severity) subject; …` (a finding's message is not written).
impl TryFrom<String> for Findings {
    type Error = String;

    fn try_from(text: String) -> Result<Findings, String> {
        let mut out = vec![];
        for item in text.split("; ").filter(|i| !i.is_empty()) {
            let parsed = item.split_once('(').and_then(|(code, rest)| {
                let (severity, subject) = rest.split_once(") ")?;
                Some(Finding {
                    reason: Reason::from_code(code),
                    severity: Severity::parse(severity)?,
                    subject: subject.to_string(),
                    message: String::new(),
                    nodes: 0,
                })
            });
            match parsed {
                Some(f) => out.push(f),
                None => return Err(format!("findings {item:?} is not `Code(severity) subject`")),
            }
        }
        Ok(Findings::of(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_back_as_written() {
        for r in Reason::own() {
            assert_eq!(Reason::from_code(&r.to_string()), r);
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
    fn messages_are_one_short_line() {
        let e = TargetError::new(Reason::Timeout, "a\n  b\tc");
        assert_eq!(e.message, "a b c");
        let long = TargetError::new(Reason::Timeout, "x".repeat(1000));
        assert_eq!(long.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
