//! The run's summary as JSON (`--summary-json`), for CI steps to read without parsing text.
//!
//! Every count comes from [`RunStats`], as the printed summary's do. The field names are a
//! contract (docs/usage.md "JUnit and JSON outputs"): fields are only ever added, under a new
//! `schema_version` if one changed meaning.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{NodeTotals, OrgWalk, RunEvent, RunMeta, RunStats};

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

#[derive(Serialize)]
struct Summary<'a> {
    schema_version: u32,
    tool_version: &'a str,
    command: &'a str,
    document: &'a str,
    /// plan, apply, audit: the preferences file.
    preferences: Option<Input<'a>>,
    /// rollback: the apply report undone.
    from: Option<Input<'a>>,
    total_targets: usize,
    not_done: usize,
    /// Of `not_done`, the targets the run could not act on (failed, skipped): a retry may fix
    /// them.
    failed: usize,
    /// Of `not_done`, the targets known not to hold the preferences (drifted, missing,
    /// blocked): a person must act.
    not_compliant: usize,
    /// Targets a blocking preflight finding kept from being written.
    blocked: usize,
    counts: Map<String, Value>,
    regions: Map<String, Value>,
    errors: Vec<ErrorCount<'a>>,
    report: String,
    html: Option<String>,
    junit: Option<String>,
    exit_code: u8,
    why: &'a str,
    started_at: &'a str,
    ended_at: &'a str,
    duration_ms: u64,
    /// The run's events, in order; empty when nothing happened to the run as a whole.
    events: &'a [RunEvent],
    /// `audit --security-hub`: the findings sent, delivered, and why the others were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    security_hub: Option<Delivery<'a>>,
    /// `--org`: the walk of the organization (its calls, retries, and how far it got).
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<&'a OrgWalk>,
    /// The node check's totals, where it counted any target's nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    nodes: Option<&'a NodeTotals>,
}

#[derive(Serialize)]
struct Delivery<'a> {
    sent: usize,
    delivered: usize,
    not_delivered: Vec<ErrorCount<'a>>,
}

#[derive(Serialize)]
struct Input<'a> {
    path: &'a str,
    sha256: &'a str,
}

#[derive(Serialize)]
struct ErrorCount<'a> {
    code: String,
    count: usize,
    first_message: &'a str,
}

/// Counts per status, in the summary's order, only the statuses some target has.
fn counts(
    by_status: &std::collections::BTreeMap<crate::model::Status, usize>,
) -> Map<String, Value> {
    by_status
        .iter()
        .map(|(st, n)| (st.as_str().to_string(), Value::from(*n)))
        .collect()
}

/// The object, pretty-printed, with a final newline.
pub(crate) fn render(run: &Facts) -> String {
    let meta = run.meta;
    let input = Input {
        path: &meta.input_path,
        sha256: &meta.input_sha256,
    };
    let (preferences, from) = if meta.command.reads_a_report() {
        (None, Some(input))
    } else {
        (Some(input), None)
    };
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool_version: &meta.tool_version,
        command: meta.command.as_str(),
        document: &meta.document_name,
        preferences,
        from,
        total_targets: run.stats.total,
        not_done: run.stats.not_done(),
        failed: run.stats.failed(),
        not_compliant: run.stats.not_compliant(),
        blocked: run.stats.blocked(),
        counts: counts(&run.stats.by_status),
        regions: run
            .stats
            .by_region
            .iter()
            .map(|(region, by_status)| (region.clone(), Value::Object(counts(by_status))))
            .collect(),
        errors: run
            .stats
            .ranked_errors()
            .into_iter()
            .map(|(code, count, first_message)| ErrorCount {
                code: code.to_string(),
                count,
                first_message,
            })
            .collect(),
        report: run.report.display().to_string(),
        html: run.html.map(|p| p.display().to_string()),
        junit: run.junit.map(|p| p.display().to_string()),
        exit_code: run.exit_code,
        why: run.why,
        started_at: &meta.started_at,
        ended_at: &meta.ended_at,
        duration_ms: run.elapsed.as_millis() as u64,
        events: run.events,
        security_hub: (run.stats.findings_sent > 0).then(|| Delivery {
            sent: run.stats.findings_sent,
            delivered: run.stats.findings_delivered,
            not_delivered: run
                .stats
                .undelivered
                .iter()
                .map(|(code, (count, first_message))| ErrorCount {
                    code: code.clone(),
                    count: *count,
                    first_message,
                })
                .collect(),
        }),
        organization: run.stats.walk.as_ref(),
        nodes: (run.stats.nodes.targets_checked > 0).then_some(&run.stats.nodes),
    };
    let mut text = serde_json::to_string_pretty(&summary).expect("plain data serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Command, Reason, ReportRow, Status, TargetError};

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
        let text = render(&Facts {
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
