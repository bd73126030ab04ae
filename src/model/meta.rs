//! What a run is for and who ran it: the command (an enum, not text) and the metadata the HTML
//! page, the JUnit file and the summary JSON head their output with.

use std::fmt;

use serde::{Deserialize, Serialize};
use strum::IntoStaticStr;

/// The commands that run over targets and write a report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, IntoStaticStr, Serialize, Deserialize,
)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Plan,
    Apply,
    Audit,
    Rollback,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether its input is a report (rollback's `--from`) rather than a preferences file.
    pub fn reads_a_report(self) -> bool {
        self == Command::Rollback
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who ran what, when, with which input: the header of the page, the JUnit file and the JSON.
#[derive(Debug, Clone)]
pub(crate) struct RunMeta {
    pub command: Command,
    pub tool_version: String,
    /// The command line as typed, with any external id redacted.
    pub command_line: String,
    /// STS GetCallerIdentity's ARN for the base credentials, or why it is unknown (empty
    /// unless the HTML page asked for it: it costs a call).
    pub caller_arn: String,
    pub started_at: String,
    pub ended_at: String,
    /// The preferences file (rollback: the apply report it undoes) and its SHA-256.
    pub input_path: String,
    pub input_sha256: String,
    pub document_name: String,
}

impl RunMeta {
    /// Metadata with every text empty, for a command; the run fills what it knows.
    pub(crate) fn new(command: Command) -> Self {
        Self {
            command,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            command_line: String::new(),
            caller_arn: String::new(),
            started_at: String::new(),
            ended_at: String::new(),
            input_path: String::new(),
            input_sha256: String::new(),
            document_name: String::new(),
        }
    }
}
