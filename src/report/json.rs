//! The run's summary as JSON (`--summary-json`), for CI steps to read without parsing text.
//!
//! Every count comes from [`RunStats`], as the printed summary's do. The field names are a
//! contract (docs/usage.md "JUnit and JSON outputs"): fields are only ever added, under a new
//! `schema_version` if one changed meaning.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Command, NodeTotals, OrgWalk, RunEvent, RunMeta, RunStats, Status};

/// The object's `schema_version`.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// What the summary states, besides the run's metadata and stats.
pub(crate) struct Facts<'a> {
    /// The run's events (waves started, verified, halted; stops; interrupts), in order.
    pub events: &'a [RunEvent],
    pub meta: &'a RunMeta,
    pub stats: &'a RunStats,
    /// The CSV report.
    pub report: &'a Path,
    pub html: Option<&'a Path>,
    pub junit: Option<&'a Path>,
    pub exit_code: u8,
    pub why: &'a str,
    /// The run's time (apply: without the confirmation prompt).
    pub elapsed: Duration,
}

/// The summary JSON, field by field: what `--summary-json` writes and what Lambda mode takes
/// from the run (serde writes it and reads it back; the field order is the file's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunSummary {
    pub schema_version: u32,
    pub tool_version: String,
    pub command: Command,
    pub document: String,
    /// plan, apply, audit: the preferences file.
    pub preferences: Option<Input>,
    /// rollback: the apply report undone.
    pub from: Option<Input>,
    pub total_targets: usize,
    pub not_done: usize,
    /// Of `not_done`, the targets the run could not act on (failed, skipped): a retry may fix
    /// them.
    pub failed: usize,
    /// Of `not_done`, the targets known not to hold the preferences (drifted, missing,
    /// blocked): a person must act.
    pub not_compliant: usize,
    /// Targets a blocking preflight finding kept from being written.
    pub blocked: usize,
    /// Targets per status, in the summary's order, only the statuses some target has.
    pub counts: BTreeMap<Status, usize>,
    pub regions: BTreeMap<String, BTreeMap<Status, usize>>,
    pub errors: Vec<ErrorCount>,
    pub report: String,
    pub html: Option<String>,
    pub junit: Option<String>,
    pub exit_code: u8,
    pub why: String,
    pub started_at: String,
    pub ended_at: String,
    pub duration_ms: u64,
    /// The run's events, in order; empty when nothing happened to the run as a whole.
    pub events: Vec<RunEvent>,
    /// `audit --security-hub`: the findings sent, delivered, and why the others were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_hub: Option<Delivery>,
    /// `--org`: the walk of the organization (its calls, retries, and how far it got).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrgWalk>,
    /// The node check's totals, where it counted any target's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeTotals>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub sent: usize,
    pub delivered: usize,
    pub not_delivered: Vec<ErrorCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Input {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ErrorCount {
    pub code: String,
    pub count: usize,
    pub first_message: String,
}

impl RunSummary {
    /// The summary of a run, from its facts.
    pub(crate) fn of(run: &Facts) -> RunSummary {
        let meta = run.meta;
        let input = Input {
            path: meta.input_path.clone(),
            sha256: meta.input_sha256.clone(),
        };
        let (preferences, from) = if meta.command.reads_a_report() {
            (None, Some(input))
        } else {
            (Some(input), None)
        };
        let stats = run.stats;
        RunSummary {
            schema_version: SCHEMA_VERSION,
            tool_version: meta.tool_version.clone(),
            command: meta.command,
            document: meta.document_name.clone(),
            preferences,
            from,
            total_targets: stats.total,
            not_done: stats.not_done(),
            failed: stats.failed(),
            not_compliant: stats.not_compliant(),
            blocked: stats.blocked(),
            counts: stats.by_status.clone(),
            regions: stats.by_region.clone(),
            errors: stats
                .ranked_errors()
                .into_iter()
                .map(|(code, count, first_message)| ErrorCount {
                    code: code.to_string(),
                    count,
                    first_message: first_message.to_string(),
                })
                .collect(),
            report: run.report.display().to_string(),
            html: run.html.map(|p| p.display().to_string()),
            junit: run.junit.map(|p| p.display().to_string()),
            exit_code: run.exit_code,
            why: run.why.to_string(),
            started_at: meta.started_at.clone(),
            ended_at: meta.ended_at.clone(),
            duration_ms: run.elapsed.as_millis() as u64,
            events: run.events.to_vec(),
            security_hub: (stats.findings_sent > 0).then(|| Delivery {
                sent: stats.findings_sent,
                delivered: stats.findings_delivered,
                not_delivered: stats
                    .undelivered
                    .iter()
                    .map(|(code, (count, first_message))| ErrorCount {
                        code: code.clone(),
                        count: *count,
                        first_message: first_message.clone(),
                    })
                    .collect(),
            }),
            organization: stats.walk.clone(),
            nodes: (stats.nodes.targets_checked > 0).then_some(stats.nodes),
        }
    }

    /// The object, pretty-printed, with a final newline.
    pub(crate) fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Reason, ReportRow, TargetError};
    use serde_json::Value;

    #[test]
    fn counts_come_from_the_stats() {
        let mut stats = RunStats::new(3);
        let row = |region: &str, status| ReportRow {
            region: region.parse().unwrap(),
            status,
            ..ReportRow::empty()
        };
        stats.record(&row("us-east-1", Status::Compliant));
        stats.record(&row("eu-west-1", Status::Compliant));
        stats.record(&row("eu-west-1", Status::Failed).with_error(
            Status::Failed,
            &TargetError::new(Reason::Aws("AccessDenied".into()), "denied"),
        ));
        let meta = RunMeta {
            document_name: "SSM-SessionManagerRunShell".into(),
            ..RunMeta::new(Command::Audit)
        };
        let events = [
            RunEvent::WaveStarted {
                number: 1,
                of: 2,
                accounts: 1,
                targets: 3,
            },
            RunEvent::WaveHalted {
                number: 1,
                failed: 1,
            },
        ];
        let summary = RunSummary::of(&Facts {
            events: &events,
            meta: &meta,
            stats: &stats,
            report: Path::new("audit.csv"),
            html: None,
            junit: Some(Path::new("audit.xml")),
            exit_code: 1,
            why: "1 target not done: failed 1",
            elapsed: Duration::from_millis(1500),
        });
        let text = summary.render();
        assert_eq!(
            serde_json::from_str::<RunSummary>(&text).unwrap(),
            summary,
            "read back as written"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["counts"],
            serde_json::json!({"failed": 1, "compliant": 2})
        );
        assert_eq!(
            v["regions"]["eu-west-1"],
            serde_json::json!({"failed": 1, "compliant": 1})
        );
        assert_eq!(
            v["errors"],
            serde_json::json!([{"code": "AccessDenied", "count": 1, "first_message": "denied"}])
        );
        assert_eq!(v["total_targets"], 3);
        assert_eq!(v["not_done"], 1);
        assert_eq!(
            (&v["failed"], &v["not_compliant"], &v["blocked"]),
            (&1.into(), &0.into(), &0.into())
        );
        assert_eq!(v["html"], Value::Null);
        assert_eq!(v["junit"], "audit.xml");
        assert_eq!(v["from"], Value::Null);
        assert_eq!(v["duration_ms"], 1500);
        assert_eq!(
            v["events"],
            serde_json::json!([
                {"event": "wave_started", "number": 1, "of": 2, "accounts": 1, "targets": 3},
                {"event": "wave_halted", "number": 1, "failed": 1},
            ])
        );
    }
}
